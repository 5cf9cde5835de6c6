//! Prometheus metrics (docs/contract.md, "Metrics"), served on the admin listener.
//!
//! Each [`Metrics`] owns its recorder instead of installing a process-wide one: the service has
//! one per process, and tests that run several applications in one process read exactly their
//! own counts. Labels are low-cardinality by construction: route templates, never paths; the
//! HTTP method from a closed set.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use sqlx::PgPool;

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const BADGE_CACHE: &str = "depbadge_badge_cache_requests_total";
pub const DOCUMENT_CACHE: &str = "depbadge_document_cache_requests_total";
pub const DB_READS: &str = "depbadge_db_reads_total";
pub const REPORTS_INGESTED: &str = "depbadge_reports_ingested_total";
pub const DB_UP: &str = "depbadge_db_up";
pub const DB_POOL: &str = "depbadge_db_pool_connections";
pub const BUILD_INFO: &str = "depbadge_build_info";
pub const LISTENING: &str = "depbadge_notifications_listening";
pub const CACHE_FLUSHES: &str = "depbadge_badge_cache_flushes_total";
pub const NOTIFICATIONS: &str = "depbadge_notifications_received_total";
pub const CONNECTIONS_OPEN: &str = "depbadge_http_connections_open";
pub const CONNECTIONS_REFUSED: &str = "depbadge_http_connections_refused_total";
pub const KNOWN_SLUG_BUILDS: &str = "depbadge_known_slugs_builds_total";
pub const KEPT_ANSWERS: &str = "depbadge_badge_kept_answers_total";
pub const WATCH_PACKAGES: &str = "depbadge_watch_packages";
pub const REGISTRY_REQUESTS: &str = "depbadge_registry_requests_total";
pub const WATCH_OVERDUE: &str = "depbadge_watch_overdue_seconds";
pub const WATCH_INTERVAL: &str = "depbadge_watch_interval_seconds";
pub const ADVISORIES_LOADED: &str = "depbadge_advisories_loaded";
pub const WATCH_ACTIVE: &str = "depbadge_watch_active";
pub const STATUS_RECOMPUTES: &str = "depbadge_status_recomputes_total";

/// Latency buckets from 0.5 ms (a cached badge) to 5 s (a slow database).
const DURATION_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Methods that get their own label value; anything else a client invents is `other`.
const KNOWN_METHODS: [&str; 6] = ["GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS"];

const METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The service's metrics. Cheap to clone (one reference count): every clone records into the
/// same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Registry>);

/// The labels of an HTTP request's metrics: method, route template, status.
type RequestLabels = (&'static str, &'static str, u16);

struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// How many times [`Metrics::run_upkeep`] has drained the histograms (scrapes drain them
    /// too, without counting here).
    upkeeps: AtomicU64,
    // Handles registered once: finding one by name and labels costs a key with owned label
    // strings and a hashed lookup, which per request was a measurable share of a cached badge.
    requests: RwLock<HashMap<RequestLabels, (Counter, Histogram)>>,
    badge_lookups: [Counter; CacheResult::ALL.len()],
    document_lookups: [Counter; CacheResult::ALL.len()],
    db_reads: [Counter; DbRead::ALL.len()],
    kept_answers: [Counter; KeptAnswer::ALL.len()],
    reports: [Counter; ReportResult::ALL.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

#[derive(Debug, Clone, Copy)]
pub enum CacheResult {
    Hit,
    Miss,
    Stale,
    /// Known to have no report (the filter of known slugs): answered without a read.
    Absent,
}

/// What a cache miss reads from the database.
#[derive(Debug, Clone, Copy)]
pub enum DbRead {
    Status,
    Document,
}

impl CacheResult {
    const ALL: [Self; 4] = [Self::Hit, Self::Miss, Self::Stale, Self::Absent];

    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Stale => "stale",
            Self::Absent => "absent",
        }
    }
}

impl DbRead {
    const ALL: [Self; 2] = [Self::Status, Self::Document];

    fn label(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Document => "document",
        }
    }
}

/// Which kind of badge a request was answered for from a kept answer, before the router.
#[derive(Debug, Clone, Copy)]
pub enum KeptAnswer {
    Project,
    Static,
}

impl KeptAnswer {
    const ALL: [Self; 2] = [Self::Project, Self::Static];

