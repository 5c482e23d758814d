//! The worker: takes messages from an actor's mailbox and runs one container per message.
