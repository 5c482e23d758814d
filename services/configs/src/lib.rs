//! Actor configs: named values an owner gives to the runs of chosen actors, as one JSON object
//! in the run's `_actor_configs` variable. A secret value is sealed at rest with a key from the
//! settings and never shown back.
//!
//! The registration service writes configs (and keeps the index of each actor's configs);
//! workers read them for each run. This crate is what both need.

mod index;
mod key;
mod names;
mod run;

pub use index::reindex;
pub use key::{ConfigKey, SealError};
pub use names::{MASK, MAX_VALUE_BYTES, check_name, record_key};
pub use run::configs_of;