    fn label(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Static => "static",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum ReportResult {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

impl ReportResult {
    const ALL: [Self; 4] = [
        Self::Created,
        Self::Updated,
        Self::Unchanged,
        Self::Rejected,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Rejected => "rejected",
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let labelled = |name, label, value| counter(&recorder, name, &[(label, value)]);
        let metrics = Self(Arc::new(Registry {
            handle: recorder.handle(),
            upkeeps: AtomicU64::new(0),
            requests: RwLock::default(),
            badge_lookups: CacheResult::ALL.map(|r| labelled(BADGE_CACHE, "result", r.label())),
            document_lookups: CacheResult::ALL
                .map(|r| labelled(DOCUMENT_CACHE, "result", r.label())),
            db_reads: DbRead::ALL.map(|r| labelled(DB_READS, "read", r.label())),
            kept_answers: KeptAnswer::ALL.map(|k| labelled(KEPT_ANSWERS, "badge", k.label())),
            reports: ReportResult::ALL.map(|r| labelled(REPORTS_INGESTED, "result", r.label())),
            recorder,
        }));
        metrics.describe();
        metrics
            .gauge(BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))])
            .set(1.0);
        metrics.set_db_up(false);
        metrics.set_listening(false);
        metrics
    }

    fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        counter(&self.0.recorder, name, labels)
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.0
            .recorder
            .register_gauge(&key(name, labels), &METADATA)
    }

    fn describe(&self) {
        let describe = |name: &'static str, unit: Option<Unit>, text: &'static str| {
            // The same call registers the HELP text whatever the kind.
            self.0
                .recorder
                .describe_counter(KeyName::from_const_str(name), unit, text.into());
        };
        describe(
            HTTP_REQUESTS,
            None,
            "HTTP requests by method, route template and status",
        );
        describe(
            HTTP_DURATION,
            Some(Unit::Seconds),
            "HTTP request latency by method, route template and status",
        );
        describe(
            BADGE_CACHE,
            None,
            "Badge status lookups: hit, miss (read from the database), stale (last known, database failed), absent (no report, known without a read)",
        );
        describe(
            DOCUMENT_CACHE,
            None,
            "Report reads for the JSON API and the project page: hit, miss (read from the database), absent (no report, known without a read)",
        );
        describe(
            DB_READS,
            None,
            "Database reads for badges (status) and the JSON API and page (document); concurrent misses of one key share one read",
        );
        describe(
            KEPT_ANSWERS,
            None,
            "Badge requests answered before the router from a kept finished answer, by badge: project, static",
        );
        describe(
            REPORTS_INGESTED,
            None,
            "Report PUTs by outcome: created, updated, unchanged, rejected",
        );
        describe(
            DB_UP,
            None,
            "1 when the database answered the last check, else 0",
        );
        describe(
            DB_POOL,
            None,
            "Database pool connections by state: active, idle, max",
        );
        describe(
            BUILD_INFO,
            None,
            "Always 1; the version label says which build is running",
        );
        describe(
            KNOWN_SLUG_BUILDS,
            None,
            "Builds of the filter of known slugs from the database: loaded, or failed (retried; meanwhile every slug is read)",
        );
        describe(
            LISTENING,
            None,
            "1 while this replica listens for report notifications (cache invalidation), else 0",
        );
        describe(
            CONNECTIONS_OPEN,
            None,
            "HTTP connections being served on the public listener",
        );
        describe(
            CONNECTIONS_REFUSED,
            None,
            "HTTP connections answered 503 and closed because DEPBADGE_MAX_CONNECTIONS were open",
        );
        describe(
            NOTIFICATIONS,
            None,
            "Report notifications received (a write or delete on any replica), each invalidating a project",
        );
        describe(
            WATCH_PACKAGES,
            None,
            "depbadge watch: packages named by stored reports, watched",
        );
        describe(
            REGISTRY_REQUESTS,
            None,
            "depbadge watch: registry requests by registry and result: changed, unchanged, not_found, error, throttled",
        );
        describe(
            WATCH_OVERDUE,
            Some(Unit::Seconds),
            "depbadge watch: how late the most overdue registry check is (0 when none is due)",
        );
        describe(
            WATCH_INTERVAL,
            Some(Unit::Seconds),
            "depbadge watch: DEPBADGE_WATCH_INTERVAL, for alerts on overdue checks",
        );
        describe(
            ADVISORIES_LOADED,
            None,
            "depbadge watch: OSV records read in the last complete read of the advisory sources",
        );
        describe(
            WATCH_ACTIVE,
            None,
            "depbadge watch: 1 on the watcher holding the lock (the active one), 0 on a standby",
        );
        describe(
            STATUS_RECOMPUTES,
            None,
            "depbadge watch: project statuses recomputed after a package's newest release or advisories changed",
        );
        describe(
            CACHE_FLUSHES,
            None,
            "Whole badge cache flushes: each time listening for notifications starts or stops",
        );
    }

    /// Drains histogram samples into their buckets. Without it, samples pile up between scrapes
    /// (about 1 MB/s under load); [`Self::run_upkeep_every`] calls it periodically.
    pub fn run_upkeep(&self) {
        self.0.handle.run_upkeep();
        // Counted where the drain happens, so that a test sees the drain itself being called (the
        // exporter's buffers are not visible through its API).
        self.0.upkeeps.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs [`Self::run_upkeep`] every `period`, until the task is aborted.
    pub async fn run_upkeep_every(self, period: std::time::Duration) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.run_upkeep();
        }
    }

    /// How many upkeeps have run, scrapes aside: a process that is never scraped still drains.
    pub fn upkeeps(&self) -> u64 {
        self.0.upkeeps.load(Ordering::Relaxed)
    }

    /// The label value of an HTTP method: itself when known, else `other`.
    pub fn method_label(method: &str) -> &'static str {
        KNOWN_METHODS
            .iter()
            .find(|known| **known == method)
            .copied()
            .unwrap_or("other")
    }

    /// The text exposition, with pool gauges read at scrape time.
    pub fn render(&self, pool: &PgPool) -> String {
        let size = f64::from(pool.size());
        let idle = pool.num_idle() as f64;
        self.gauge(DB_POOL, &[("state", "active")]).set(size - idle);
        self.gauge(DB_POOL, &[("state", "idle")]).set(idle);
        self.gauge(DB_POOL, &[("state", "max")])
            .set(f64::from(pool.options().get_max_connections()));
        self.0.handle.run_upkeep();
        self.0.handle.render()
    }

    /// The text exposition of a process without a pool of its own (the watcher).
    pub fn render_without_pool(&self) -> String {
        self.0.handle.run_upkeep();
        self.0.handle.render()
    }

    /// Counts a request and its latency. `route` is a template (a closed set, as `method` is
    /// once labelled), so the handles registered here are bounded.
    pub fn record_request(&self, method: &str, route: &'static str, status: u16, seconds: f64) {
        let labels = (Self::method_label(method), route, status);
        let registered = self
            .0
            .requests
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&labels)
            .cloned();
        let (count, latency) = registered.unwrap_or_else(|| self.register_request(labels));
        count.increment(1);
        latency.record(seconds);
    }

    fn register_request(&self, labels: RequestLabels) -> (Counter, Histogram) {
        let (method, route, status) = labels;
        let status = status.to_string();
        let key = |name| {
            key(
                name,
                &[("method", method), ("route", route), ("status", &status)],
            )
        };
        let handles = (
            self.0
                .recorder
                .register_counter(&key(HTTP_REQUESTS), &METADATA),
            self.0
                .recorder
                .register_histogram(&key(HTTP_DURATION), &METADATA),
        );
        self.0
            .requests
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(labels, handles.clone());
        handles
    }

    pub fn record_badge_lookup(&self, result: CacheResult) {
        self.0.badge_lookups[result as usize].increment(1);
    }

    pub fn record_kept_answer(&self, kind: KeptAnswer) {
        self.0.kept_answers[kind as usize].increment(1);
    }

    pub fn record_document_lookup(&self, result: CacheResult) {
        self.0.document_lookups[result as usize].increment(1);
    }

    pub fn record_db_read(&self, read: DbRead) {
        self.0.db_reads[read as usize].increment(1);
    }

    pub fn record_report(&self, result: ReportResult) {
        self.0.reports[result as usize].increment(1);
    }

    pub fn set_db_up(&self, up: bool) {
        self.gauge(DB_UP, &[]).set(if up { 1.0 } else { 0.0 });
    }

    pub fn record_registry_request(&self, registry: &str, result: &str) {
        self.record_registry_request_count(registry, result, 1);
    }

    pub fn record_registry_request_count(&self, registry: &str, result: &str, requests: u64) {
        self.counter(
            REGISTRY_REQUESTS,
            &[("registry", registry), ("result", result)],
        )
        .increment(requests);
    }

    pub fn set_watch_packages(&self, packages: u64) {
        self.gauge(WATCH_PACKAGES, &[]).set(packages as f64);
    }

    pub fn set_watch_overdue(&self, seconds: f64) {
        self.gauge(WATCH_OVERDUE, &[]).set(seconds);
    }

    pub fn set_watch_interval(&self, interval: std::time::Duration) {
        self.gauge(WATCH_INTERVAL, &[]).set(interval.as_secs_f64());
    }

    pub fn set_advisories_loaded(&self, records: u64) {
        self.gauge(ADVISORIES_LOADED, &[]).set(records as f64);
    }

    pub fn set_watch_active(&self, active: bool) {
        self.gauge(WATCH_ACTIVE, &[])
            .set(if active { 1.0 } else { 0.0 });
    }

    pub fn record_status_recomputes(&self, projects: u64) {
        self.counter(STATUS_RECOMPUTES, &[]).increment(projects);
    }

    pub fn set_listening(&self, listening: bool) {
        self.gauge(LISTENING, &[])
            .set(if listening { 1.0 } else { 0.0 });
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn open_connection(&self) -> OpenConnection {
        let gauge = self.gauge(CONNECTIONS_OPEN, &[]);
        gauge.increment(1.0);
        OpenConnection(gauge)
    }

    pub fn record_connection_refused(&self) {
        self.counter(CONNECTIONS_REFUSED, &[]).increment(1);
    }

    pub fn record_notification(&self) {
        self.counter(NOTIFICATIONS, &[]).increment(1);
    }

    pub fn record_cache_flush(&self) {
        self.counter(CACHE_FLUSHES, &[]).increment(1);
    }

    /// A build of the filter of known slugs: `loaded`, or `failed`.
    pub fn record_known_slugs_build(&self, loaded: bool) {
        let result = if loaded { "loaded" } else { "failed" };
        self.counter(KNOWN_SLUG_BUILDS, &[("result", result)])
            .increment(1);
    }
}

