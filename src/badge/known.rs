//! Which projects have a report, in memory: a Bloom filter of slug keys, so that a badge (or a
//! page, or a JSON read) for a slug nobody reported is answered without a database read. Anyone
//! can ask for any slug, so unknown slugs are the cheapest requests to send in bulk.
//!
//! A "no" is certain only while the filter is complete: it is built from the database once this
//! replica listens for report notifications (so that every later write is heard and added), kept
//! up to date by those notifications and by this replica's own writes, rebuilt periodically
//! (deleted slugs leave false positives, which cost one read each), and dropped whenever the
//! notification connection is lost. Without a filter, every slug "may exist".
//!
//! Even a complete filter's "no" may be a moment old: another replica's write is heard when its
//! NOTIFY arrives, a little after it commits. So an answer resting on the filter's "no" alone is
//! never cacheable by clients (the HTTP layer's concern).

use std::sync::RwLock;

use bloomfilter::Bloom;

/// The false-positive rate the filter is sized for.
const FALSE_POSITIVE_RATE: f64 = 0.001;
/// Room for this many projects at least, and for twice the current number: writes between
/// rebuilds must not push the false-positive rate up.
const MIN_CAPACITY: usize = 100_000;

/// Writes heard while a rebuild reads the database are kept for the new filter, up to this many;
/// past it the rebuild is abandoned (the old filter stays).
const MAX_HEARD_DURING_REBUILD: usize = 100_000;

#[derive(Debug, Default)]
pub struct KnownSlugs {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    bloom: Option<Bloom<str>>,
    /// `Some` while a rebuild runs: the slugs written meanwhile, which its snapshot may miss.
    heard_during_rebuild: Option<Vec<String>>,
    /// Bumped by every rebuild start and every [`KnownSlugs::forget`]: only the latest rebuild,
    /// started after the latest forget, may install its filter.
    generation: u64,
    /// Every write is heard from now on (set once LISTEN succeeded, unset by `forget`): only
    /// then may a rebuild start, or writes between its read and its install would be missed.
    listening: bool,
}

/// Names one rebuild, from [`KnownSlugs::start_rebuild`] to [`KnownSlugs::finish_rebuild`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuild(u64);

/// A filter being filled for one rebuild, slug by slug as they are read (so that no list of
/// every slug is ever held: at a million projects that list would be most of the memory).
pub struct NewFilter {
    bloom: Bloom<str>,
    rebuild: Rebuild,
}

impl NewFilter {
    /// Sized for twice `expected` slugs (and [`MIN_CAPACITY`] at least).
    pub fn new(rebuild: Rebuild, expected: usize) -> Option<Self> {
        let capacity = expected.saturating_mul(2).max(MIN_CAPACITY);
        let bloom = Bloom::new_for_fp_rate(capacity, FALSE_POSITIVE_RATE).ok()?;
        Some(Self { bloom, rebuild })
    }

    pub fn add(&mut self, slug_key: &str) {
        self.bloom.set(slug_key);
    }
}

impl KnownSlugs {
    /// `false` only when no report exists for `slug_key` (as far as notifications have told).
    pub fn may_exist(&self, slug_key: &str) -> bool {
        match self.state.read() {
            Ok(state) => state
                .bloom
                .as_ref()
                .is_none_or(|bloom| bloom.check(slug_key)),
            Err(_) => true,
        }
    }

    /// A report for `slug_key` was written (here, or on another replica).
    pub fn insert(&self, slug_key: &str) {
        let Ok(mut state) = self.state.write() else {
            return;
        };
        if let Some(bloom) = state.bloom.as_mut() {
            bloom.set(slug_key);
        }
        if let Some(heard) = state.heard_during_rebuild.as_mut() {
            if heard.len() < MAX_HEARD_DURING_REBUILD {
                heard.push(slug_key.to_owned());
            } else {
                state.heard_during_rebuild = None;
            }
        }
    }

    /// Report notifications are heard from now on: a rebuild may start.
    pub fn listening(&self) {
        if let Ok(mut state) = self.state.write() {
            state.listening = true;
        }
    }

    /// Call before reading every slug key from the database for [`Self::finish_rebuild`];
    /// `None` while writes may go unheard (not listening).
    pub fn start_rebuild(&self) -> Option<Rebuild> {
        let mut state = self.state.write().ok()?;
        if !state.listening {
            return None;
        }
        state.generation += 1;
        state.heard_during_rebuild = Some(Vec::new());
        Some(Rebuild(state.generation))
    }

    pub fn is_listening(&self) -> bool {
        self.state.read().is_ok_and(|state| state.listening)
    }

