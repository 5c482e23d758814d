//! The rate of limited users: at most so many requests a minute per user, counted in this
//! process (a platform of several gateways or services allows that many per process).

use std::{num::NonZeroU32, sync::Arc};

use abaco::{AbacoError, settings::Settings};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Past this many users counted, those back at a full quota are forgotten.
const FORGET_AFTER: usize = 10_000;

/// Counts the requests of limited users.
#[derive(Debug, Clone)]
pub struct Throttle(Arc<DefaultKeyedRateLimiter<(String, String)>>);

impl Throttle {
    /// A throttle at the settings' `limited_requests_per_minute`; `None` when that is 0,
    /// which would lock limited users out.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let rate = NonZeroU32::new(settings.limited_requests_per_minute)?;
        Some(Self(Arc::new(DefaultKeyedRateLimiter::keyed(
            Quota::per_minute(rate),
        ))))
    }

    /// Counts one request of `user` of `tenant`; 429 past the rate.
    pub fn check(&self, tenant: &str, user: &str) -> Result<(), AbacoError> {
        let key = (tenant.to_owned(), user.to_owned());
        self.0.check_key(&key).map_err(|_| {
            AbacoError::TooMuch(
                "too many requests: limited users may make a limited number per minute".into(),
            )
        })?;
        if self.0.len() > FORGET_AFTER {
            self.0.retain_recent();
        }
        Ok(())
    }
}
