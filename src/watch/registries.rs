//! Checks each watched registry for the newest release of its due packages: conditional
//! requests, at most `DEPBADGE_WATCH_RATE` requests a second, nothing sent while a `Retry-After`
//! runs, backoff for packages whose checks fail. Nothing is assumed from silence: an error, a
//! timeout or a 404 keeps what was known.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Context;
use crate::db::watch::{self as db, Checked, DuePackage};
use crate::domain::watch::osv::pypi_release_rules;
use crate::domain::watch::registry::{Registry, pypi_release_url};

/// The `result` label values of `depbadge_registry_requests_total`.
pub const RESULTS: [&str; 5] = ["changed", "unchanged", "not_found", "error", "throttled"];

/// Packages taken per query; the pacer spaces their requests.
const BATCH: i64 = 100;
/// Requests to one registry in flight at once (the rate limits how many start each second).
const IN_FLIGHT: usize = 8;
/// When nothing is due, how long until the next look (a package first named by a report waits
/// at most this long).
const IDLE: Duration = Duration::from_secs(2);
/// A registry answer larger than this is refused (npm's abbreviated metadata of the largest
/// packages is a few MB).
const MAX_BODY: usize = 32 << 20;
/// A throttling answer without a usable `Retry-After` pauses the registry this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// A failing package is checked again after this, doubled per failure, up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(30);

/// One registry's pace: request starts spaced by 1/rate, and a pause while a `Retry-After` runs.
struct Pace {
    spacing: Duration,
    next: Mutex<Instant>,
    paused_until: Mutex<Option<Instant>>,
}

impl Pace {
    fn new(rate: u32) -> Self {
        Self {
            spacing: Duration::from_secs(1) / rate.max(1),
            next: Mutex::new(Instant::now()),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits for the next request slot, and for any pause to pass.
    async fn slot(&self) {
        loop {
            let pause = *self
                .paused_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(until) = pause.filter(|until| *until > Instant::now()) {
                tokio::time::sleep_until(until).await;
                continue;
            }
            let at = {
                let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
                let at = (*next).max(Instant::now());
                *next = at + self.spacing;
                at
            };
            tokio::time::sleep_until(at).await;
            // A pause that began while waiting for the slot holds this request too.
            if !self.paused() {
                return;
            }
        }
    }

    fn paused(&self) -> bool {
        self.paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| until > Instant::now())
    }

    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *paused = Some(paused.map_or(until, |current| current.max(until)));
    }
}

/// Checks `registry`'s due packages, forever.
pub async fn watch(context: Arc<Context>, registry: Registry, base: String) {
    let pace = Arc::new(Pace::new(context.settings.rate));
    let base: Arc<str> = Arc::from(base);
    loop {
        let due = match db::due(&context.pool, registry.ecosystem(), BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, registry = registry.ecosystem(), "watch: cannot read due packages");
                tokio::time::sleep(IDLE).await;
                continue;
            }
        };
        if due.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        let mut in_flight = JoinSet::new();
        for package in due {
            while in_flight.len() >= IN_FLIGHT {
                in_flight.join_next().await;
            }
            pace.slot().await;
            in_flight.spawn(check(
                context.clone(),
                registry,
                base.clone(),
                pace.clone(),
                package,
            ));
        }
        while in_flight.join_next().await.is_some() {}
    }
}

/// What one request to a registry gave.
enum Answer {
    Checked(Checked),
    /// 429 or 503: nothing more to this registry for this long; the package stays due.
    Throttled(Duration),
}

async fn check(
    context: Arc<Context>,
    registry: Registry,
    base: Arc<str>,
    pace: Arc<Pace>,
    package: DuePackage,
) {
    let url = registry.package_url(&base, &package.name);
    let answer = ask(&context.client, registry, &url, &package).await;
    let checked = match answer {
        Answer::Throttled(wait) => {
            tracing::info!(
                registry = registry.ecosystem(),
                wait_s = wait.as_secs(),
                "watch: registry asks to wait"
            );
            pace.pause(wait);
            context
                .metrics
                .record_registry_request(registry.ecosystem(), "throttled");
            return;
        }
        Answer::Checked(checked) => checked,
    };
    let changed = matches!(&checked, Checked::Found { newest: Some(newest), .. } if package.latest.as_ref() != Some(newest));
    let result = match &checked {
        Checked::Found { .. } if changed => "changed",
        Checked::Found { .. } | Checked::NotModified => "unchanged",
        Checked::NotFound => "not_found",
        Checked::Failed => "error",
    };
    context
        .metrics
        .record_registry_request(registry.ecosystem(), result);
    let interval = context.settings.interval;
    let next = match checked {
        Checked::Failed => FIRST_RETRY
            .saturating_mul(1 << package.failures.clamp(0, 16))
            .min(interval),
        _ => interval,
    };
    let confirmed = matches!(checked, Checked::Found { .. } | Checked::NotModified);
    if let Err(error) = db::record_check(&context.pool, &package.key, &checked, next).await {
        tracing::warn!(%error, key = %package.key, "watch: cannot record a check");
        return;
    }
    let mut advisories_changed = false;
    if registry == Registry::Pypi && confirmed {
        advisories_changed = pypi_advisories(&context, &base, &pace, &package).await;
    }
    if changed || advisories_changed {
        tracing::info!(key = %package.key, was = ?package.latest, "watch: package changed");
        let _ = context.changed.send(package.key);
    }
}