/// An open connection, counted in `depbadge_http_connections_open` until dropped.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

fn counter(
    recorder: &PrometheusRecorder,
    name: &'static str,
    labels: &[(&'static str, &str)],
) -> Counter {
    recorder.register_counter(&key(name, labels), &METADATA)
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(label, value)| Label::new(*label, (*value).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_known_set_share_one_label() {
        let metrics = Metrics::new();
        for method in ["GET", "BREW", "X-UNIQUE-1", "X-UNIQUE-2"] {
            metrics.record_request(method, "/healthz", 200, 0.001);
        }
        let text = metrics.0.handle.render();
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{method="other",route="/healthz",status="200"} 3"#),
            "{text}"
        );
        assert!(
            !text.contains("BREW") && !text.contains("X-UNIQUE"),
            "{text}"
        );
    }

    /// The handles registered up front are indexed by the enums' discriminants.
    #[test]
    fn each_pre_registered_counter_carries_its_own_label() {
        let metrics = Metrics::new();
        metrics.record_badge_lookup(CacheResult::Stale);
        metrics.record_document_lookup(CacheResult::Absent);
        metrics.record_db_read(DbRead::Document);
        metrics.record_report(ReportResult::Unchanged);
        let text = metrics.0.handle.render();
        for line in [
            r#"depbadge_badge_cache_requests_total{result="stale"} 1"#,
            r#"depbadge_badge_cache_requests_total{result="hit"} 0"#,
            r#"depbadge_document_cache_requests_total{result="absent"} 1"#,
            r#"depbadge_db_reads_total{read="document"} 1"#,
            r#"depbadge_db_reads_total{read="status"} 0"#,
            r#"depbadge_reports_ingested_total{result="unchanged"} 1"#,
            r#"depbadge_reports_ingested_total{result="created"} 0"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn each_instance_counts_only_its_own_events() {
        let (one, two) = (Metrics::new(), Metrics::new());
        one.record_report(ReportResult::Created);
        one.record_report(ReportResult::Created);
        two.record_report(ReportResult::Created);
        assert!(
            one.0
                .handle
                .render()
                .contains(r#"depbadge_reports_ingested_total{result="created"} 2"#)
        );
        assert!(
            two.0
                .handle
                .render()
                .contains(r#"depbadge_reports_ingested_total{result="created"} 1"#)
        );
    }
}
