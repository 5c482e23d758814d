//! The registration service: actors, executions, logs and state over gRPC.
