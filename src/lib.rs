//! The shared contract of abaco: the generated gRPC code, the records every component reads
//! and writes, one error type for both protocols, and the traits behind which the store and
//! mailbox backends sit. Components live in `services/*` and `gateway/`; they meet here.

pub mod error;
pub mod execution_index;
pub mod fleet;
pub mod grpc_server;
pub mod identity;
pub mod ids;
pub mod limits;
pub mod mailbox;
pub mod metrics;
pub mod names;
pub mod paging;
pub mod pb;
pub mod records;
pub mod secret;
pub mod settings;
pub mod status;
pub mod store;
pub mod time;
pub mod trace_context;

pub use error::{AbacoError, Result};
