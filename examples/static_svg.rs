//! The baseline for `scripts/bench`: the smallest server on our stack (tokio + axum) that answers
//! every GET with one fixed badge SVG. depbadge's badge route is measured against it, so the
//! difference is the cost of depbadge's own work (lookup, cache, headers, logging).
//!
//! `cargo run --release --example static_svg -- 127.0.0.1:8090`

use axum::Router;
use axum::http::header;
use axum::routing::get;

const SVG: &str = include_str!("../tests/fixtures/badges/svg/status-up-to-date-flat.svg");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = Router::new().fallback(get(|| async {
        ([(header::CONTENT_TYPE, "image/svg+xml;charset=utf-8")], SVG)
    }));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
