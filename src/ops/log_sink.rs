//! Where every log line goes on its way to stdout: one buffer, written in batches.
//!
//! A write syscall per request cost more CPU than serving a cached badge (docs/performance.md).
//! Lines are appended whole to one buffer under a lock, so they never interleave and keep their
//! order; the buffer is written to stdout when it holds [`FLUSH_BYTES`], every [`FLUSH_EVERY`] by
//! a background thread, and by [`flush`] when the process stops. Nothing is dropped: when stdout
//! blocks (a slow log shipper), appenders wait for the write, as they did with direct writes.
//! What a crash (SIGKILL, abort) loses is at most the last [`FLUSH_EVERY`] of lines.

use std::io::Write;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

/// Flush by size: large enough to batch hundreds of access lines, small enough to stay in cache.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// Flush by time: how late a line may reach stdout.
pub const FLUSH_EVERY: Duration = Duration::from_millis(5);

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static FLUSHER: Once = Once::new();

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    // A panic while holding the lock leaves whole lines behind it (appends are single
    // `extend_from_slice` calls): the buffer is still good.
    BUFFER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends complete lines (each ending in `\n`).
pub fn append(lines: &[u8]) {
    FLUSHER.call_once(start_flusher);
    let mut buffer = buffer();
    buffer.extend_from_slice(lines);
    if buffer.len() >= FLUSH_BYTES {
        write_out(&mut buffer);
    }
}

/// Writes out everything appended so far. Called at shutdown, after the last request.
pub fn flush() {
    write_out(&mut buffer());
}

/// Writes while holding the buffer, so that two flushes cannot reorder lines.
fn write_out(buffer: &mut Vec<u8>) {
    if buffer.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // Nowhere to report a failed write to stdout; keeping the lines would only grow the buffer.
    let _ = stdout.write_all(buffer).and_then(|()| stdout.flush());
    buffer.clear();
    // Keep the allocation unless a burst (a huge line) grew it far past the usual size.
    if buffer.capacity() > 4 * FLUSH_BYTES {
        buffer.shrink_to(FLUSH_BYTES);
    }
}

fn start_flusher() {
    // A plain thread rather than a task: it must keep flushing while the runtime is busy or
    // shutting down.
    let spawned = std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(|| {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            }
        });
    if spawned.is_err() {
        // Without the thread, lines still go out by size and at shutdown; say so once.
        eprintln!("depbadge: cannot start the log flusher thread; logs are written by size");
    }
}

/// `tracing-subscriber`'s writer: it formats each event into one buffer and writes it with one
/// `write_all`, so an event is one append.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkWriter;

impl Write for SinkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SinkWriter {
    type Writer = SinkWriter;

    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter
    }
}
