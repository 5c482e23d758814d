//! The worker: takes messages from an actor's mailbox and runs one container per message.
//!
//! - [`container`]: runs one container on Docker and collects what it produced.
//! - [`run_loop`]: the worker proper, from mailbox delivery to recorded execution to ack.
//! - [`control`]: the gRPC `WorkerControl` service (status, force-quit, stop).
//! - [`WorkerHandle`]: what the control service and the process hold of a running worker.

pub mod container;
pub mod control;
mod handle;
pub mod host;
pub mod run_loop;

pub use control::{WorkerControlService, control_service};
pub use handle::WorkerHandle;
pub use host::{HostSettings, WorkerHost};
pub use run_loop::{
    MountError, Persist, TenantMounts, WorkerContext, WorkerError, WorkerSettings, run_worker,
};
