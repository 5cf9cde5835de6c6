//! The wait between attempts of the background tasks that reconnect or rebuild (the database
//! watcher, the notification listener, the filter of known slugs): doubling from 250 ms, capped
//! at 10 s, back to the start after a success.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(250);
const MAX: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// The wait before the next attempt, without taking it (for a log line).
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// The wait before the next attempt; the one after it is twice as long, up to the cap.
    pub fn take(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(MAX);
        wait
    }

    /// An attempt worked: the next failure waits the shortest time again.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_start_over_after_a_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..8).map(|_| backoff.take().as_millis()).collect();
        assert_eq!(
            waits,
            [250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]
        );
        assert_eq!(backoff.peek(), Duration::from_secs(10));
        backoff.reset();
        assert_eq!(backoff.peek(), Duration::from_millis(250));
        assert_eq!(backoff.take(), Duration::from_millis(250));
    }
}
