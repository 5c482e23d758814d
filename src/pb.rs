//! Code generated from `proto/abaco.proto`, and the descriptor set that server reflection serves.

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

tonic::include_proto!("abaco.v1");

/// Encoded `FileDescriptorSet` of the abaco.v1 package, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("abaco_descriptor");
