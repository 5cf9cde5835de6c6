//! The project-status store: what reads of a project need, cached in-process
//! (docs/contract.md §3.3).
//!
//! Two parts, each bounded by bytes (half the store's budget each):
//! - statuses, by (slug, scope): the one database row a badge needs, each with a slot for an
//!   answer made from it (the HTTP layer keeps its finished badge there);
//! - documents, by (slug, scope): a project's whole report, for the JSON API and the page.
//!
//! Both are fresh for the TTL from when they were read (never extended by reads), dropped exactly
//! when a NOTIFY names the slug, and all made stale when the notification connection comes back
//! (writes may have been missed meanwhile). A stale entry is not served while the database
//! answers; a stale status is the last known badge when it does not (stale-if-error). Concurrent
//! misses of one key share one read. The filter of known slugs ([`KnownSlugs`]) lives here too:
//! an invalidation names a slug that exists.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::sync::Cache;

use super::known::KnownSlugs;
use crate::domain::{Access, GuardedStatus, ScopeSelection, StoredProject};

#[derive(Debug, Clone)]
struct Entry<V, F = ()> {
    /// For statuses and documents, `None` means the database has no report for the project
    /// (cached too, so that each read of a deleted project does not cost a query).
    value: V,
    /// `None` for an entry that was stale when stored (an invalidation raced with its read).
    fresh_until: Option<Instant>,
    epoch: u64,
    /// For a status: what was made from this entry's value and kept with it (see [`KeptSlot`]).
    kept: F,
}

/// What the cache holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<V> {
    Fresh(V),
    /// Past its TTL or flushed: re-read it, but it is the last known value if that fails.
    Stale(V),
    Missing,
}

impl<V> Lookup<V> {
    pub fn map<W>(self, f: impl FnOnce(V) -> W) -> Lookup<W> {
        match self {
            Self::Fresh(value) => Lookup::Fresh(f(value)),
            Self::Stale(value) => Lookup::Stale(f(value)),
            Self::Missing => Lookup::Missing,
        }
    }
}

/// A project's report as the JSON API and the page show it; `None`: no report.
pub type Document = Option<Arc<StoredProject>>;

/// Taken before a database read and given back with its result, so that a NOTIFY that arrives
/// between the two cannot leave the older value cached as fresh.
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(u64);

type SlugScope = (Arc<str>, ScopeSelection);

/// Where a cached status keeps one thing made from it (the HTTP layer's finished default badge).
/// Shared by the clones of one cache entry; a new entry (a new read, an invalidation) starts
/// empty, so what is kept goes exactly when the status it was made from does.
#[derive(Debug)]
pub struct KeptSlot<A>(Arc<OnceLock<Arc<A>>>);

impl<A> Clone for KeptSlot<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<A> Default for KeptSlot<A> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<A> KeptSlot<A> {
    /// Keeps `value` unless the slot already holds one: the first thing made from an entry is
    /// the one every later request gets.
    pub fn keep(&self, value: Arc<A>) {
        // Already kept by a concurrent request: that one stays.
        let _ = self.0.set(value);
    }

    pub fn get(&self) -> Option<&Arc<A>> {
        self.0.get()
    }
}

/// `A`: what may be kept with a fresh status (see [`KeptSlot`]).
pub struct ProjectStore<A> {
    statuses: Cache<SlugScope, Entry<Option<GuardedStatus>, KeptSlot<A>>>,
    documents: Cache<SlugScope, Entry<Document>>,
    /// Reads in flight, so that requests missing the same key at once share one database read
    /// (a popular badge just invalidated, with many clients waiting for it).
    status_reads: moka::future::Cache<SlugScope, Option<GuardedStatus>>,
    document_reads: moka::future::Cache<SlugScope, Document>,
    ttl: Duration,
    /// Bumped when the notification connection (re)starts: every older entry is stale.
    epoch: AtomicU64,
    /// Bumped on every invalidation.
    invalidations: AtomicU64,
    /// Which slugs have a report: unknown slugs are answered without a database read.
    known: KnownSlugs,
}

/// What an entry costs beyond its own text bytes: moka's bookkeeping (entry info, deques, hash
/// table) and the allocations around it. Measured on the real binary as RSS growth per entry
/// (`hostile::a_stream_of_hostile_keys_stays_within_the_cache_budget` prints it; figures in
/// docs/performance.md): a status with a 22-byte slug about 430 bytes, weighed a little above so
/// that the budget holds. A document is weighed as a status plus its report's texts and structs
/// (see [`document_bytes`]).
const STATUS_ENTRY_OVERHEAD: usize = 448;
/// Bounds the maps of reads in flight (each entry lives for one read).
const READS_IN_FLIGHT: u64 = 10_000;

