//! The spawner: starts and stops workers on its host.
