//! Status names as the REST API shows them (abaco's spelling, e.g. "SPAWNER SETUP").

use crate::pb::{ActorStatus, ExecutionStatus, WorkerStatus};

/// The API name of an actor status.
pub fn actor(status: ActorStatus) -> &'static str {
    match status {
        ActorStatus::Unspecified | ActorStatus::Submitted => "SUBMITTED",
        ActorStatus::Ready => "READY",
        ActorStatus::Error => "ERROR",
        ActorStatus::ShuttingDown => "SHUTTING_DOWN",
    }
}

/// The API name of an execution status.
pub fn execution(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Unspecified | ExecutionStatus::Submitted => "SUBMITTED",
        ExecutionStatus::Running => "RUNNING",
        ExecutionStatus::Complete => "COMPLETE",
        ExecutionStatus::Error => "ERROR",
    }
}

/// The API name of a worker status.
pub fn worker(status: WorkerStatus) -> &'static str {
    match status {
        WorkerStatus::Unspecified | WorkerStatus::Requested => "REQUESTED",
        WorkerStatus::SpawnerSetup => "SPAWNER SETUP",
        WorkerStatus::PullingImage => "PULLING IMAGE",
        WorkerStatus::CreatingContainer => "CREATING CONTAINER",
        WorkerStatus::Ready => "READY",
        WorkerStatus::Busy => "BUSY",
        WorkerStatus::ShutdownRequested => "SHUTDOWN_REQUESTED",
        WorkerStatus::ShuttingDown => "SHUTTING_DOWN",
        WorkerStatus::Error => "ERROR",
    }
}

/// Whether a worker in this status counts toward its actor's workers (it is not on its way
/// out, nor failed).
pub fn worker_counts(status: WorkerStatus) -> bool {
    !matches!(
        status,
        WorkerStatus::ShutdownRequested | WorkerStatus::ShuttingDown | WorkerStatus::Error
    )
}

/// Whether an execution in this status will not change any more.
pub fn execution_is_final(status: ExecutionStatus) -> bool {
    matches!(status, ExecutionStatus::Complete | ExecutionStatus::Error)
}
