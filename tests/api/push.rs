//! `depbadge report` and `depbadge push` (docs/contract.md §7), as a CI job runs them: the real
//! binary, real tool outputs, a real server.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sqlx::PgPool;

use crate::binary::{BINARY, Server, clock_env, start, wait_for};
use crate::helpers::{TOKEN, database_url, days_ago};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reports");

/// Runs `depbadge ARGS` as a CI job would: only its own environment, `stdin` piped in.
fn depbadge(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(clock_env())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn fetch(server: &Server, path: &str) -> String {
    reqwest::get(server.url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn badge(server: &Server, path: &str) -> String {
    let svg = fetch(server, path).await;
    let start = svg.find("aria-label=\"").unwrap() + "aria-label=\"".len();
    svg[start..].split('"').next().unwrap().to_owned()
}

async fn serving(pool: &PgPool) -> (Server, Vec<(&'static str, String)>) {
    let server = start(&database_url(pool), &[]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let env = vec![
        ("DEPBADGE_URL", format!("http://{}", server.address)),
        ("DEPBADGE_TOKEN", TOKEN.to_owned()),
    ];
    (server, env)
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `npm ls` + `npm outdated` through `report | push`: the badge says what npm said, 3 of the
/// 5 direct dependencies outdated.
#[sqlx::test]
async fn report_piped_into_push_makes_the_badge_npm_would(pool: PgPool) {
    let (server, env) = serving(&pool).await;
    let env = env_refs(&env);
    let ls = format!("{FIXTURES}/npm-11.19.1/ls.json");
    let outdated = format!("{FIXTURES}/npm-11.19.1/outdated.json");
    let report = depbadge(&["report", &ls, &outdated], &[], b"");
    assert!(report.status.success(), "{}", text(&report.stderr));

    let pushed = depbadge(
        &["push", "github.com/ci/npm-app", "-"],
        &env,
        &report.stdout,
    );
    assert!(pushed.status.success(), "{}", text(&pushed.stderr));
    assert!(
        text(&pushed.stdout).starts_with("201"),
        "{}",
        text(&pushed.stdout)
    );
    assert_eq!(
        badge(&server, "/badges/github.com/ci/npm-app.svg?scope=all").await,
        "dependencies: 3 of 5 outdated"
    );
    // Which tools made the report: in the document and on the page.
    let document: serde_json::Value =
        serde_json::from_str(&fetch(&server, "/v1/projects/github.com/ci/npm-app").await).unwrap();
    assert_eq!(
        document["tools"],
        serde_json::json!([{ "name": "npm ls --json" }, { "name": "npm outdated --json" }])
    );
    let page = fetch(&server, "/projects/github.com/ci/npm-app").await;
    assert!(
        page.contains("Reported by npm ls --json, npm outdated --json."),
        "{page}"
    );

    // The tool outputs given to push directly: the same report, nothing changed.
    let again = depbadge(
        &["push", "github.com/ci/npm-app", &ls, &outdated],
        &env,
        b"",
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("unchanged"),
        "{}",
        text(&again.stdout)
    );

    // A BOM is sent as one; the token from a mounted secret file, newline and all. The empty
    // DEPBADGE_TOKEN beside it (what a CI system sets for a secret it lacks) counts as unset.
    let sbom = format!("{FIXTURES}/npm-11.19.1/sbom.json");
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), format!("{TOKEN}\n")).unwrap();
    let token_file = secret.path().to_str().unwrap();
    let bom = depbadge(
        &["push", "github.com/ci/npm-sbom", &sbom],
        &[
            ("DEPBADGE_URL", env[0].1),
            ("DEPBADGE_TOKEN_FILE", token_file),
            ("DEPBADGE_TOKEN", ""),
        ],
        b"",
    );
    assert!(bom.status.success(), "{}", text(&bom.stderr));
    assert_eq!(
        badge(&server, "/badges/github.com/ci/npm-sbom.svg?scope=all").await,
        "dependencies: unknown"
    );
    let page = fetch(&server, "/projects/github.com/ci/npm-sbom").await;
    assert!(page.contains("Reported by npm cli 11.19.1."), "{page}");
}

#[sqlx::test]
async fn push_exits_0_on_a_newer_report_and_1_with_the_error_on_a_refusal(pool: PgPool) {
    let (_server, env) = serving(&pool).await;
    let env = env_refs(&env);
    let report = |days: i64, purl: &str| {
        format!(
            r#"{{"analyzed_at":"{}","dependencies":[{{"purl":"{purl}","latest":"2.0.0"}}]}}"#,
            days_ago(days)
        )
    };
    let slug = "github.com/ci/ordered";
    let newer = depbadge(
        &["push", slug],
        &env,
        report(1, "pkg:npm/a@1.0.0").as_bytes(),
    );
    assert!(newer.status.success(), "{}", text(&newer.stderr));
    let late = depbadge(
        &["push", slug],
        &env,
        report(5, "pkg:npm/a@0.9.0").as_bytes(),
    );
    assert!(late.status.success(), "{}", text(&late.stderr));
    assert!(
        text(&late.stdout).contains("newer report"),
        "{}",
        text(&late.stdout)
    );

    let refused = depbadge(&["push", slug], &env, report(0, "npm/a@1.0.0").as_bytes());
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("422")
            && stderr.contains("invalid_purl")
            && stderr.contains("dependencies[0].purl"),
        "{stderr}"
    );

    let push_with_token = |token: &str| {
        depbadge(
            &["push", slug],
            &[("DEPBADGE_URL", env[0].1), ("DEPBADGE_TOKEN", token)],
            report(0, "pkg:npm/a@1.0.0").as_bytes(),
        )
    };
    let wrong_token = push_with_token("not-a-token");
    assert_eq!(wrong_token.status.code(), Some(1));
    // A token that is not one line cannot be sent: said at once, not retried.
    let two_lines = push_with_token("first\nsecond");
    assert_eq!(two_lines.status.code(), Some(1));
    let stderr = text(&two_lines.stderr);
    assert!(
        stderr.contains("cannot build the request") && !stderr.contains("retrying"),
        "{stderr}"
    );
    assert!(
        text(&wrong_token.stderr).contains("refused with 401: unauthorized"),
        "{}",
        text(&wrong_token.stderr)
    );
}

/// A server that answers 503 with Retry-After (its database down) is retried until it takes
/// the report; a server nobody runs is retried until the time is up, then push fails.
#[sqlx::test]
async fn push_retries_until_the_server_takes_the_report_or_time_is_up(pool: PgPool) {
    let switch = crate::outage::DatabaseSwitch::start(&pool, false).await;
    let options = pool.connect_options();
    let url = database_url(&pool).replacen(
        &format!("{}:{}", options.get_host(), options.get_port()),
        &format!("127.0.0.1:{}", switch.port),
        1,
    );
    let server = start(&url, &[]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
    let base = format!("http://{}", server.address);
    let env = [("DEPBADGE_URL", base.as_str()), ("DEPBADGE_TOKEN", TOKEN)];
    let body = r#"{"dependencies":[{"purl":"pkg:npm/a@1.0.0","latest":"1.0.0"}]}"#;

    let pushing = {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        std::thread::spawn(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            depbadge(
                &["push", "github.com/ci/retried", "--max-time", "60s"],
                &env,
                body.as_bytes(),
            )
        })
    };
    // The first attempt meets a database that is down: 503, Retry-After: 5. The database comes
    // back once the server has logged that answer.
    let refused = server
        .wait_for_line(r#""status":503"#, Duration::from_secs(60))
        .await;
    assert!(refused.contains(r#""method":"PUT""#), "{refused}");
    switch.restore();
    let pushed = tokio::task::spawn_blocking(move || pushing.join().unwrap())
        .await
        .unwrap();
    let stderr = text(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    assert!(
        stderr.contains("the server answered 503; retrying in 5000 ms"),
        "{stderr}"
    );
    assert!(
        text(&pushed.stdout).starts_with("201"),
        "{}",
        text(&pushed.stdout)
    );

    // A port held (bound, never listening) for the test: connections to it are refused.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let nobody = format!("http://{}", held.local_addr().unwrap());
    let failed = depbadge(
        &["push", "github.com/ci/retried", "--max-time", "3s"],
        &[("DEPBADGE_URL", nobody.as_str()), ("DEPBADGE_TOKEN", TOKEN)],
        body.as_bytes(),
    );
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(stderr.contains("cannot reach the server"), "{stderr}");
    assert!(stderr.matches("retrying in").count() >= 2, "{stderr}");
}

/// Outputs that would make a green `none` badge for a project with dependencies: `report` exits
/// 1 naming the file and what to run, and `push` stores nothing (a BOM is refused by the server,
/// naming `components`).
#[sqlx::test]
async fn inputs_that_list_no_usable_dependency_are_refused_and_nothing_is_stored(pool: PgPool) {
    let no_deps = format!("{FIXTURES}/cargo-1.95.0/metadata-no-deps.json");
    let refused = depbadge(&["report", &no_deps], &[], b"");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains(&format!("{no_deps}: `resolve` is null"))
            && stderr.contains("without --no-deps"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty(), "no report is printed");

    let not_installed = format!("{FIXTURES}/npm-11.19.1-not-installed/ls-no-node-modules.json");
    let refused = depbadge(&["report", &not_installed], &[], b"");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("not installed"),
        "{}",
        text(&refused.stderr)
    );

    let (server, env) = serving(&pool).await;
    let env = env_refs(&env);
    let pushed = depbadge(&["push", "github.com/ci/nothing", &no_deps], &env, b"");
    assert_eq!(pushed.status.code(), Some(1));
    let bom = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"purl":"nope"}]}"#;
    let pushed = depbadge(&["push", "github.com/ci/nothing", "-"], &env, bom);
    assert_eq!(pushed.status.code(), Some(1));
    let stderr = text(&pushed.stderr);
    assert!(
        stderr.contains("refused with 422: invalid_bom at components"),
        "{stderr}"
    );
    assert_eq!(
        badge(&server, "/badges/github.com/ci/nothing.svg").await,
        "dependencies: unknown"
    );
}
