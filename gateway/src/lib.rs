//! The REST gateway: abaco's JSON API in front of the gRPC services.
