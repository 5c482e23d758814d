//! Integration tests: the real abaco binary against real Redis, RabbitMQ and Docker.
