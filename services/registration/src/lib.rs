//! The registration service: actors (create, get, list, update, delete), their executions,
//! logs and state, over gRPC; and the access service beside it (permissions, aliases,
//! nonces), which shares an actor with others. It owns the actor record's life; the fleet runs
//! the workers.

mod access;
mod actors;
mod cron_fields;
mod executions;
mod image_ref;
pub mod rules;
mod service;
pub mod spec;

pub use access::AccessService;
pub use service::RegistrationService;
pub use spec::Limits;