impl<A: Send + Sync + 'static> ProjectStore<A> {
    /// `max_bytes` is shared in halves: statuses (each weighed with `kept_bytes` for what may be
    /// kept with it) and documents.
    pub fn new(max_bytes: u64, ttl: Duration, kept_bytes: usize) -> Self {
        let half = (max_bytes / 2).max(1);
        Self {
            statuses: Cache::builder()
                .max_capacity(half)
                .weigher(
                    move |key: &SlugScope, entry: &Entry<Option<GuardedStatus>, KeptSlot<A>>| {
                        let keys = entry.value.as_ref().map_or(0, |s| access_bytes(&s.access));
                        weight(key.0.len() + STATUS_ENTRY_OVERHEAD + kept_bytes + keys)
                    },
                )
                .build(),
            documents: Cache::builder()
                .max_capacity(half)
                .weigher(|key: &SlugScope, entry: &Entry<Document>| {
                    weight(
                        key.0.len()
                            + STATUS_ENTRY_OVERHEAD
                            + entry.value.as_deref().map_or(0, document_bytes),
                    )
                })
                .build(),
            status_reads: moka::future::Cache::new(READS_IN_FLIGHT),
            document_reads: moka::future::Cache::new(READS_IN_FLIGHT),
            ttl,
            epoch: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            known: KnownSlugs::default(),
        }
    }

    pub fn status(&self, slug_key: &str, scope: ScopeSelection) -> Lookup<Option<GuardedStatus>> {
        self.lookup(&self.statuses, slug_key, scope)
            .map(|entry| entry.value)
    }

    /// The status, and where to keep what is made from it: only a fresh status has a slot
    /// (what is made from a stale one is never kept).
    pub fn status_and_slot(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
    ) -> (Lookup<Option<GuardedStatus>>, Option<KeptSlot<A>>) {
        match self.lookup(&self.statuses, slug_key, scope) {
            Lookup::Fresh(entry) => (Lookup::Fresh(entry.value), Some(entry.kept)),
            other => (other.map(|entry| entry.value), None),
        }
    }

    /// What was kept with a fresh status, if anything, and if `may_read` its status: what is
    /// kept with a private project's status was made for a reader with one of its keys.
    pub fn kept(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
        may_read: impl FnOnce(Option<&GuardedStatus>) -> bool,
    ) -> Option<Arc<A>> {
        match self.lookup(&self.statuses, slug_key, scope) {
            Lookup::Fresh(entry) if may_read(entry.value.as_ref()) => entry.kept.get().cloned(),
            _ => None,
        }
    }

    pub fn document(&self, slug_key: &str, scope: ScopeSelection) -> Lookup<Document> {
        self.lookup(&self.documents, slug_key, scope)
            .map(|entry| entry.value)
    }

    fn lookup<V: Clone + Send + Sync + 'static, F: Clone + Send + Sync + 'static>(
        &self,
        cache: &Cache<SlugScope, Entry<V, F>>,
        slug_key: &str,
        scope: ScopeSelection,
    ) -> Lookup<Entry<V, F>> {
        let Some(entry) = cache.get(&(Arc::from(slug_key), scope)) else {
            return Lookup::Missing;
        };
        let fresh = entry.epoch == self.epoch.load(Ordering::SeqCst)
            && entry
                .fresh_until
                .is_some_and(|until| Instant::now() < until);
        if fresh {
            Lookup::Fresh(entry)
        } else {
            Lookup::Stale(entry)
        }
    }

    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.invalidations.load(Ordering::SeqCst))
    }

    pub fn store_status(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
        status: Option<GuardedStatus>,
        ticket: ReadTicket,
    ) {
        self.statuses
            .insert((Arc::from(slug_key), scope), self.entry(status, ticket));
    }

    pub fn store_document(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
        document: Document,
        ticket: ReadTicket,
    ) {
        self.documents
            .insert((Arc::from(slug_key), scope), self.entry(document, ticket));
    }

    /// Reads a status with `read` and caches it; concurrent calls for the same key share the
    /// first one's read and its result.
    pub async fn read_status<E: Send + Sync + 'static>(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
        read: impl Future<Output = Result<Option<GuardedStatus>, E>>,
    ) -> Result<Option<GuardedStatus>, Arc<E>> {
        self.coalesced(&self.status_reads, &self.statuses, slug_key, scope, read)
            .await
    }

    /// [`Self::read_status`] for documents.
    pub async fn read_document<E: Send + Sync + 'static>(
        &self,
        slug_key: &str,
        scope: ScopeSelection,
        read: impl Future<Output = Result<Document, E>>,
    ) -> Result<Document, Arc<E>> {
        self.coalesced(&self.document_reads, &self.documents, slug_key, scope, read)
            .await
    }

    async fn coalesced<
        V: Clone + Send + Sync + 'static,
        F: Clone + Default + Send + Sync + 'static,
        E: Send + Sync + 'static,
    >(
        &self,
        reads: &moka::future::Cache<SlugScope, V>,
        cache: &Cache<SlugScope, Entry<V, F>>,
        slug_key: &str,
        scope: ScopeSelection,
        read: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Arc<E>> {
        let key: SlugScope = (Arc::from(slug_key), scope);
        let result = reads
            .try_get_with(key.clone(), async {
                // The caller saw no fresh entry, but a read that ended since may have stored one
                // (and left `reads` already): without this look, every request that missed just
                // before that read ended would read again.
                if let Lookup::Fresh(entry) = self.lookup(cache, slug_key, scope) {
                    return Ok(entry.value);
                }
                let ticket = self.ticket();
                let value = read.await?;
                cache.insert(key.clone(), self.entry(value.clone(), ticket));
                Ok(value)
            })
            .await;
        // The read is done and cached where it belongs; the next miss reads again.
        reads.invalidate(&key).await;
        result
    }

    fn entry<V, F: Default>(&self, value: V, ticket: ReadTicket) -> Entry<V, F> {
        let raced = self.invalidations.load(Ordering::SeqCst) != ticket.0;
        Entry {
            value,
            fresh_until: (!raced).then(|| Instant::now() + self.ttl),
            epoch: self.epoch.load(Ordering::SeqCst),
            kept: F::default(),
        }
    }

    /// Which slugs have a report (see [`KnownSlugs`]).
    pub fn known(&self) -> &KnownSlugs {
        &self.known
    }

    /// A report for `slug_key` was written or deleted: its cached statuses turn stale (re-read
    /// on the next request, but still the last known badge if that read fails), its documents go,
    /// and the slug counts as known (for a deletion, until the next rebuild of the filter).
    pub fn invalidate(&self, slug_key: &str) {
        self.known.insert(slug_key);
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        let slug: Arc<str> = Arc::from(slug_key);
        for scope in ScopeSelection::ALL {
            let key = (slug.clone(), scope);
            self.statuses.entry(key.clone()).and_compute_with(|cached| {
                cached.map_or(Op::Nop, |cached| {
                    Op::Put(Entry {
                        fresh_until: None,
                        // Made from the old report: never to be served again.
                        kept: KeptSlot::default(),
                        ..cached.into_value()
                    })
                })
            });
            self.documents.invalidate(&key);
        }
    }

    /// Notifications may have been missed: nothing cached is fresh any more.
    pub fn flush(&self) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Moka weighs in `u32`; anything heavier than that is heavier than any budget.
pub(super) fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The heap a stored report occupies: its structs and every text, with a small allocation
/// overhead for each text (reports are bounded by `DEPBADGE_MAX_REPORT_BYTES`, so this is too).
fn document_bytes(project: &StoredProject) -> usize {
    const PER_TEXT: usize = 16;
    let text = |s: &str| s.len() + PER_TEXT;
    let slug = text(project.meta.slug.key()) + text(project.meta.slug.display());
    let dependencies: usize = project
        .dependencies
        .iter()
        .map(|d| {
            std::mem::size_of_val(d)
                + text(&d.purl)
                + text(&d.ecosystem)
                + text(&d.name)
                + text(&d.version)
                + d.latest.as_deref().map_or(0, text)
                + d.advisories
                    .iter()
                    .map(|a| {
                        std::mem::size_of_val(a) + text(&a.id) + a.url.as_deref().map_or(0, text)
                    })
                    .sum::<usize>()
        })
        .sum();
    let tools: usize = project
        .meta
        .tools
        .iter()
        .map(|t| std::mem::size_of_val(t) + text(&t.name) + t.version.as_deref().map_or(0, text))
        .sum();
    let watched: usize = project
        .watch
        .packages
        .iter()
        .map(|(key, w)| {
            text(key)
                + std::mem::size_of_val(w)
                + w.latest.as_deref().map_or(0, text)
                + w.advisories
                    .iter()
                    .map(|rule| {
                        std::mem::size_of_val(rule)
                            + text(&rule.id)
                            + rule.url.as_deref().map_or(0, text)
                            + rule.aliases.iter().map(|a| text(a)).sum::<usize>()
                            + rule.versions.iter().map(|v| text(v)).sum::<usize>()
                            + rule
                                .ranges
                                .iter()
                                .flatten()
                                .map(|e| std::mem::size_of_val(e) + PER_TEXT)
                                .sum::<usize>()
                    })
                    .sum::<usize>()
        })
        .sum();
    std::mem::size_of::<StoredProject>()
        + slug
        + dependencies
        + tools
        + watched
        + access_bytes(&project.access)
}

/// What a private project's read keys add to an entry: an id and a digest each, in an `Arc`.
fn access_bytes(access: &Access) -> usize {
    match access {
        Access::Public => 0,
        Access::Private(keys) => 64 + keys.len() * (std::mem::size_of::<[u8; 32]>() + 36 + 32),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{Counts, ScopeStatus, Status, Summary};

    /// Nothing kept with statuses: what is kept is the HTTP layer's (tested there).
    type Store = ProjectStore<()>;

    /// An up-to-date public status, fixed in time: the fixture of the cache's tests.
    pub(crate) fn status() -> Option<GuardedStatus> {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        Some(GuardedStatus {
            status: ScopeStatus {
                summary: Summary {
                    status: Status::UpToDate,
                    counts: Counts::default(),
                },
                analyzed_at: at,
                updated_at: at,
            },
            access: Access::Public,
        })
    }

    #[test]
    fn an_entry_is_fresh_until_its_ttl_then_stale_but_kept() {
        // A TTL far longer than the test, then one far shorter: no assertion depends on how
        // fast the machine runs.
        let cache = Store::new(1 << 20, Duration::from_secs(3600), 0);
        assert_eq!(
            cache.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Missing
        );
        cache.store_status("a.io/b", ScopeSelection::Runtime, status(), cache.ticket());
        assert_eq!(
            cache.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Fresh(status())
        );
        assert_eq!(cache.status("a.io/b", ScopeSelection::Dev), Lookup::Missing);

        let short = Store::new(1 << 20, Duration::from_millis(1), 0);
        short.store_status("a.io/b", ScopeSelection::Runtime, status(), short.ticket());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            short.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Stale(status())
        );
    }

    #[test]
    fn invalidation_makes_every_scope_of_the_slug_stale_and_only_those() {
        let cache = Store::new(1 << 20, Duration::from_secs(60), 0);
        for scope in ScopeSelection::ALL {
            cache.store_status("a.io/b", scope, status(), cache.ticket());
        }
        cache.store_status("a.io/c", ScopeSelection::Runtime, None, cache.ticket());
        cache.invalidate("a.io/b");
        for scope in ScopeSelection::ALL {
            assert_eq!(cache.status("a.io/b", scope), Lookup::Stale(status()));
        }
        assert_eq!(
            cache.status("a.io/c", ScopeSelection::Runtime),
            Lookup::Fresh(None)
        );
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_stored_stale() {
        let cache = Store::new(1 << 20, Duration::from_secs(60), 0);
        let ticket = cache.ticket();
        cache.invalidate("a.io/b");
        cache.store_status("a.io/b", ScopeSelection::Runtime, status(), ticket);
        assert_eq!(
            cache.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Stale(status())
        );
    }

    /// The window the fleet's stampede step once caught: a request looks the badge up (stale),
    /// another request's read ends and stores it, then the first asks for a read. It must get
    /// the stored value, not read again.
    #[tokio::test]
    async fn a_request_that_missed_just_before_a_read_ended_does_not_read_again() {
        let cache = Store::new(1 << 20, Duration::from_secs(60), 0);
        cache.store_status("a.io/b", ScopeSelection::Runtime, status(), cache.ticket());
        cache.invalidate("a.io/b");
        let seen_by_both = cache.status("a.io/b", ScopeSelection::Runtime);
        assert_eq!(seen_by_both, Lookup::Stale(status()));

        let reads = AtomicU64::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(status())
        };
        let first = cache
            .read_status("a.io/b", ScopeSelection::Runtime, read())
            .await;
        let second = cache
            .read_status("a.io/b", ScopeSelection::Runtime, read())
            .await;
        assert_eq!(first, Ok(status()));
        assert_eq!(second, Ok(status()));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_flush_makes_everything_stale_but_keeps_it_for_errors() {
        let cache = Store::new(1 << 20, Duration::from_secs(60), 0);
        cache.store_status("a.io/b", ScopeSelection::Runtime, status(), cache.ticket());
        cache.flush();
        assert_eq!(
            cache.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Stale(status())
        );
        cache.store_status("a.io/b", ScopeSelection::Runtime, status(), cache.ticket());
        assert_eq!(
            cache.status("a.io/b", ScopeSelection::Runtime),
            Lookup::Fresh(status())
        );
    }

    fn document(dependencies: usize) -> Document {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let dependency = crate::domain::Dependency {
            purl: "pkg:npm/left-pad@1.3.0".to_owned(),
            ecosystem: "npm".to_owned(),
            name: "left-pad".to_owned(),
            version: "1.3.0".to_owned(),
            latest: Some("1.3.0".to_owned()),
            scope: crate::domain::Scope::Runtime,
            freshness: crate::domain::Freshness::UpToDate,
            advisories: vec![crate::domain::Advisory {
                id: "GHSA-xxxx-xxxx-xxxx".to_owned(),
                severity: crate::domain::Severity::High,
                url: Some("https://github.com/advisories/GHSA-xxxx-xxxx-xxxx".to_owned()),
            }],
        };
        Some(Arc::new(StoredProject {
            meta: crate::domain::ProjectMeta {
                slug: crate::domain::Slug::parse("a.io/b").unwrap(),
                analyzed_at: at,
                updated_at: at,
                tools: Vec::new(),
                visibility: crate::domain::Visibility::Public,
            },
            summary: status().unwrap().status.summary,
            dependencies: vec![dependency; dependencies],
            watch: crate::domain::project::ProjectWatch::default(),
            access: Access::Public,
        }))
    }

    /// Each text of a report weighs its length: one more byte in any of them is one more byte
    /// of weight, and one more dependency, advisory or tool weighs what it holds.
    #[test]
    fn every_text_of_a_document_counts_byte_for_byte() {
        let base = {
            let mut project = (*document(1).unwrap()).clone();
            project.meta.tools = vec![crate::domain::ToolUsed {
                name: "npm ls --json".to_owned(),
                version: Some("11.19.1".to_owned()),
            }];
            project.watch.packages.insert(
                "npm/left-pad".to_owned(),
                crate::domain::watch::Watched {
                    latest: Some("1.3.0".to_owned()),
                    advisories: vec![crate::domain::watch::AdvisoryRule {
                        id: "GHSA-aaaa".to_owned(),
                        aliases: vec!["CVE-1".to_owned()],
                        severity: crate::domain::Severity::Low,
                        url: Some("https://a.io".to_owned()),
                        versions: vec!["1.0.0".to_owned()],
                        ranges: Vec::new(),
                    }],
                },
            );
            project
        };
        type Lengthen = fn(&mut StoredProject);
        let longer: [(&str, Lengthen); 13] = [
            ("purl", |p| p.dependencies[0].purl.push('x')),
            ("ecosystem", |p| p.dependencies[0].ecosystem.push('x')),
            ("name", |p| p.dependencies[0].name.push('x')),
            ("version", |p| p.dependencies[0].version.push('x')),
            ("latest", |p| {
                p.dependencies[0].latest.as_mut().unwrap().push('x');
            }),
            ("advisory id", |p| {
                p.dependencies[0].advisories[0].id.push('x')
            }),
            ("advisory url", |p| {
                p.dependencies[0].advisories[0]
                    .url
                    .as_mut()
                    .unwrap()
                    .push('x');
            }),
            ("tool name", |p| p.meta.tools[0].name.push('x')),
            ("tool version", |p| {
                p.meta.tools[0].version.as_mut().unwrap().push('x');
            }),
            ("watched latest", |p| {
                let w = p.watch.packages.get_mut("npm/left-pad").unwrap();
                w.latest.as_mut().unwrap().push('x');
            }),
            ("watched advisory id", |p| {
                let w = p.watch.packages.get_mut("npm/left-pad").unwrap();
                w.advisories[0].id.push('x');
            }),
            ("watched advisory alias", |p| {
                let w = p.watch.packages.get_mut("npm/left-pad").unwrap();
                w.advisories[0].aliases[0].push('x');
            }),
            ("watched advisory version", |p| {
                let w = p.watch.packages.get_mut("npm/left-pad").unwrap();
                w.advisories[0].versions[0].push('x');
            }),
        ];
        for (field, lengthen) in longer {
            let mut project = base.clone();
            lengthen(&mut project);
            assert_eq!(
                document_bytes(&project),
                document_bytes(&base) + 1,
                "{field}"
            );
        }
        // The slug's key and its display form, one byte each.
        let mut project = base.clone();
        project.meta.slug = crate::domain::Slug::parse("a.io/bx").unwrap();
        assert_eq!(document_bytes(&project), document_bytes(&base) + 2);
        // A second dependency weighs as much as the first; an optional text counts when present.
        let mut project = base.clone();
        project.dependencies.push(base.dependencies[0].clone());
        let dependency = document_bytes(&project) - document_bytes(&base);
        project.dependencies[1].latest = None;
        assert_eq!(
            document_bytes(&project),
            document_bytes(&base) + dependency - ("1.3.0".len() + 16)
        );
        assert!(dependency > std::mem::size_of::<crate::domain::Dependency>());
        let mut project = base.clone();
        project.meta.tools.clear();
        assert!(document_bytes(&project) < document_bytes(&base));
    }

    #[test]
    fn documents_are_invalidated_and_flushed_like_statuses() {
        let cache = Store::new(1 << 20, Duration::from_secs(60), 0);
        cache.store_document(
            "a.io/b",
            ScopeSelection::Runtime,
            document(3),
            cache.ticket(),
        );
        cache.store_document("a.io/c", ScopeSelection::Runtime, None, cache.ticket());
        assert!(matches!(
            cache.document("a.io/b", ScopeSelection::Runtime),
            Lookup::Fresh(Some(project)) if project.dependencies.len() == 3
        ));
        cache.invalidate("a.io/b");
        assert!(matches!(
            cache.document("a.io/b", ScopeSelection::Runtime),
            Lookup::Missing
        ));
        assert!(matches!(
            cache.document("a.io/c", ScopeSelection::Runtime),
            Lookup::Fresh(None)
        ));
        cache.flush();
        assert!(matches!(
            cache.document("a.io/c", ScopeSelection::Runtime),
            Lookup::Stale(None)
        ));
    }

    #[test]
    fn documents_are_weighed_at_least_at_their_heap_size_and_bounded() {
        let one = document(100);
        let project = one.as_deref().unwrap();
        // Each dependency owns six strings and one advisory with two more.
        let heap: usize = project
            .dependencies
            .iter()
            .map(|d| {
                std::mem::size_of_val(d)
                    + d.purl.capacity()
                    + d.ecosystem.capacity()
                    + d.name.capacity()
                    + d.version.capacity()
                    + d.latest.as_ref().map_or(0, String::capacity)
                    + d.advisories.capacity() * std::mem::size_of::<crate::domain::Advisory>()
                    + d.advisories
                        .iter()
                        .map(|a| a.id.capacity() + a.url.as_ref().map_or(0, String::capacity))
                        .sum::<usize>()
            })
            .sum();
        assert!(
            document_bytes(project) >= heap,
            "{} < {heap}",
            document_bytes(project)
        );

        let cache = Store::new(2 * 64 * 1024, Duration::from_secs(60), 0);
        for i in 0..200 {
            cache.store_document(
                &format!("a.io/p{i}"),
                ScopeSelection::Runtime,
                document(10),
                cache.ticket(),
            );
        }
        cache.documents.run_pending_tasks();
        let entries = cache.documents.entry_count();
        assert!(entries > 0 && entries < 200, "{entries} documents kept");
        assert!(cache.documents.weighted_size() <= 64 * 1024);
    }

    #[test]
    fn the_cache_is_bounded_by_bytes() {
        let cache = Store::new(64 * 1024, Duration::from_secs(60), 0);
        for i in 0..10_000 {
            cache.store_status(
                &format!("a.io/project-{i}"),
                ScopeSelection::Runtime,
                status(),
                cache.ticket(),
            );
        }
        cache.statuses.run_pending_tasks();
        assert!(
            cache.statuses.weighted_size() <= 64 * 1024 / 2,
            "{}",
            cache.statuses.weighted_size()
        );
    }
}
