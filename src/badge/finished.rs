//! Finished badge responses, kept so that a repeated request is answered by cloning a few
//! reference counts (docs/performance.md, "Finished responses").
//!
//! A badge response is a function of what the cache already holds (a status, or nothing for a
//! static badge), the request's options and the time. For the requests most clients send (no
//! query string), the first answer is kept: a project's with the status entry it was made from,
//! so that it goes exactly when that entry does; a static badge's by its path, since it never
//! changes.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::http::HeaderValue;
use bytes::Bytes;
use chrono::{DateTime, Utc};

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
}

impl FinishedBadge {
    pub fn is_valid_at(&self, now: Instant) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }
}

/// Where a cached status keeps the finished response of its default badge. Shared by the clones
/// of one cache entry; a new entry (a new read, an invalidation) starts empty.
#[derive(Debug, Clone, Default)]
pub struct FinishedSlot(Arc<OnceLock<Arc<FinishedBadge>>>);

impl FinishedSlot {
    /// Keeps `badge` unless the slot already holds one: the first answer made from an entry is
    /// the one every later request gets, until it is no longer valid.
    pub fn keep(&self, badge: Arc<FinishedBadge>) {
        let _ = self.0.set(badge);
    }

    pub fn valid_at(&self, now: Instant) -> Option<&Arc<FinishedBadge>> {
        self.0.get().filter(|badge| badge.is_valid_at(now))
    }
}
