//! The commands for CI jobs (docs/contract.md §7): `depbadge report` turns tool outputs into one
//! report; `depbadge push` sends one to the server, retrying what is safe to retry (a PUT is
//! idempotent). Neither needs a database or the server's configuration.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::Failure;
use crate::domain::report::tools::{Merged, Tool, ToolOutput};
use crate::domain::{ReportInput, Visibility};

/// The most a single input may be: tool outputs of very large projects stay far below it.
const MAX_INPUT_BYTES: u64 = 64 << 20;
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(10);
/// How long one attempt may take before it counts as a connection error.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// `depbadge report FILE…`: one depbadge report on stdout.
pub fn report(files: &[PathBuf]) -> Result<(), Failure> {
    let report = merge(&read_inputs(files)?)?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::Run(e.to_string()))?;
    println!("{json}");
    Ok(())
}

/// `depbadge push SLUG [FILE…]`.
/// `visibility`, when given, is sent as `?visibility=`, which the server reads for every format.
pub async fn push(
    slug: &str,
    files: &[PathBuf],
    max_time: Duration,
    visibility: Option<Visibility>,
) -> Result<(), Failure> {
    let url = setting("DEPBADGE_URL")?
        .ok_or_else(|| Failure::Run("set DEPBADGE_URL to the server's base URL".to_owned()))?;
    let token = setting("DEPBADGE_TOKEN")?.ok_or_else(|| {
        Failure::Run("set DEPBADGE_TOKEN (or DEPBADGE_TOKEN_FILE) to an API token".to_owned())
    })?;
    let inputs = read_inputs(files)?;
    // One BOM is sent as it is (the server reads BOMs); anything else becomes one report.
    let (body, content_type) = match inputs.as_slice() {
        [(_, json)] if Tool::detect(json) == Some(Tool::CycloneDx) => {
            (json.to_string(), "application/vnd.cyclonedx+json")
        }
        _ => {
            let report = merge(&inputs)?;
            let body = serde_json::to_string(&report).map_err(|e| Failure::Run(e.to_string()))?;
            (body, "application/json")
        }
    };
    let endpoint = format!(
        "{}/v1/projects/{}{}",
        url.trim_end_matches('/'),
        project_path(slug.trim_matches('/')),
        visibility.map_or(String::new(), |v| format!("?visibility={v}"))
    );
    send(&endpoint, &token, content_type, body, max_time).await
}

