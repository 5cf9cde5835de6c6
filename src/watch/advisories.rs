//! Reads the OSV sources of `DEPBADGE_ADVISORIES` every `DEPBADGE_ADVISORIES_INTERVAL`: each a
//! directory of OSV JSON files, or the URL of an OSV `all.zip` (fetched with conditional
//! requests). The rules of watched packages are stored; a package whose rules changed has its
//! projects recomputed. A source that cannot be read leaves everything as it was.

use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};

use super::Context;
use crate::db::watch as db;
use crate::domain::watch::{AdvisoryRule, osv};

/// One OSV record larger than this is skipped (the largest real ones are a few hundred KB).
const MAX_RECORD: u64 = 16 << 20;
/// An `all.zip` larger than this is refused.
const MAX_ARCHIVE: u64 = 4 << 30;
/// After a failed read, the next attempt comes this soon (or at the interval, if sooner).
const RETRY: Duration = Duration::from_secs(60);

/// Rules by package key, for the watched packages.
type Rules = HashMap<String, Vec<AdvisoryRule>>;

/// What was last read from a URL source, for its conditional requests.
struct Fetched {
    etag: Option<String>,
    last_modified: Option<String>,
    /// The keys the rules were kept for: a 304 is only enough when no package was named since.
    keys: HashSet<String>,
    rules: Rules,
    records: u64,
}

pub async fn watch(context: Arc<Context>) {
    let mut fetched: HashMap<String, Fetched> = HashMap::new();
    loop {
        let wait = match load(&context, &mut fetched).await {
            Ok(()) => context.settings.advisories_interval,
            Err(error) => {
                tracing::warn!(%error, "watch: advisory sources not read; what was known stays");
                RETRY.min(context.settings.advisories_interval)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

async fn load(context: &Context, fetched: &mut HashMap<String, Fetched>) -> Result<(), String> {
    let stored = db::osv_advisories(&context.pool)
        .await
        .map_err(|e| e.to_string())?;
    let keys: HashSet<String> = stored.iter().map(|(key, _)| key.clone()).collect();
    let mut rules: Rules = HashMap::new();
    let mut records = 0;
    for source in &context.settings.advisories {
        let (read, count) = if source.starts_with("http://") || source.starts_with("https://") {
            let previous = fetched.remove(source);
            let got = fetch_archive(context, source, previous, &keys).await?;
            let result = (got.rules.clone(), got.records);
            fetched.insert(source.clone(), got);
            result
        } else {
            let directory = source.clone();
            let wanted = keys.clone();
            tokio::task::spawn_blocking(move || read_directory(Path::new(&directory), &wanted))
                .await
                .map_err(|e| e.to_string())??
        };
        records += count;
        for (key, found) in read {
            rules.entry(key).or_default().extend(found);
        }
    }
    let mut changed = Vec::new();
    for (key, old) in stored {
        let mut new = rules.remove(&key).unwrap_or_default();
        new.sort_by(|a, b| a.id.cmp(&b.id));
        new.dedup();
        if new != old {
            changed.push((key, new));
        }
    }
    db::set_osv_advisories(&context.pool, &changed)
        .await
        .map_err(|e| e.to_string())?;
    context.metrics.set_advisories_loaded(records);
    tracing::info!(
        records,
        changed = changed.len(),
        "watch: advisory sources read"
    );
    for (key, _) in changed {
        let _ = context.changed.send(key);
    }
    Ok(())
}

/// Every `*.json` file under `directory`, recursively; a file that is not an OSV record is
/// skipped with a warning.
fn read_directory(directory: &Path, keys: &HashSet<String>) -> Result<(Rules, u64), String> {
    let mut rules = Rules::new();
    let mut records = 0;
    let mut pending = vec![directory.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::File::open(&path)
                    .and_then(|file| {
                        let mut bytes = Vec::new();
                        file.take(MAX_RECORD).read_to_end(&mut bytes)?;
                        Ok(bytes)
                    })
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                records += 1;
                keep(&mut rules, &bytes, keys, &path.display().to_string());
            }
        }
    }
    Ok((rules, records))
}

fn keep(rules: &mut Rules, record: &[u8], keys: &HashSet<String>, name: &str) {
    match osv::read_record(record) {
        Ok(found) => {
            for (key, rule) in found {
                if keys.contains(&key) {
                    rules.entry(key).or_default().push(rule);
                }
            }
        }
        Err(error) => tracing::warn!(%error, record = name, "watch: not an OSV record; skipped"),
    }
}

async fn fetch_archive(
    context: &Context,
    url: &str,
    previous: Option<Fetched>,
    keys: &HashSet<String>,
) -> Result<Fetched, String> {
    let mut request = context.client.get(url).timeout(Duration::from_secs(600));
    // Conditional only when the last read kept the rules of every package watched now.
    let usable = previous.filter(|p| keys.is_subset(&p.keys));
    if let Some(previous) = &usable {
        if let Some(etag) = &previous.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = &previous.last_modified {
            request = request.header(IF_MODIFIED_SINCE, last_modified);
        }
    }
    let mut response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    match (response.status(), usable) {
        (StatusCode::NOT_MODIFIED, Some(previous)) => return Ok(previous),
        (StatusCode::OK, _) => {}
        (status, _) => return Err(format!("{url}: {status}")),
    }
    let (etag, last_modified) = super::registries::validators(response.headers());
    // To a file, not to memory: an ecosystem's archive is hundreds of MB.
    let mut file = tempfile_in_tmp().map_err(|e| e.to_string())?;
    let mut written: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        written += chunk.len() as u64;
        if written > MAX_ARCHIVE {
            return Err(format!("{url}: larger than {MAX_ARCHIVE} bytes"));
        }
        std::io::Write::write_all(&mut file, &chunk).map_err(|e| e.to_string())?;
    }
    let wanted = keys.clone();
    let source = url.to_owned();
    let (rules, records) =
        tokio::task::spawn_blocking(move || read_archive(file, &wanted, &source))
            .await
            .map_err(|e| e.to_string())??;
    Ok(Fetched {
        etag,
        last_modified,
        keys: keys.clone(),
        rules,
        records,
    })
}

/// An anonymous file in the temporary directory: removed as soon as it is created, so that it
/// goes away with the handle whatever happens.
fn tempfile_in_tmp() -> std::io::Result<std::fs::File> {
    let path = std::env::temp_dir().join(format!("depbadge-osv-{}", uuid::Uuid::new_v4()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// Every `.json` entry of an OSV `all.zip`.
pub fn read_archive(
    mut file: std::fs::File,
    keys: &HashSet<String>,
    source: &str,
) -> Result<(Rules, u64), String> {
    std::io::Seek::rewind(&mut file).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{source}: {e}"))?;
    let mut rules = Rules::new();
    let mut records = 0;
    let mut bytes = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| format!("{source}: {e}"))?;
        if !entry.name().ends_with(".json") {
            continue;
        }
        let name = entry.name().to_owned();
        bytes.clear();
        entry
            .take(MAX_RECORD)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{source}: {name}: {e}"))?;
        records += 1;
        keep(&mut rules, &bytes, keys, &name);
    }
    Ok((rules, records))
}
