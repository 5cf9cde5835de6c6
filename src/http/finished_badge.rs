//! Finished badge responses, kept so that a repeated request is answered by cloning a few
//! reference counts (docs/performance.md, "Finished responses").
//!
//! A badge response is a function of what the cache already holds (a status, or nothing for a
//! static badge), the request's options and the time. For the requests most clients send (no
//! query string), the first answer is kept: a project's with the status entry it was made from,
//! so that it goes exactly when that entry does; a static badge's by its path, since it never
//! changes.

use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderValue;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use moka::sync::Cache;

use crate::badge::render_cache::RENDERED_ENTRY_OVERHEAD;
use crate::badge::store::{KeptSlot, ProjectStore};
use crate::domain::{GuardedStatus, ScopeSelection};

/// What a badge response carries besides the headers every badge response has.
#[derive(Debug)]
pub struct FinishedBadge {
    pub body: Bytes,
    pub content_type: HeaderValue,
    pub etag: HeaderValue,
    pub cache_control: HeaderValue,
    /// `Last-Modified`: the time (compared with `If-Modified-Since`) and the header.
    pub last_modified: Option<(DateTime<Utc>, HeaderValue)>,
    /// A status badge turns grey when its report grows stale: the response is what the status
    /// shows until then. `None`: until the status itself changes.
    pub valid_until: Option<Instant>,
    /// A private project's badge, read with its key (`Referrer-Policy: no-referrer`); never kept.
    pub private: bool,
}

impl FinishedBadge {
    pub fn is_valid_at(&self, now: Instant) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }
}

/// Where a cached status keeps the finished response of its default badge.
pub type FinishedSlot = KeptSlot<FinishedBadge>;

/// The project store, keeping finished default badges with fresh statuses.
pub type Store = ProjectStore<FinishedBadge>;

/// A finished response kept with a status or a static badge's path: the struct, the slot's
/// `Arc` and `OnceLock`, and the allocations of the header values it owns (estimated, not
/// measured: the RSS test's noise is larger than this).
pub const FINISHED_BADGE_BYTES: usize = std::mem::size_of::<FinishedBadge>() + 64 + 3 * 48;

/// The finished default badge kept with a fresh status, if it is still what the status shows and
/// `may_read` the status (a private project's answer is kept for readers with one of its keys).
pub fn kept_badge(
    store: &Store,
    slug_key: &str,
    scope: ScopeSelection,
    now: Instant,
    may_read: impl FnOnce(Option<&GuardedStatus>) -> bool,
) -> Option<Arc<FinishedBadge>> {
    store
        .kept(slug_key, scope, may_read)
        .filter(|badge| badge.is_valid_at(now))
}

/// Static badges' finished responses, by the request's path (no query string): a static badge
/// never changes. Bounded by bytes.
pub struct StaticAnswers {
    answers: Cache<Arc<str>, Arc<FinishedBadge>>,
}

