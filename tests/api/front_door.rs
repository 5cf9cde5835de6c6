//! The front door over HTTP (docs/contract.md §13): the home page and its list, the lookup form's
//! answers, HTML 404s for browsers, the favicon and the builder's script, and the builder as a
//! plain GET form. tests/api/browser.rs runs the same pages in Chromium.

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TOKEN, TestApp, minutes_ago, report_at, spawn_app, spec_example};
use crate::private::create_key;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The text of the element with `id` (a snippet's `<pre>`), unescaped as a browser shows it.
pub fn element_text(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let open_end = start + page[start..].find('>').unwrap() + 1;
    let close = open_end + page[open_end..].find("</").unwrap();
    unescape(&page[open_end..close])
}

/// What askama's escaping (`&#NN;` and the named entities) stood for, in one pass.
pub fn unescape(text: &str) -> String {
    const ENTITIES: [(&str, char); 10] = [
        ("&#60;", '<'),
        ("&#62;", '>'),
        ("&#34;", '"'),
        ("&#39;", '\''),
        ("&#38;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#x27;", '\''),
        ("&amp;", '&'),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ENTITIES.iter().find(|(entity, _)| rest.starts_with(entity)) {
            Some((entity, c)) => {
                out.push(*c);
                rest = &rest[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// The slugs the home page's table links to, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<td><a href=\"/projects/")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The href of the link whose text is `text`.
fn link(page: &str, text: &str) -> Option<String> {
    let end = page.find(&format!(">{text}</a>"))?;
    let start = page[..end].rfind("href=\"")? + 6;
    Some(unescape(&page[start..start + page[start..].find('"')?]))
}

#[sqlx::test]
async fn the_home_page_lists_public_projects_by_status_a_page_at_a_time_and_never_private_ones(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let analyzed = minutes_ago(30);
    let mut outdated = Vec::new();
    for i in 0..30 {
        let slug = format!("github.com/listed/p{i:02}");
        // Every sixth project is behind; the other 25 are up to date.
        let version = if i % 6 == 0 { "1.0.0" } else { "5.0.0" };
        assert!(
            app.put_report(&slug, &report_at(&analyzed, version, 2))
                .await
                .status()
                .is_success()
        );
        if i % 6 == 0 {
            outdated.push(slug);
        }
    }
    let private = app
        .put_private_report("github.com/listed/secret", &spec_example())
        .await;
    assert_eq!(private.status().as_u16(), 201);

    let (status, content_type, first) = get(&app, "/", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(
        first.contains("<form class=\"lookup\" role=\"search\" method=\"get\" action=\"/lookup\">"),
        "{first}"
    );
    assert!(
        first.contains(&format!("depbadge {}", env!("CARGO_PKG_VERSION"))),
        "the version"
    );
    assert!(first.contains("<img src=\"/badges/github.com/listed/p00.svg\" alt=\"dependencies: 2 of 2 outdated\" height=\"20\">"), "{first}");
    // When each was analyzed, to the minute, in UTC.
    let shown = chrono::DateTime::parse_from_rfc3339(&analyzed)
        .unwrap()
        .with_timezone(&chrono::Utc)
        .format("<td>%Y-%m-%d %H:%M UTC</td>")
        .to_string();
    assert_eq!(first.matches(&shown).count(), 25, "{first}");
    let page_one = listed(&first);
    assert_eq!(page_one.len(), 25, "{first}");
    assert!(
        link(&first, "First page").is_none(),
        "the first page links to no first page"
    );
    let next = link(&first, "Next page").expect("a next page");
    let (_, _, second) = get(&app, &next, None).await;
    let page_two = listed(&second);
    assert_eq!(link(&second, "First page").as_deref(), Some("/"));
    assert!(link(&second, "Next page").is_none(), "{second}");
    let all: Vec<String> = page_one.into_iter().chain(page_two).collect();
    let expected: Vec<String> = (0..30)
        .map(|i| format!("github.com/listed/p{i:02}"))
        .collect();
    assert_eq!(all, expected, "every public project once, in slug order");
    assert!(
        !first.contains("secret") && !second.contains("secret"),
        "a private project is never listed"
    );

    let (_, _, filtered) = get(&app, "/?status=out-of-date", None).await;
    assert_eq!(listed(&filtered), outdated);
    assert!(
        filtered.contains("<a href=\"/?status=out-of-date\" aria-current=\"page\">outdated</a>"),
        "{filtered}"
    );
    // Exactly a page: no link to a next one.
    let (_, _, up_to_date) = get(&app, "/?status=up-to-date", None).await;
    assert_eq!(listed(&up_to_date).len(), 25);
    assert!(link(&up_to_date, "Next page").is_none(), "{up_to_date}");
    let (_, _, none) = get(&app, "/?status=vulnerable", None).await;
    assert!(
        listed(&none).is_empty() && none.contains("No public project with this status yet"),
        "the private vulnerable one is not counted: {none}"
    );

    let (status, content_type, bad) = get(&app, "/?status=great", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, "text/html; charset=utf-8")
    );
    assert!(bad.contains("action=\"/lookup\""), "{bad}");
    let (status, _, _) = get(&app, "/?cursor=%3Cnot%20a%20slug%3E", None).await;
    assert_eq!(status, 400);
}

#[sqlx::test]
async fn the_lookup_form_opens_the_project_page_from_a_pasted_address(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = TestApp::no_redirects();
    let cases = [
        ("github.com/owner/repo", "/projects/github.com/owner/repo"),
        (
            "https://github.com/Owner/Repo",
            "/projects/github.com/Owner/Repo",
        ),
        (
            "https://github.com/owner/repo.git",
            "/projects/github.com/owner/repo",
        ),
        (
            "https://github.com/owner/repo/",
            "/projects/github.com/owner/repo",
        ),
        (
            "https://github.com/owner/repo/tree/main/src",
            "/projects/github.com/owner/repo",
        ),
        (
            "git@github.com:owner/repo.git",
            "/projects/github.com/owner/repo",
        ),
        (
            "https://gitlab.com/group/sub/repo/-/tree/main",
            "/projects/gitlab.com/group/sub/repo",
        ),
    ];
    for (typed, location) in cases {
        let response = client
            .get(app.url(&format!(
                "/lookup?{}",
                serde_urlencoded::to_string([("q", typed)]).unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{typed}");
        assert_eq!(response.headers()["location"], location, "{typed}");
    }
    // What names nothing: the form again, with the reason and what was typed (escaped).
    let response = client
        .get(app.url(&format!(
            "/lookup?{}",
            serde_urlencoded::to_string([("q", "ftp://\"><script>x</script>")]).unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>x"), "{page}");
    assert!(
        page.contains("only http, https, ssh and git addresses name a repository"),
        "{page}"
    );
    assert!(
        page.contains("value=\"ftp://&#34;&#62;&#60;script&#62;x&#60;/script&#62;\""),
        "{page}"
    );
    assert!(
        page.contains("aria-describedby=\"lookup-hint lookup-error\""),
        "{page}"
    );
}

#[sqlx::test]
async fn a_browser_gets_an_html_404_with_the_lookup_form_and_api_clients_keep_json(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, content_type, page) = get(&app, "/no/such/page", Some(BROWSER_ACCEPT)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "text/html; charset=utf-8")
    );
    assert!(
        page.contains("<h1>Not Found</h1>") && page.contains("action=\"/lookup\""),
        "{page}"
    );
    for accept in [None, Some("application/json"), Some("*/*")] {
        let (status, content_type, body) = get(&app, "/no/such/page", accept).await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/json"),
            "{accept:?}"
        );
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "not_found", "{body}");
    }
    // The JSON API's own 404s stay JSON whatever the client accepts.
    let (status, content_type, _) =
        get(&app, "/v1/projects/github.com/no/one", Some(BROWSER_ACCEPT)).await;
    assert_eq!((status, content_type.as_str()), (404, "application/json"));
}

#[sqlx::test]
async fn the_favicon_and_the_builders_script_are_served_and_the_csp_names_no_other(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app
        .client
        .get(app.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/x-icon");
    let icon = response.bytes().await.unwrap();
    assert!(
        icon.starts_with(&[0, 0, 1, 0, 1, 0]),
        "an ICO with one image"
    );

    let response = app
        .client
        .get(app.url("/assets/builder.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        include_str!("../../templates/builder.js")
    );

    for path in ["/", "/projects/github.com/a/b", "/lookup?q=x"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        let page = response.text().await.unwrap();
        // No inline script anywhere, and no inline event handler.
        for script in page.split("<script").skip(1) {
            assert!(
                script.starts_with(" src=\"/assets/builder.js\""),
                "{path}: {page}"
            );
        }
        assert!(
            !page.contains(" onclick=") && !page.contains(" onload="),
            "{path}"
        );
    }
}

#[sqlx::test]
async fn the_builder_form_without_script_gives_the_badge_and_snippets_of_its_options(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/Build/Er", &spec_example()).await;
    let query = "style=for-the-badge&label=deps%20%26%20co&compact=true&color=orange&labelColor=555&scope=dev";
    let response = app
        .client
        .get(app.url(&format!("/projects/github.com/build/er?{query}")))
        .header("host", "badges.example.com")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    // The form shows what the query chose.
    assert!(
        page.contains("<option value=\"for-the-badge\" selected>for-the-badge</option>"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"dev\" selected>dev</option>"),
        "{page}"
    );
    assert!(page.contains("value=\"deps &#38; co\""), "{page}");
    assert!(
        page.contains("id=\"b-compact\" name=\"compact\" type=\"checkbox\" value=\"true\" checked"),
        "{page}"
    );
    let badge = "https://badges.example.com/badges/github.com/Build/Er.svg?style=for-the-badge&scope=dev&label=deps+%26+co&compact=true&color=orange&labelColor=555";
    let project = "https://badges.example.com/projects/github.com/Build/Er";
    assert!(page.contains("<img id=\"preview\" src=\"/badges/github.com/Build/Er.svg?style=for-the-badge&#38;scope=dev&#38;label=deps+%26+co&#38;compact=true&#38;color=orange&#38;labelColor=555\""), "{page}");
    assert_eq!(
        element_text(&page, "snippet-markdown"),
        format!("[![dependencies]({badge})]({project})")
    );
    assert_eq!(
        element_text(&page, "snippet-html"),
        format!(
            "<a href=\"{project}\"><img src=\"{}\" alt=\"dependencies\"></a>",
            badge.replace('&', "&amp;")
        )
    );
    assert_eq!(
        element_text(&page, "snippet-rst"),
        format!(".. image:: {badge}\n   :target: {project}\n   :alt: dependencies")
    );
    assert_eq!(
        element_text(&page, "snippet-asciidoc"),
        format!("image:{badge}[dependencies,link=\"{project}\"]")
    );
    // The snippet's badge is the one the preview shows.
    let svg = app
        .get_text(&badge.replace("https://badges.example.com", ""))
        .await;
    assert!(svg.contains("DEPS &amp; CO"), "{svg}");

    // A private project's builder keeps its key: in the form, the preview and every snippet.
    let created = app
        .put_private_report("github.com/build/private", &json!({ "dependencies": [] }))
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let (_, key) = create_key(&app, "github.com/build/private", TOKEN).await;
    let page = app
        .get_text(&format!(
            "/projects/github.com/build/private?key={key}&style=flat-square"
        ))
        .await;
    assert!(
        page.contains(&format!(
            "<input type=\"hidden\" name=\"key\" value=\"{key}\">"
        )),
        "{page}"
    );
    let markdown = element_text(&page, "snippet-markdown");
    assert!(
        markdown.ends_with(&format!("/badges/github.com/build/private.svg?style=flat-square&key={key})](http://{}/projects/github.com/build/private?key={key})", app.address)),
        "{markdown}"
    );
}

/// The front door stays up when the database is not: the page answers (503) with its form, and
/// the lookup, which needs no database, still opens a project's page.
#[sqlx::test]
async fn the_home_page_and_the_lookup_answer_while_the_database_is_down(pool: PgPool) {
    let switch = crate::outage::DatabaseSwitch::start(&pool, true).await;
    let app = spawn_app(switch.pool()).await;
    assert_eq!(
        app.put_report("github.com/up/before", &spec_example())
            .await
            .status(),
        201
    );
    let (status, _, page) = get(&app, "/", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed(&page), ["github.com/up/before"]);

    switch.cut();
    let (status, content_type, page) = get(&app, "/", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (503, "text/html; charset=utf-8")
    );
    assert!(
        page.contains("The list of projects cannot be read right now"),
        "{page}"
    );
    assert!(page.contains("action=\"/lookup\""), "{page}");
    let client = TestApp::no_redirects();
    let response = client
        .get(app.url("/lookup?q=github.com%2Fup%2Fbefore"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);

    switch.restore();
    let mut status = 0;
    // The pool reconnects on its own; a bound on tries, not on time.
    for _ in 0..200 {
        status = get(&app, "/", None).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the list is back once the database is");
}

/// A database that answers with an error (not one that is away) gives a 500 page, still with
/// the lookup form.
#[sqlx::test]
async fn a_broken_database_gives_the_home_page_a_500_with_the_form(pool: PgPool) {
    let app = spawn_app(pool).await;
    sqlx::query("ALTER TABLE project_statuses RENAME TO project_statuses_gone")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, content_type, page) = get(&app, "/", None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (500, "text/html; charset=utf-8")
    );
    assert!(page.contains("The list of projects failed"), "{page}");
    assert!(
        !page.contains("project_statuses"),
        "no internal detail: {page}"
    );
    assert!(page.contains("action=\"/lookup\""), "{page}");
}
