//! Prometheus metrics (SPEC 5), served on the admin listener. The recorder is process-wide and
//! installed once; labels are low-cardinality by construction (route templates, never paths).

use std::sync::OnceLock;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const BADGE_CACHE: &str = "depbadge_badge_cache_requests_total";
pub const REPORTS_INGESTED: &str = "depbadge_reports_ingested_total";
pub const DB_UP: &str = "depbadge_db_up";
pub const DB_POOL: &str = "depbadge_db_pool_connections";
pub const BUILD_INFO: &str = "depbadge_build_info";

/// Latency buckets from 0.5 ms (a cached badge) to 5 s (a slow database).
const DURATION_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder on first call and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = builder
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &DURATION_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method, route template and status"
    );
    metrics::describe_counter!(
        BADGE_CACHE,
        "Badge status lookups: hit, miss (read from the database), stale (last known, database failed)"
    );
    metrics::describe_counter!(
        REPORTS_INGESTED,
        "Report PUTs by outcome: created, updated, unchanged, rejected"
    );
    metrics::describe_gauge!(DB_UP, "1 when the database answered the last check, else 0");
    metrics::describe_gauge!(
        DB_POOL,
        "Database pool connections by state: active, idle, max"
    );
    metrics::describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which build is running"
    );
}

/// The text exposition, with pool gauges read at scrape time.
pub fn render(handle: &PrometheusHandle, pool: &PgPool) -> String {
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    gauge!(DB_POOL, "state" => "active").set(size - idle);
    gauge!(DB_POOL, "state" => "idle").set(idle);
    gauge!(DB_POOL, "state" => "max").set(f64::from(pool.options().get_max_connections()));
    handle.run_upkeep();
    handle.render()
}

pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(seconds);
}

#[derive(Debug, Clone, Copy)]
pub enum CacheResult {
    Hit,
    Miss,
    Stale,
}

pub fn record_badge_lookup(result: CacheResult) {
    let result = match result {
        CacheResult::Hit => "hit",
        CacheResult::Miss => "miss",
        CacheResult::Stale => "stale",
    };
    counter!(BADGE_CACHE, "result" => result).increment(1);
}

/// `result`: created, updated, unchanged or rejected.
pub fn record_report(result: &'static str) {
    counter!(REPORTS_INGESTED, "result" => result).increment(1);
}

pub fn set_db_up(up: bool) {
    gauge!(DB_UP).set(if up { 1.0 } else { 0.0 });
}
