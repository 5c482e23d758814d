//! The registration service: actors (create, get, list, update, delete), their executions,
//! logs and state, over gRPC. It owns the actor record's life; the fleet runs the workers.

mod image_ref;
mod service;
pub mod spec;

pub use service::RegistrationService;
pub use spec::Limits;