/// The slug as written after `/v1/projects/`: one that ends in `keys` or `keys/<UUID>` has its
/// `k` escaped, so that the server reads a project, not its read keys' route.
fn project_path(slug: &str) -> String {
    let segments: Vec<&str> = slug.split('/').collect();
    let escape_at = match segments.as_slice() {
        [.., last] if last.eq_ignore_ascii_case("keys") => Some(segments.len() - 1),
        [.., keys, id]
            if keys.eq_ignore_ascii_case("keys") && uuid::Uuid::try_parse(id).is_ok() =>
        {
            Some(segments.len() - 2)
        }
        _ => None,
    };
    segments
        .iter()
        .enumerate()
        .map(|(i, segment)| {
            if Some(i) == escape_at {
                // `keys` in any case: four ASCII letters.
                let first = segment.as_bytes().first().copied().unwrap_or(b'k');
                format!("%{first:02X}{}", segment.get(1..).unwrap_or("eys"))
            } else {
                (*segment).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn read_inputs(files: &[PathBuf]) -> Result<Vec<(String, Value)>, Failure> {
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    files
        .iter()
        .map(|file| {
            let name = if file == Path::new("-") {
                "stdin".to_owned()
            } else {
                file.display().to_string()
            };
            let mut text = String::new();
            let read = if file == Path::new("-") {
                std::io::stdin()
                    .take(MAX_INPUT_BYTES)
                    .read_to_string(&mut text)
            } else {
                std::fs::File::open(file)
                    .and_then(|f| f.take(MAX_INPUT_BYTES).read_to_string(&mut text))
            };
            read.map_err(|e| Failure::Run(format!("{name}: {e}")))?;
            // Some tools print a stream of documents (`go list -m -json`, `cargo outdated` on a
            // workspace): several become an array.
            let mut documents = serde_json::Deserializer::from_str(&text)
                .into_iter::<Value>()
                .collect::<Result<Vec<Value>, _>>()
                .map_err(|e| {
                    Failure::Run(format!(
                        "{name}: not JSON ({e}); give each tool's JSON output, one per file"
                    ))
                })?;
            let json = match documents.len() {
                0 => return Err(Failure::Run(format!("{name}: empty"))),
                1 => documents.remove(0),
                _ => Value::Array(documents),
            };
            Ok((name, json))
        })
        .collect()
}

/// One report from every input; refused (naming the inputs) when it would list nothing that the
/// inputs did not say is nothing.
fn merge(inputs: &[(String, Value)]) -> Result<ReportInput, Failure> {
    let mut merged = Merged::default();
    for (name, json) in inputs {
        let tool = merged
            .add(ToolOutput {
                source: name,
                json: json.clone(),
            })
            .map_err(|e| Failure::Run(e.to_string()))?;
        eprintln!("depbadge: {name}: read as {}", tool.name());
    }
    merged
        .into_report()
        .map_err(|e| Failure::Run(e.to_string()))
}

/// `NAME`, or the content of the file `NAME_FILE` names, as the server's settings are read.
fn setting(name: &str) -> Result<Option<String>, Failure> {
    crate::config::variable_or_file(name).map_err(|e| Failure::Run(e.to_string()))
}

/// PUTs the report, retrying connection errors, 429 and 5xx with exponential backoff and full
/// jitter (or the server's `Retry-After`), until `max_time` has passed.
async fn send(
    endpoint: &str,
    token: &str,
    content_type: &str,
    body: String,
    max_time: Duration,
) -> Result<(), Failure> {
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|e| Failure::Run(e.to_string()))?;
    let started = Instant::now();
    let mut backoff = FIRST_RETRY;
    for attempt in 1.. {
        let sent = client
            .put(endpoint)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await;
        let (why, retry_after) = match sent {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                match status {
                    StatusCode::OK | StatusCode::CREATED => {
                        println!(
                            "{} {}: {} ({})",
                            status.as_u16(),
                            answer["slug"].as_str().unwrap_or(endpoint),
                            answer["status"].as_str().unwrap_or("?"),
                            if answer["changed"] == Value::Bool(false) {
                                "unchanged"
                            } else {
                                "stored"
                            }
                        );
                        return Ok(());
                    }
                    StatusCode::CONFLICT => {
                        println!(
                            "409: a newer report is already stored; nothing to do ({})",
                            answer["error"]["message"].as_str().unwrap_or("")
                        );
                        return Ok(());
                    }
                    status
                        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
                    {
                        (
                            format!("the server answered {}", status.as_u16()),
                            retry_after,
                        )
                    }
                    status => {
                        let error = &answer["error"];
                        return Err(Failure::Run(format!(
                            "refused with {}: {}{}: {}",
                            status.as_u16(),
                            error["code"].as_str().unwrap_or("unknown"),
                            error["field"]
                                .as_str()
                                .map(|f| format!(" at {f}"))
                                .unwrap_or_default(),
                            error["message"].as_str().unwrap_or("(no message)")
                        )));
                    }
                }
            }
            // A request that cannot even be built (a token with a line break, a bad URL) fails
            // the same way every time: no retry.
            Err(error) if error.is_builder() => {
                return Err(Failure::Run(format!(
                    "cannot build the request to {endpoint}: {error} (check DEPBADGE_URL, and that \
                     the token is one line)"
                )));
            }
            Err(error) => (format!("cannot reach the server: {error}"), None),
        };
        // Full jitter spreads the retries of many CI jobs; the server's word wins.
        let wait = retry_after
            .unwrap_or_else(|| backoff.mul_f64(fastrand::f64()))
            .min(MAX_RETRY);
        if started.elapsed() + wait >= max_time {
            return Err(Failure::Run(format!(
                "{why}; gave up after {attempt} attempts in {}",
                humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()))
            )));
        }
        eprintln!(
            "depbadge: {why}; retrying in {} ms (attempt {attempt})",
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_RETRY);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_that_ends_like_a_key_route_is_escaped() {
        let id = "0b0e6b6c-4a4e-4c57-9d3e-6f1f2a3b4c5d";
        for (slug, path) in [
            ("github.com/a/b", "github.com/a/b".to_owned()),
            ("github.com/a/keys", "github.com/a/%6Beys".to_owned()),
            ("github.com/a/Keys", "github.com/a/%4Beys".to_owned()),
            ("github.com/keys/b", "github.com/keys/b".to_owned()),
            (
                &format!("github.com/a/keys/{id}") as &str,
                format!("github.com/a/%6Beys/{id}"),
            ),
            ("github.com/a/keys/x", "github.com/a/keys/x".to_owned()),
            ("", String::new()),
        ] {
            assert_eq!(project_path(slug), path, "{slug}");
        }
    }
}
