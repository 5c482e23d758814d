//! Who owns each actor, and in which tenant, as this process has seen: neither ever changes,
//! so once read they decide a send by the owner (or an admin, or another tenant's caller)
//! before anything is written, at no extra store round trip.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Most actors remembered; past this the memory starts over.
const CAPACITY: usize = 100_000;

/// Tenant and owner by actor id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owners(Arc<Mutex<HashMap<String, (String, String)>>>);

impl Owners {
    /// The tenant and owner of `actor_id`, if seen.
    pub(crate) fn get(&self, actor_id: &str) -> Option<(String, String)> {
        self.lock().get(actor_id).cloned()
    }

    /// Remembers the tenant and owner of `actor_id`.
    pub(crate) fn saw(&self, actor_id: &str, tenant: &str, owner: &str) {
        let mut seen = self.lock();
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(actor_id.to_owned(), (tenant.to_owned(), owner.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        // A poisoned map only means a panic mid-insert; the map is still valid.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
