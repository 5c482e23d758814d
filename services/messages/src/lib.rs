//! The messages service: accepts messages into actor mailboxes and serves results.
