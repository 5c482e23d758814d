//! The admin service: workers and platform-wide figures.
