//! Logs: one JSON object per line on stdout (or human-readable text), filtered by `RUST_LOG`.
//! Every line goes through [`super::log_sink`], which batches the writes.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Full, Json, JsonFields, Writer};
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::fmt::{
    FmtContext, FormatEvent, FormatFields, FormattedFields, SubscriberBuilder,
};
use tracing_subscriber::registry::LookupSpan;

use super::log_sink::SinkWriter;
use crate::config::LogFormat;

/// The name of the span each request's handling runs in (see `http::access_log`); its one
/// field, `request_id`, goes on every line logged inside it.
pub const REQUEST_SPAN: &str = "request";

/// The format of the installed subscriber, once one is installed by [`init`].
static INSTALLED: OnceLock<LogFormat> = OnceLock::new();

/// Installs the global subscriber. Safe to call more than once (tests): later calls do nothing.
pub fn init(format: LogFormat, rust_log: Option<&str>) {
    let filter = rust_log
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| {
            EnvFilter::new(
                crate::config::settings::RUST_LOG
                    .fallback
                    .default()
                    .unwrap_or("info"),
            )
        });
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
/// and target), without span context but for the request id of the request it was logged in.
pub fn as_json_lines<F, W>(
    builder: SubscriberBuilder<DefaultFields, Format<Full, SystemTime>, F, W>,
) -> SubscriberBuilder<JsonFields, WithRequestId<Format<Json, SystemTime>>, F, W>
where
    W: for<'writer> MakeWriter<'writer> + 'static,
{
    let format = tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false);
    builder
        .fmt_fields(JsonFields::new())
        .event_format(WithRequestId(format))
}

/// Adds the request id of the enclosing request span to each JSON line, at the top level like
/// the access line's, so that a request's error lines and its access line join on one key.
pub struct WithRequestId<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let request_fields = ctx.event_scope().and_then(|scope| {
            scope
                .from_root()
                .find(|span| span.name() == REQUEST_SPAN)
                .and_then(|span| {
                    let extensions = span.extensions();
                    let fields = extensions.get::<FormattedFields<N>>()?;
                    // `{"request_id":"…"}` as the JSON field formatter wrote it: its members.
                    let members = fields.fields.trim().strip_prefix('{')?.strip_suffix('}')?;
                    (!members.is_empty()).then(|| members.to_owned())
                })
        });
        let Some(members) = request_fields else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        if let Some(end) = line.rfind('}') {
            line.insert(end, ',');
            line.insert_str(end + 1, &members);
        }
        writer.write_str(&line)
    }
}
