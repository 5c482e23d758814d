//! Cron: an actor with a `cronSchedule` is sent a message at each tick of it.
//!
//! [`schedule`] reads abaco's schedules and does their calendar arithmetic (chrono's, in UTC,
//! to the hour); [`Scheduler`] (inside `abaco up`, or each `abaco health`) looks every
//! `cron_check_secs` for actors whose next tick has come, sends each its message and moves
//! the tick on. A tick's message has an execution id derived from the actor and the tick, so
//! however many schedulers run, and whatever dies between sending and moving on, each tick is
//! sent once.

pub mod schedule;
mod scheduler;

pub use schedule::{Due, Schedule, ScheduleError};
pub use scheduler::{CRON_EXECUTOR, CRON_MESSAGE, Scheduler};