async fn ask(
    client: &reqwest::Client,
    registry: Registry,
    url: &str,
    package: &DuePackage,
) -> Answer {
    let mut request = client.get(url);
    if let Some(accept) = registry.accept() {
        request = request.header(ACCEPT, accept);
    }
    // Validators only for a package whose newest release is known: else a 304 would confirm
    // nothing.
    if package.latest.is_some() {
        if let Some(etag) = &package.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = &package.last_modified {
            request = request.header(IF_MODIFIED_SINCE, last_modified);
        }
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(%error, url, "watch: registry request failed");
            return Answer::Checked(Checked::Failed);
        }
    };
    match response.status() {
        StatusCode::NOT_MODIFIED => Answer::Checked(Checked::NotModified),
        StatusCode::NOT_FOUND | StatusCode::GONE => Answer::Checked(Checked::NotFound),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            Answer::Throttled(retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER))
        }
        StatusCode::OK => {
            let (etag, last_modified) = validators(response.headers());
            let Some(body) = body(response).await else {
                return Answer::Checked(Checked::Failed);
            };
            match registry.newest(&body) {
                Ok(newest) => Answer::Checked(Checked::Found {
                    newest,
                    etag,
                    last_modified,
                }),
                Err(error) => {
                    tracing::info!(%error, url, "watch: registry answer not understood");
                    Answer::Checked(Checked::Failed)
                }
            }
        }
        status => {
            tracing::info!(%status, url, "watch: registry answered an error");
            Answer::Checked(Checked::Failed)
        }
    }
}

/// The body, or `None` past [`MAX_BODY`] or on a broken connection.
async fn body(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return None;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Some(body),
            Err(_) => return None,
        }
    }
}

/// The `ETag` and `Last-Modified` of an answer, for the next conditional request.
pub fn validators(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (text(ETAG), text(LAST_MODIFIED))
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// PyPI lists advisories per release: reads those of every release reports name, and stores
/// them if they changed. Any failure keeps what was known. True when they changed.
async fn pypi_advisories(context: &Context, base: &str, pace: &Pace, package: &DuePackage) -> bool {
    let Ok(versions) = db::versions(&context.pool, &package.key).await else {
        return false;
    };
    let mut rules = Vec::new();
    for version in versions {
        pace.slot().await;
        let url = pypi_release_url(base, &package.name, &version);
        let response = match context.client.get(&url).send().await {
            Ok(response) => response,
            Err(_) => return false,
        };
        match response.status() {
            StatusCode::OK => {}
            // A release PyPI does not know has no advisories there.
            StatusCode::NOT_FOUND => continue,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                pace.pause(retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER));
                return false;
            }
            _ => return false,
        }
        let Some(body) = body(response).await else {
            return false;
        };
        match pypi_release_rules(&body, &version) {
            Ok(found) => rules.extend(found),
            Err(_) => return false,
        }
    }
    rules.sort_by(|a, b| (&a.id, &a.versions).cmp(&(&b.id, &b.versions)));
    db::set_registry_advisories(&context.pool, &package.key, &rules)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, value.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(&headers(" 120 ")),
            Some(Duration::from_secs(120))
        );
        let in_an_hour =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
        let wait = retry_after(&headers(&in_an_hour)).unwrap();
        assert!(
            wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(60));
        assert_eq!(retry_after(&headers(&past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    /// The clock is tokio's, paused: it moves only when every task waits, so the slots are
    /// exact whatever the machine's speed.
    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate_and_a_pause_holds_them() {
        let pace = Pace::new(10);
        let start = Instant::now();
        for _ in 0..3 {
            pace.slot().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        assert!(!pace.paused());
        pace.pause(Duration::from_secs(3));
        assert!(pace.paused());
        // A shorter pause does not shorten a longer one.
        pace.pause(Duration::from_secs(1));
        let before = Instant::now();
        pace.slot().await;
        assert_eq!(before.elapsed(), Duration::from_secs(3));
        assert!(!pace.paused());
    }
}
