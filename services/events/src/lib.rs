//! Events: what happened to an actor or one of its executions, told to whoever the actor
//! names: its `link` (another actor, which gets the event as a message) and its `webhook`
//! (an HTTP endpoint, which gets it as a JSON POST).
//!
//! Emitting and delivering are apart, joined by a durable outbox mailbox: the component where
//! something happens (a worker, the spawner fleet, health checks) publishes the event and goes
//! on; a [`Deliverer`] (inside `abaco up`, or `abaco health`) takes it from the outbox,
//! delivers it, and acks it only then. An event is therefore delivered at least once whatever
//! process dies, and a slow or failing receiver never holds up a run. Repeats carry the same
//! event id (`X-Abaco-Event-Id`), and a link gets one execution per event however often the
//! event is delivered.

mod address;
mod deliverer;
mod emitter;
mod event;
mod link;
mod webhook;

pub use deliverer::{Deliverer, DeliverySettings, SetupError};
pub use emitter::{EmitError, Emitter};
pub use event::{Envelope, EventType, OUTBOX};
pub use link::EXECUTOR;
pub use webhook::{EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, sign};
