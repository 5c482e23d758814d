//! Mailbox backends: embedded durable queues (redb) and RabbitMQ (lapin).
