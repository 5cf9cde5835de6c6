//! In a real browser, headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! scripts/test installs when they are missing): the badge as a maintainer sees it, an `<img>`
//! in a page; and the front door as a person uses it, driven through ChromeDriver, checked by
//! axe-core (npm, injected into each page) and photographed at 1280 and 360 pixels wide.

use std::path::{Path, PathBuf};

use depbadge::badge::Style;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::front_door::element_text;
use crate::helpers::{TOKEN, TestApp, minutes_ago, report_at, spawn_app, spec_example};
use crate::private::create_key;

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

/// Where the pictures of the pages go (`target/tmp/front-door/`), for people to look at.
fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("front-door");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless Chromium driven through its own ChromeDriver, with a viewport `width` pixels wide.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(width: u32) -> Self {
        let driver_path =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            Path::new(&driver_path).is_file(),
            "ChromeDriver not found at {driver_path}: install Debian's chromium-driver (scripts/test does) or set CHROMEDRIVER"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "mobileEmulation": { "deviceMetrics": { "width": width, "height": 900, "pixelRatio": 1.0 } },
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        // ChromeDriver listens a moment after it starts: tried until it answers (a bound on
        // tries, not on time: a slow machine only makes this loop longer).
        let mut last_error = None;
        for _ in 0..600 {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                    };
                }
                Err(error) => {
                    last_error = Some(error);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        panic!("ChromeDriver never answered: {last_error:?}");
    }

    async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits until `condition` (a JavaScript expression) is true.
    async fn until(&self, condition: &str) {
        let script = format!("return !!({condition});");
        for _ in 0..400 {
            if self.eval(&script).await == json!(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("never true in the page: {condition}");
    }

    /// Runs axe-core in the page; the serious and critical violations, one line each.
    async fn serious_violations(&self) -> Vec<String> {
        let axe = std::env::var("AXE_CORE").unwrap_or_else(|_| {
            format!(
                "{}/../browser-tools/node_modules/axe-core/axe.min.js",
                env!("CARGO_TARGET_TMPDIR")
            )
        });
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!("axe-core not at {axe} ({e}): scripts/test installs it, or set AXE_CORE")
        });
        self.eval(&source).await;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                                              nodes: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done([{ id: 'axe failed', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .unwrap();
        found
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v["id"], v["impact"], v["help"], v["nodes"]
                )
            })
            .collect()
    }

    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(css)).await.unwrap()
    }

    /// Chooses `value` in the select `css`, as a person does with the list.
    async fn select(&self, css: &str, value: &str) {
        self.element(css)
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Types `text` into the field `css`, key by key.
    async fn type_into(&self, css: &str, text: &str) {
        self.element(css).await.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    async fn text_of(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    async fn attribute_of(&self, css: &str, name: &str) -> Option<String> {
        self.element(css).await.attr(name).await.unwrap()
    }
}

/// A project with one vulnerable and one outdated dependency, and a few others for the list.
async fn front_door_app(pool: PgPool) -> TestApp {
    let app = spawn_app(pool).await;
    app.put_report("github.com/Rust-Lang/Cargo", &spec_example())
        .await;
    let analyzed = minutes_ago(90);
    for (i, version) in ["5.0.0", "1.0.0", "5.0.0", "4.9.0"].iter().enumerate() {
        app.put_report(
            &format!("github.com/demo/app-{i}"),
            &report_at(&analyzed, version, 3 + i),
        )
        .await;
    }
    app
}

/// The four pages of the front door, with the element the builder's picture is of.
const PAGES: [(&str, &str); 4] = [
    ("home", "/"),
    ("project", "/projects/github.com/rust-lang/cargo"),
    (
        "builder",
        "/projects/github.com/rust-lang/cargo?style=for-the-badge&label=deps&color=blue",
    ),
    ("not-found", "/no/such/page"),
];

#[sqlx::test]
async fn every_front_door_page_passes_axe_at_1280_and_360_pixels_and_is_photographed(pool: PgPool) {
    let app = front_door_app(pool).await;
    let dir = screenshots_dir();
    let mut failures = Vec::new();
    for width in [1280, 360] {
        let browser = Browser::start(width).await;
        for (name, path) in PAGES {
            browser.client.goto(&app.url(path)).await.unwrap();
            browser.until("document.readyState === 'complete'").await;
            assert_eq!(
                browser.eval("return window.innerWidth;").await,
                json!(width),
                "the viewport of {name}"
            );
            for violation in browser.serious_violations().await {
                failures.push(format!("{name} at {width}px: {violation}"));
            }
            // Readable on a phone: nothing wider than the screen, so no sideways scrolling.
            let overflow = browser
                .eval("return document.documentElement.scrollWidth - window.innerWidth;")
                .await;
            if overflow.as_i64() != Some(0) {
                failures.push(format!(
                    "{name} at {width}px: {overflow} pixels wider than the window"
                ));
            }
            let png = if name == "builder" {
                let builder = browser
                    .element("section[aria-labelledby=builder-heading]")
                    .await;
                builder.screenshot().await.unwrap()
            } else {
                browser.client.screenshot().await.unwrap()
            };
            assert!(png.starts_with(b"\x89PNG"), "{name} at {width}px");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
        }
        browser.client.close().await.unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[sqlx::test]
async fn typing_a_repository_address_into_the_home_page_form_opens_the_project_page(pool: PgPool) {
    let app = front_door_app(pool).await;
    let browser = Browser::start(1280).await;
    let cases = [
        (
            "https://github.com/rust-lang/cargo/tree/master/src\n",
            "/projects/github.com/rust-lang/cargo",
            "github.com/Rust-Lang/Cargo",
        ),
        (
            "git@github.com:demo/app-1.git\n",
            "/projects/github.com/demo/app-1",
            "github.com/demo/app-1",
        ),
        (
            "https://github.com/nobody/nothing.git\n",
            "/projects/github.com/nobody/nothing",
            "github.com/nobody/nothing",
        ),
    ];
    // Keyboard focus is visible: the first Tab reaches the home link, then the lookup field,
    // each drawn with an outline.
    browser.client.goto(&app.url("/")).await.unwrap();
    browser.until("document.readyState === 'complete'").await;
    for expected in ["A", "INPUT"] {
        browser
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        assert_eq!(
            browser.eval("return document.activeElement.tagName;").await,
            json!(expected)
        );
        let outline = browser
            .eval("const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth;")
            .await;
        assert_eq!(outline, json!("solid 3px"), "focus on {expected}");
    }
    for (typed, path, heading) in cases {
        browser.client.goto(&app.url("/")).await.unwrap();
        // Reached from its label, as a screen reader or a click on the label would.
        assert_eq!(
            browser.text_of("label[for=lookup]").await,
            "Repository address or project slug"
        );
        browser.type_into("#lookup", typed).await;
        browser
            .until(&format!("location.pathname === {}", json!(path)))
            .await;
        browser.until("document.readyState === 'complete'").await;
        assert_eq!(browser.text_of("h1").await, heading, "{typed}");
    }
    // The one nobody reported says so, and how to send a first report.
    let main = browser.text_of("main").await;
    assert!(
        main.contains("Nothing is reported for github.com/nobody/nothing yet"),
        "{main}"
    );
    assert!(
        main.contains("/v1/projects/github.com/nobody/nothing"),
        "{main}"
    );

    // What names no repository: the form again, saying why, with what was typed.
    browser.client.goto(&app.url("/")).await.unwrap();
    browser
        .type_into("#lookup", "ftp://example.com/a/b\n")
        .await;
    browser.until("location.pathname === '/lookup'").await;
    browser.until("document.readyState === 'complete'").await;
    assert!(
        browser
            .text_of("#lookup-error")
            .await
            .contains("only http, https, ssh and git addresses")
    );
    assert_eq!(
        browser.attribute_of("#lookup", "value").await.as_deref(),
        Some("ftp://example.com/a/b")
    );
    browser.client.close().await.unwrap();
}

/// What the builder's snippets must be for a badge URL and a page URL.
fn expected_snippets(badge: &str, page: &str) -> [(&'static str, String); 4] {
    [
        (
            "snippet-markdown",
            format!("[![dependencies]({badge})]({page})"),
        ),
        (
            "snippet-html",
            format!(
                "<a href=\"{page}\"><img src=\"{}\" alt=\"dependencies\"></a>",
                badge.replace('&', "&amp;")
            ),
        ),
        (
            "snippet-rst",
            format!(".. image:: {badge}\n   :target: {page}\n   :alt: dependencies"),
        ),
        (
            "snippet-asciidoc",
            format!("image:{badge}[dependencies,link=\"{page}\"]"),
        ),
    ]
}

#[sqlx::test]
async fn the_builder_follows_every_option_as_you_type_and_agrees_with_the_server(pool: PgPool) {
    let app = front_door_app(pool).await;
    let browser = Browser::start(1280).await;
    let base = format!("http://{}", app.address);
    let path = "/projects/github.com/rust-lang/cargo";
    browser.client.goto(&app.url(path)).await.unwrap();
    browser.until("document.readyState === 'complete'").await;
    // The script shows the copy buttons (hidden without it).
    assert_eq!(browser.eval("return [...document.querySelectorAll('button[data-copy]')].filter(b => !b.hidden).length;").await, json!(4));
    let heading_top =
        "return document.getElementById('head-markdown').getBoundingClientRect().top;";
    let top_before = browser.eval(heading_top).await;

    let badge_path = "/badges/github.com/Rust-Lang/Cargo.svg";
    let page_url = format!("{base}/projects/github.com/Rust-Lang/Cargo");
    let check = |query: &'static str| {
        let browser = &browser;
        let page_url = page_url.clone();
        let base = base.clone();
        async move {
            browser
                .until(&format!(
                    "document.getElementById('preview').getAttribute('src') === {}",
                    json!(format!("{badge_path}{query}"))
                ))
                .await;
            for (id, expected) in
                expected_snippets(&format!("{base}{badge_path}{query}"), &page_url)
            {
                assert_eq!(
                    browser.text_of(&format!("#{id}")).await,
                    expected,
                    "{id} for {query:?}"
                );
            }
            // The address follows, so that a reload or a shared link keeps the options.
            assert_eq!(browser.eval("return location.search;").await, json!(query));
        }
    };

    // The style, chosen as a person does: with the select.
    browser.select("#b-style", "for-the-badge").await;
    check("?style=for-the-badge").await;
    browser.until("document.getElementById('preview').complete && document.getElementById('preview').naturalHeight === 28").await;
    assert_eq!(
        browser.eval(heading_top).await,
        top_before,
        "the taller preview moved nothing below it"
    );

    browser.select("#b-scope", "dev").await;
    check("?style=for-the-badge&scope=dev").await;
    browser.type_into("#b-label", "deps & co").await;
    check("?style=for-the-badge&scope=dev&label=deps+%26+co").await;
    browser.click("label[for=b-compact]").await;
    check("?style=for-the-badge&scope=dev&label=deps+%26+co&compact=true").await;
    browser.type_into("#b-color", "orange").await;
    browser.type_into("#b-label-color", "#555").await;
    let query = "?style=for-the-badge&scope=dev&label=deps+%26+co&compact=true&color=orange&labelColor=%23555";
    check(query).await;

    // The server, asked for the page with the same query (the form without script), writes the
    // same snippets.
    let served = app.get_text(&format!("{path}{query}")).await;
    for (id, _) in expected_snippets("", "") {
        assert_eq!(
            element_text(&served, id),
            browser.text_of(&format!("#{id}")).await,
            "{id}"
        );
    }
    // And the preview is the badge with those options.
    let svg = app.get_text(&format!("{badge_path}{query}")).await;
    assert!(svg.contains(">DEPS &amp; CO<"), "{svg}");

    // A copy button answers (copied, or where the clipboard is refused, how to copy by hand).
    browser.click("button[data-copy=snippet-markdown]").await;
    browser.until("document.querySelector('button[data-copy=snippet-markdown]').textContent !== 'Copy Markdown'").await;
    browser.client.close().await.unwrap();
}

/// A private project's page keeps its key through the builder, in the browser too.
#[sqlx::test]
async fn a_private_projects_builder_keeps_the_key_in_every_snippet(pool: PgPool) {
    let app = spawn_app(pool).await;
    let created = app
        .put_private_report("github.com/acme/secret", &spec_example())
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let (_, key) = create_key(&app, "github.com/acme/secret", TOKEN).await;
    let browser = Browser::start(1280).await;
    browser
        .client
        .goto(&app.url(&format!("/projects/github.com/acme/secret?key={key}")))
        .await
        .unwrap();
    browser.until("document.readyState === 'complete'").await;
    browser.select("#b-style", "plastic").await;
    let query = format!("?style=plastic&key={key}");
    browser
        .until(&format!("location.search === {}", json!(query)))
        .await;
    let base = format!("http://{}", app.address);
    for (id, expected) in expected_snippets(
        &format!("{base}/badges/github.com/acme/secret.svg{query}"),
        &format!("{base}/projects/github.com/acme/secret?key={key}"),
    ) {
        assert_eq!(browser.text_of(&format!("#{id}")).await, expected, "{id}");
    }
    // The preview loads: the key reached the badge.
    browser.until("document.getElementById('preview').complete && document.getElementById('preview').naturalWidth > 0").await;
    assert!(browser.serious_violations().await.is_empty());
    browser.client.close().await.unwrap();
}
