//! Health checks: find dead workers and spawners and repair what they left behind.
