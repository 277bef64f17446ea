//! [`FailureLimiter`]: counts failed token requests per client id and per
//! source address in a fixed window; once either reaches its limit, that key
//! is refused (429 with `Retry-After`) until the window ends, without its
//! secret being checked. Successful requests are not counted, so a till that
//! knows its secret is never slowed by its own traffic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures per client id within one window.
pub const FAILURES_PER_CLIENT: u32 = 5;
/// Failures per source address within one window (a till room behind one
/// address may hold many clients).
pub const FAILURES_PER_ADDRESS: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked at most; the oldest windows are dropped first.
const MAX_KEYS: usize = 100_000;

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed attempts per client id and per source address.
#[derive(Debug)]
pub struct FailureLimiter {
    per_client: u32,
    per_address: u32,
    window: Duration,
    windows: Mutex<HashMap<Key, Window>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(FAILURES_PER_CLIENT, FAILURES_PER_ADDRESS, WINDOW)
    }
}

impl FailureLimiter {
    /// A limiter allowing `per_client` and `per_address` failures a `window`.
    pub fn new(per_client: u32, per_address: u32, window: Duration) -> Self {
        Self {
            per_client,
            per_address,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when `client_id` or `address` used up its failures and
    /// must wait that long; `None` when the request may be checked.
    pub fn blocked(&self, client_id: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = |key: &Key, limit: u32| {
            let window = windows.get(key)?;
            let ends = window.started + self.window;
            (window.failures >= limit && ends > now).then(|| ends - now)
        };
        let by_client = wait(&Key::Client(client_id.to_owned()), self.per_client);
        let by_address = address.and_then(|ip| wait(&Key::Address(ip), self.per_address));
        by_client.max(by_address)
    }

    /// Counts a failed attempt against `client_id` and `address`.
    pub fn record_failure(&self, client_id: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, window| now.duration_since(window.started) < self.window);
        }
        let keys =
            std::iter::once(Key::Client(client_id.to_owned())).chain(address.map(Key::Address));
        for key in keys {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(window.started) >= self.window {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn a_client_is_blocked_after_its_failures_and_others_are_not() {
        let limiter = FailureLimiter::new(3, 100, Duration::from_secs(60));
        for _ in 0..2 {
            limiter.record_failure("pos-01", HERE);
            assert_eq!(limiter.blocked("pos-01", HERE), None);
        }
        limiter.record_failure("pos-01", HERE);
        let wait = limiter.blocked("pos-01", HERE).expect("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(55));
        assert_eq!(limiter.blocked("pos-02", HERE), None);
    }

    #[test]
    fn an_address_is_blocked_across_client_ids() {
        let limiter = FailureLimiter::new(100, 3, Duration::from_secs(60));
        for n in 0..3 {
            limiter.record_failure(&format!("guess-{n}"), HERE);
        }
        assert!(limiter.blocked("anyone", HERE).is_some());
        assert_eq!(limiter.blocked("anyone", None), None);
    }

    #[test]
    fn the_block_ends_with_the_window() {
        let limiter = FailureLimiter::new(1, 100, Duration::from_millis(20));
        limiter.record_failure("pos-01", None);
        assert!(limiter.blocked("pos-01", None).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(limiter.blocked("pos-01", None), None);
    }
}
