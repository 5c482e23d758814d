//! Spawners and the fleet.
//!
//! A **spawner** runs on each Docker host: it registers itself in the store (address, capacity,
//! heartbeat) and starts workers when asked over gRPC (`abaco.v1.Spawner`), as processes of
//! their own (`abaco-worker ...`, or `abaco worker ...`) or, inside `abaco up`, as tasks of
//! the one process.
//! The **fleet** ([`SpawnerFleet`]) is what registration, messages and admin use to get
//! workers: it picks a live spawner with room and asks it.

mod channels;
mod fleet;
mod launcher;
pub mod metrics_relay;
mod registry;
mod service;

pub use fleet::{FleetTimings, SpawnerFleet};
pub use launcher::{Launcher, ProcessLauncher, TaskLauncher, WorkerProgram};
pub use registry::{Registration, live_spawners};
pub use service::SpawnerService;
