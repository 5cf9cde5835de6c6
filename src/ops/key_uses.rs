//! When read keys were last used: noted in memory by each read that used one, written to the
//! database in one statement every few seconds, so that a private badge read costs no write.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use crate::db;

/// How often the keys used since the last write are written: `last_used_at` is this late at most.
pub const KEY_USES_FLUSH: Duration = Duration::from_secs(10);

/// The ids of the keys used since the last write.
#[derive(Debug, Default)]
pub struct KeyUses {
    pending: Mutex<HashSet<Arc<str>>>,
}

impl KeyUses {
    pub fn note(&self, id: &Arc<str>) {
        // Poisoned only by a panic while inserting, which loses nothing worth stopping for.
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !pending.contains(id) {
            pending.insert(id.clone());
        }
    }

    fn take(&self) -> Vec<Arc<str>> {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.drain().collect()
    }

    /// Writes the uses noted, every `interval`, for as long as the process serves.
    pub async fn write_every(self: Arc<Self>, pool: db::Db, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let used = self.take();
            if used.is_empty() {
                continue;
            }
            if let Err(error) = db::access::mark_used(&pool, &used, Utc::now()).await {
                // Kept for the next tick: a use is worth recording once the database answers.
                tracing::warn!(%error, keys = used.len(), "could not record read keys' last use");
                for id in &used {
                    self.note(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_used_key_is_written_once_per_round() {
        let uses = KeyUses::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        uses.note(&a);
        uses.note(&b);
        uses.note(&a);
        let mut taken = uses.take();
        taken.sort();
        assert_eq!(taken, [a.clone(), b]);
        assert!(uses.take().is_empty(), "a round starts empty");
        uses.note(&a);
        assert_eq!(uses.take(), [a]);
    }
}