    /// Replaces the filter with one holding `slug_keys` (read after [`Self::start_rebuild`]) and
    /// every slug written since; `false` when it may not: forgotten or superseded meanwhile, or
    /// too many writes to keep.
    pub fn finish_rebuild<'a>(
        &self,
        rebuild: Rebuild,
        slug_keys: impl ExactSizeIterator<Item = &'a str>,
    ) -> bool {
        let Some(mut filter) = NewFilter::new(rebuild, slug_keys.len()) else {
            return false;
        };
        for key in slug_keys {
            filter.add(key);
        }
        self.install(filter)
    }

    /// Replaces the filter with `filter` and every slug written since its rebuild started;
    /// `false` when it may not (see [`Self::finish_rebuild`]).
    pub fn install(&self, filter: NewFilter) -> bool {
        let NewFilter { mut bloom, rebuild } = filter;
        let Ok(mut state) = self.state.write() else {
            return false;
        };
        if state.generation != rebuild.0 {
            return false;
        }
        let Some(heard) = state.heard_during_rebuild.take() else {
            return false;
        };
        for key in &heard {
            bloom.set(key);
        }
        state.bloom = Some(bloom);
        true
    }

    /// Writes may go unheard from now on: every slug may exist until the next rebuild.
    pub fn forget(&self) {
        if let Ok(mut state) = self.state.write() {
            // Clearing what was heard already stops a rebuild in progress from installing; the
            // new generation says so too, whatever a later change does with that list.
            state.bloom = None;
            state.heard_during_rebuild = None;
            state.generation += 1;
            state.listening = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_filter_every_slug_may_exist() {
        let known = KnownSlugs::default();
        assert!(known.may_exist("github.com/a/b"));
        known.insert("github.com/a/b");
        assert!(known.may_exist("github.com/never/reported"));
    }

    #[test]
    fn a_built_filter_knows_its_slugs_and_later_writes_and_refuses_the_rest() {
        let known = KnownSlugs::default();
        let keys: Vec<String> = (0..10_000).map(|i| format!("github.com/o/p{i}")).collect();
        known.listening();
        let rebuild = known.start_rebuild().unwrap();
        assert!(known.finish_rebuild(rebuild, keys.iter().map(String::as_str)));
        assert!(
            keys.iter().all(|key| known.may_exist(key)),
            "no false negative"
        );
        let strangers = (0..100_000)
            .filter(|i| known.may_exist(&format!("gitlab.com/x/q{i}")))
            .count();
        // Sized for 0.1 %: 100 expected; a tenfold margin keeps the test certain.
        assert!(strangers < 1_000, "{strangers} false positives in 100,000");

        known.insert("gitlab.com/x/new");
        assert!(known.may_exist("gitlab.com/x/new"));
        known.forget();
        assert!(
            known.may_exist("gitlab.com/x/q1"),
            "no filter: every slug may exist"
        );
    }

    #[test]
    fn a_write_heard_while_rebuilding_is_in_the_new_filter() {
        let known = KnownSlugs::default();
        known.listening();
        let rebuild = known.start_rebuild().unwrap();
        // Committed after the rebuild's snapshot: not in the keys it read.
        known.insert("github.com/late/write");
        assert!(known.finish_rebuild(rebuild, ["github.com/early/write"].into_iter()));
        assert!(known.may_exist("github.com/late/write"));
        assert!(known.may_exist("github.com/early/write"));
        assert!(!known.may_exist("github.com/never/written"));
    }

    /// Up to `MAX_HEARD_DURING_REBUILD` writes heard during a rebuild are kept for its filter;
    /// one more, and the rebuild is abandoned (the memory it would hold is bounded).
    #[test]
    fn a_rebuild_keeps_writes_heard_up_to_the_bound_and_is_abandoned_past_it() {
        for (heard, installed) in [
            (MAX_HEARD_DURING_REBUILD, true),
            (MAX_HEARD_DURING_REBUILD + 1, false),
        ] {
            let known = KnownSlugs::default();
            known.listening();
            let rebuild = known.start_rebuild().unwrap();
            for i in 0..heard {
                known.insert(&format!("github.com/heard/p{i}"));
            }
            assert_eq!(
                known.finish_rebuild(rebuild, std::iter::empty()),
                installed,
                "{heard} writes heard"
            );
            assert_eq!(!known.may_exist("github.com/never/written"), installed);
        }
    }

    #[test]
    fn a_rebuild_interrupted_by_a_lost_connection_leaves_no_filter() {
        let known = KnownSlugs::default();
        known.listening();
        let rebuild = known.start_rebuild().unwrap();
        known.forget();
        assert!(!known.finish_rebuild(rebuild, ["github.com/a/b"].into_iter()));
        assert!(known.may_exist("github.com/anything/else"));
        assert!(
            known.start_rebuild().is_none(),
            "no rebuild until listening again"
        );
        known.listening();
        assert!(known.start_rebuild().is_some());
    }

    #[test]
    fn a_rebuild_started_after_another_supersedes_it() {
        let known = KnownSlugs::default();
        known.listening();
        let older = known.start_rebuild().unwrap();
        let newer = known.start_rebuild().unwrap();
        assert!(!known.finish_rebuild(older, ["github.com/older/read"].into_iter()));
        assert!(known.finish_rebuild(newer, ["github.com/newer/read"].into_iter()));
        assert!(!known.may_exist("github.com/older/read"));
    }

    #[test]
    fn no_rebuild_starts_before_listening() {
        let known = KnownSlugs::default();
        assert!(!known.is_listening());
        assert!(known.start_rebuild().is_none());
        known.listening();
        assert!(known.is_listening());
        known.forget();
        assert!(!known.is_listening());
    }

    #[test]
    fn only_the_latest_rebuild_installs_its_filter() {
        let known = KnownSlugs::default();
        known.listening();
        let older = known.start_rebuild().unwrap();
        known.forget();
        known.listening();
        let newer = known.start_rebuild().unwrap();
        assert!(!known.finish_rebuild(older, ["github.com/stale/snapshot"].into_iter()));
        assert!(known.finish_rebuild(newer, ["github.com/a/b"].into_iter()));
        assert!(!known.may_exist("github.com/stale/snapshot"));
        assert!(known.may_exist("github.com/a/b"));
    }
}
