//! Logs: one JSON object per line on stdout (or human-readable text), filtered by `RUST_LOG`.
//! Every line goes through [`super::log_sink`], which batches the writes.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::SubscriberBuilder;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Json, JsonFields};

use super::log_sink::SinkWriter;
use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The format of the installed subscriber, once one is installed by [`init`].
static INSTALLED: OnceLock<LogFormat> = OnceLock::new();

/// Installs the global subscriber. Safe to call more than once (tests): later calls do nothing.
pub fn init(format: LogFormat, rust_log: Option<&str>) {
    let filter = rust_log
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(SinkWriter);
    let installed = match format {
        LogFormat::Json => as_json_lines(builder).try_init(),
        // Colors only for a person at a terminal: escape codes in a shipped log are noise.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
    };
    if installed.is_ok() {
        let _ = INSTALLED.set(format);
    }
}

/// Whether lines are JSON written by this process's subscriber: the access log then writes its
/// own lines, the same as the subscriber would, without going through it.
pub fn json_lines() -> bool {
    INSTALLED.get() == Some(&LogFormat::Json)
}

/// The JSON line format: one flat object per event (its fields beside timestamp, level, message
/// and target), without span context.
pub fn as_json_lines<L, T, F, W>(
    builder: SubscriberBuilder<DefaultFields, Format<L, T>, F, W>,
) -> SubscriberBuilder<JsonFields, Format<Json, T>, F, W> {
    builder
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
}
