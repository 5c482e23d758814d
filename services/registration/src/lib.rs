//! The registration service: actors (create, get, list, update, delete), their executions,
//! logs and state, over gRPC; and beside it the access service (permissions, aliases,
//! nonces), which shares an actor with others, and the configs service (actor configs). It owns the actor record's life; the fleet runs
//! the workers.

mod access;
mod actors;
mod configs;
mod cron_fields;
mod executions;
mod follow;
mod image_ref;
pub mod rules;
mod search;
mod service;
pub mod spec;

pub use access::AccessService;
pub use configs::ConfigsService;
pub use service::RegistrationService;
pub use spec::Limits;
