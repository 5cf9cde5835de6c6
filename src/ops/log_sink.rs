//! Where every log line goes on its way to stdout: one buffer, written in batches.
//!
//! A write syscall per request cost more CPU than serving a cached badge (docs/performance.md).
//! Lines are appended whole to one buffer under a lock, so they never interleave and keep their
//! order; the buffer is written to stdout when it holds [`FLUSH_BYTES`], at most [`FLUSH_EVERY`]
//! after a line arrives by a background thread (asleep while there is nothing to write), and by
//! [`flush`] when the process stops. Nothing is dropped: when stdout
//! blocks (a slow log shipper), appenders wait for the write, as they did with direct writes.
//! What a crash (SIGKILL, abort) loses is at most the last [`FLUSH_EVERY`] of lines.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

/// Flush by size: large enough to batch hundreds of access lines, small enough to stay in cache.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// Flush by time: how late a line may reach stdout.
pub const FLUSH_EVERY: Duration = Duration::from_millis(5);

/// Lines appended and not yet taken by a flush.
static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Signalled when the buffer stops being empty: the flusher sleeps until then, so an idle
/// process does not wake every few milliseconds (on a busy core, each wake-up delays a request).
static APPENDED: Condvar = Condvar::new();
/// The batch being written: held for the whole write, so that batches reach stdout in the order
/// they were taken, while appenders only ever wait for the short swap under [`BUFFER`].
static WRITING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static FLUSHER: Once = Once::new();

/// A panic while holding either lock leaves whole lines behind it (appends are single
/// `extend_from_slice` calls): the buffer is still good.
fn lock(mutex: &'static Mutex<Vec<u8>>) -> MutexGuard<'static, Vec<u8>> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Appends complete lines (each ending in `\n`).
pub fn append(lines: &[u8]) {
    FLUSHER.call_once(start_flusher);
    let mut buffer = lock(&BUFFER);
    if buffer.is_empty() {
        APPENDED.notify_one();
    }
    buffer.extend_from_slice(lines);
    if buffer.len() >= FLUSH_BYTES {
        drop(buffer);
        // Written by this appender: when stdout blocks (a slow log shipper), appenders wait for
        // the write, as they would with direct writes, and the buffer does not grow unbounded.
        flush();
    }
}

/// Writes out everything appended so far. Called by the flusher, by an appender that filled the
/// buffer, and at shutdown, after the last request.
pub fn flush() {
    let mut batch = lock(&WRITING);
    std::mem::swap(&mut *batch, &mut *lock(&BUFFER));
    if batch.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // Nowhere to report a failed write to stdout; keeping the lines would only grow the buffer.
    let _ = stdout.write_all(&batch).and_then(|()| stdout.flush());
    batch.clear();
    // Keep the allocation unless a burst (a huge line) grew it far past the usual size.
    if batch.capacity() > 4 * FLUSH_BYTES {
        batch.shrink_to(FLUSH_BYTES);
    }
}

fn start_flusher() {
    // A plain thread rather than a task: it must keep flushing while the runtime is busy or
    // shutting down.
    let spawned = std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(|| {
            loop {
                // Asleep while there is nothing to write; then at most FLUSH_EVERY late.
                drop(
                    APPENDED
                        .wait_while(lock(&BUFFER), |buffer| buffer.is_empty())
                        .unwrap_or_else(PoisonError::into_inner),
                );
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
