//! The badge as a maintainer sees it: an `<img>` in a page, rendered by headless Chromium
//! (Debian's `chromium`, which scripts/test installs when it is missing).

use std::path::{Path, PathBuf};

use depbadge::badge::Style;
use sqlx::PgPool;

use crate::helpers::{minutes_ago, report_at, spawn_app, spec_example};

fn chromium() -> PathBuf {
    let candidates = [
        std::env::var("CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("headless Chromium not found: install Debian's chromium (scripts/test does) or set CHROMIUM"))
}

/// Runs Chromium headless on `page` with the flags this machine's closed network needs.
async fn run_chromium(profile: &Path, page: &Path, mode: &[&str]) -> String {
    let output = tokio::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--virtual-time-budget=10000")
        .args(mode)
        .arg(format!("file://{}", page.display()))
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[sqlx::test]
async fn badges_render_as_images_in_headless_chromium(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/rust-lang/cargo", &spec_example())
        .await;
    app.put_report(
        "github.com/demo/fresh",
        &report_at(&minutes_ago(120), "5.0.0", 3),
    )
    .await;

    let mut rows = String::new();
    let mut badges = Vec::new();
    for style in Style::ALL {
        for slug in ["github.com/rust-lang/cargo", "github.com/demo/fresh"] {
            badges.push(format!("/badges/{slug}.svg?style={}", style.as_str()));
        }
        let [outdated, fresh] = [&badges[badges.len() - 2], &badges[badges.len() - 1]];
        rows.push_str(&format!(
            "<tr><td>{}</td><td><img src=\"http://{addr}{outdated}\"></td><td><img src=\"http://{addr}{fresh}\"></td></tr>\n",
            style.as_str(),
            addr = app.address,
        ));
    }
    badges.push("/badge/static-badge-blue.svg".to_owned());
    badges.push("/badges/not-a-slug.svg".to_owned());
    rows.push_str(&format!(
        "<tr><td>static, invalid</td><td><img src=\"http://{addr}/badge/static-badge-blue.svg\"></td><td><img src=\"http://{addr}/badges/not-a-slug.svg\"></td></tr>\n",
        addr = app.address
    ));
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font: 14px sans-serif; margin: 16px; background: #fff; }} td {{ padding: 6px 12px; white-space: nowrap; }}
</style></head><body><table>{rows}</table><script>
window.addEventListener('load', () => {{
  document.body.setAttribute('data-sizes', [...document.images].map(i => i.naturalWidth + 'x' + i.naturalHeight).join(' '));
}});
</script></body></html>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let page_path = dir.path().join("badges.html");
    std::fs::write(&page_path, page).unwrap();

    // Each image must have loaded with exactly the size its SVG declares.
    let mut expected = Vec::new();
    for badge in &badges {
        let svg = app.get_text(badge).await;
        let document = roxmltree::Document::parse(&svg).unwrap();
        let root = document.root_element();
        // for-the-badge widths have fractions (as badge-maker's do); browsers round them.
        let size = |name: &str| {
            root.attribute(name)
                .unwrap()
                .parse::<f64>()
                .unwrap()
                .round()
        };
        expected.push(format!("{}x{}", size("width"), size("height")));
    }
    let dom = run_chromium(&dir.path().join("profile"), &page_path, &["--dump-dom"]).await;
    let sizes = dom
        .split("data-sizes=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the page's load handler did not run:\n{dom}"));
    assert_eq!(
        sizes.split(' ').collect::<Vec<_>>(),
        expected,
        "rendered image sizes (0x0 means the image did not load)"
    );

    // A picture of every style, for people (the README's screenshot is made this way).
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("badge-styles.png");
    let _ = std::fs::remove_file(&screenshot);
    run_chromium(
        &dir.path().join("profile"),
        &page_path,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=720,330",
        ],
    )
    .await;
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "screenshot {} looks empty",
        screenshot.display()
    );
}
