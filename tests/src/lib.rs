//! A harness that starts the real `abaco` binary, embedded (`abaco up`) or distributed (one
//! process per component against Redis and RabbitMQ), on free loopback ports, and talks to it
//! over REST. Every scenario in `tests/tests/` runs once per backend.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod api;
pub mod cast;
pub mod compose;
pub mod fault_kit;
pub mod otlp;
mod platform;
mod private_services;
pub mod receiver;
pub mod registry;
pub mod steps;

pub use api::{Answer, Api};
pub use platform::{
    BackendKind, JWT_SECRET, Platform, amqp_url, binary, free_addr, free_addrs, kill_9,
    lone_registration, redis_url, token_with,
};
pub use private_services::{PrivateRabbit, PrivateRedis};

/// Defines one `#[tokio::test]` per backend for an `async fn(Platform)` scenario; with
/// `start = f;` first, each platform is started by `f(BackendKind)` (a function in scope
/// where the macro is used) instead of
/// [`Platform::start`].
#[macro_export]
macro_rules! on_both_backends {
    (start = $start:ident; $($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let platform = super::$start($crate::BackendKind::Embedded).await;
                    super::$scenario(platform).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let platform = super::$start($crate::BackendKind::Distributed).await;
                    super::$scenario(platform).await;
                }
            )*
        }
    };
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let platform = $crate::Platform::start($crate::BackendKind::Embedded).await;
                    super::$scenario(platform).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let platform = $crate::Platform::start($crate::BackendKind::Distributed).await;
                    super::$scenario(platform).await;
                }
            )*
        }
    };
}
