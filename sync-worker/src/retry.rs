//! Exponential backoff of failed syncs: the delay before each retry and the
//! fixed set of delays the broker's retry queues wait out.
//!
//! Delays double from the base and stop at the maximum, so they form a small
//! set of levels (1 s, 2 s, 4 s, ... 30 s by default). Each level is its own
//! queue with a queue-wide TTL: RabbitMQ only expires messages at the head
//! of a queue, so one queue holding several per-message delays would make a
//! short retry wait behind a long one.

use std::time::Duration;

/// Message header: how many times this nudge has been retried.
pub const ATTEMPT_HEADER: &str = "sync-attempt";
/// Message header: the retry level (delay in milliseconds) the retry
/// exchange routes on.
pub const DELAY_HEADER: &str = "retry-delay-ms";

/// How long to wait before retrying a failed sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    base: Duration,
    max: Duration,
}

impl RetryPolicy {
    /// Delays start at `base` and double up to `max` (at least `base`).
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
        }
    }

    /// The delay before retry number `attempt` (1 is the first retry):
    /// `base * 2^(attempt - 1)`, never more than the maximum.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// Every distinct value of [`RetryPolicy::delay`], shortest first.
    pub fn levels(&self) -> Vec<Duration> {
        let mut levels = Vec::new();
        for attempt in 1.. {
            let delay = self.delay(attempt);
            levels.push(delay);
            if delay >= self.max {
                break;
            }
        }
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base_ms: u64, max_ms: u64) -> RetryPolicy {
        RetryPolicy::new(
            Duration::from_millis(base_ms),
            Duration::from_millis(max_ms),
        )
    }

    #[test]
    fn delay_doubles_per_attempt_from_the_base() {
        let p = policy(1000, 30_000);
        let delays: Vec<u128> = (1..=5).map(|a| p.delay(a).as_millis()).collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000, 16_000]);
    }

    #[test]
    fn delay_stops_at_the_maximum() {
        let p = policy(1000, 30_000);
        assert_eq!(p.delay(6), Duration::from_secs(30));
        assert_eq!(p.delay(1000), Duration::from_secs(30));
        assert_eq!(p.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn attempt_zero_waits_the_base_delay() {
        assert_eq!(policy(500, 10_000).delay(0), Duration::from_millis(500));
    }

    #[test]
    fn levels_list_each_distinct_delay_once() {
        let levels: Vec<u128> = policy(1000, 30_000)
            .levels()
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert_eq!(levels, [1000, 2000, 4000, 8000, 16_000, 30_000]);
    }

    #[test]
    fn a_maximum_below_the_base_means_a_constant_delay() {
        let p = policy(2000, 1000);
        assert_eq!(p.levels(), [Duration::from_secs(2)]);
        assert_eq!(p.delay(7), Duration::from_secs(2));
    }
}