impl StaticAnswers {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            answers: Cache::builder()
                .max_capacity(max_bytes.max(1))
                .weigher(|path: &Arc<str>, badge: &Arc<FinishedBadge>| {
                    // The body is shared with the rendered entry, but outlives it here.
                    let bytes = path.len()
                        + badge.body.len()
                        + RENDERED_ENTRY_OVERHEAD
                        + FINISHED_BADGE_BYTES;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    pub fn get(&self, path: &str) -> Option<Arc<FinishedBadge>> {
        self.answers.get(path)
    }

    pub fn keep(&self, path: &str, badge: Arc<FinishedBadge>) {
        self.answers.insert(Arc::from(path), badge);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::badge::Lookup;
    use crate::badge::store::tests::status;
    use crate::domain::{Access, GuardedStatus};

    fn finished(body_bytes: usize, valid_until: Option<Instant>) -> Arc<FinishedBadge> {
        use axum::http::HeaderValue;
        Arc::new(FinishedBadge {
            body: bytes::Bytes::from(vec![b'x'; body_bytes]),
            content_type: HeaderValue::from_static("image/svg+xml;charset=utf-8"),
            etag: HeaderValue::from_static("\"0123\""),
            cache_control: HeaderValue::from_static("max-age=300, s-maxage=300"),
            last_modified: None,
            valid_until,
            private: false,
        })
    }

    #[test]
    fn static_badges_finished_answers_stay_within_their_budget() {
        let cache = StaticAnswers::new(128 * 1024 / 6);
        for i in 0..2_000 {
            cache.keep(&format!("/badge/a-{i}-red.svg"), finished(1_000, None));
        }
        cache.answers.run_pending_tasks();
        let kept: usize = cache
            .answers
            .iter()
            .map(|(path, badge)| path.len() + badge.body.len())
            .sum();
        within(cache.answers.weighted_size(), kept, 5 * 1024);
    }

    /// A cache of 128 KiB / 6 holds more than `at_least` bytes and weighs, and holds, at most its
    /// budget.
    fn within(weighed: u64, kept: usize, at_least: usize) {
        assert!(kept > at_least, "the cache is used: {kept} bytes");
        assert!(
            weighed <= 128 * 1024 / 6 && kept <= 128 * 1024 / 6,
            "weighed {weighed}, kept {kept} bytes"
        );
    }

    #[test]
    fn a_kept_badge_is_served_only_while_its_status_is_fresh_and_it_is_valid() {
        let cache = ProjectStore::new(1 << 20, Duration::from_secs(3600), FINISHED_BADGE_BYTES);
        let (key, scope) = ("a.io/b", ScopeSelection::Runtime);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        cache.store_status(key, scope, status(), cache.ticket());
        assert!(
            kept_badge(&cache, key, scope, now, anyone).is_none(),
            "nothing kept yet"
        );

        let keep = |valid_until| {
            let (lookup, slot) = cache.status_and_slot(key, scope);
            assert_eq!(lookup, Lookup::Fresh(status()));
            slot.unwrap().keep(finished(10, valid_until));
        };
        keep(Some(later));
        assert!(kept_badge(&cache, key, scope, now, anyone).is_some());
        assert!(kept_badge(&cache, key, ScopeSelection::Dev, now, anyone).is_none());
        assert!(
            kept_badge(&cache, key, scope, later, anyone).is_none(),
            "not once the report it shows has turned stale"
        );

        // A new report: the entry turns stale and its kept badge goes with it.
        cache.invalidate(key);
        assert!(kept_badge(&cache, key, scope, now, anyone).is_none());
        let (lookup, slot) = cache.status_and_slot(key, scope);
        assert_eq!((lookup, slot.is_none()), (Lookup::Stale(status()), true));

        // Read again: a new entry, a new slot.
        cache.store_status(key, scope, status(), cache.ticket());
        assert!(kept_badge(&cache, key, scope, now, anyone).is_none());
        keep(None);
        assert!(kept_badge(&cache, key, scope, later, anyone).is_some());

        // Notifications may have been missed: nothing kept is served.
        cache.flush();
        assert!(kept_badge(&cache, key, scope, now, anyone).is_none());
    }

    /// Whoever may read anything.
    fn anyone(_: Option<&GuardedStatus>) -> bool {
        true
    }

    /// What is kept with a private project's status goes only to whom `may_read` lets read it.
    #[test]
    fn a_private_status_keeps_its_answer_for_whom_may_read_it() {
        let cache = ProjectStore::new(1 << 20, Duration::from_secs(3600), FINISHED_BADGE_BYTES);
        let (key, scope) = ("a.io/private", ScopeSelection::Runtime);
        let mut private = status();
        if let Some(status) = &mut private {
            status.access = Access::Private(Arc::default());
        }
        cache.store_status(key, scope, private, cache.ticket());
        let (_, slot) = cache.status_and_slot(key, scope);
        slot.unwrap().keep(finished(10, None));
        let public_only =
            |status: Option<&GuardedStatus>| status.is_none_or(|s| s.access == Access::Public);
        assert!(kept_badge(&cache, key, scope, Instant::now(), public_only).is_none());
        assert!(kept_badge(&cache, key, scope, Instant::now(), anyone).is_some());
    }
}
