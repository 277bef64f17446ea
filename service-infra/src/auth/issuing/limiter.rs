//! [`FailureLimiter`]: counts failed token requests per client id (at one
//! source address) and per source address in a fixed window; once either
//! reaches its limit, requests for that key are refused (429 with
//! `Retry-After`) until the window ends, without their secret being
//! checked.
//!
//! An attempt is counted *before* its secret is checked and forgiven when
//! the secret was right, so parallel guesses cannot slip past the limit
//! while the slow check runs. The per-client count is kept per source
//! address, so a stranger guessing a till's id cannot lock the till out;
//! the per-address count still bounds every guesser. IPv6 addresses count
//! by their /64 network (one host usually holds a whole /64). Behind a
//! reverse proxy every request comes from the proxy's address: set the
//! limits with that in mind.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Failures per client id from one address within one window.
pub const FAILURES_PER_CLIENT: u32 = 5;
/// Failures per source address within one window (a till room behind one
/// address may hold many clients).
pub const FAILURES_PER_ADDRESS: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Keys tracked at most; past it, expired windows go first, then the
/// oldest.
const MAX_KEYS: usize = 100_000;
/// Expired windows are swept after this many attempts.
const SWEEP_EVERY: u64 = 1024;

/// What an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A (valid) client id, from one address (or from an unknown one).
    Client(String, Option<IpAddr>),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// An attempt counted as failed until [`FailureLimiter::forgive`] says it
/// was not.
#[derive(Debug)]
#[must_use = "forgive a successful attempt"]
pub struct Attempt {
    keys: Vec<Key>,
    at: Instant,
}

/// Failed attempts per client id and per source address.
#[derive(Debug)]
pub struct FailureLimiter {
    per_client: u32,
    per_address: u32,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<Key, Window>,
    attempts: u64,
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
            state: Mutex::new(State::default()),
        }
    }

    /// Counts an attempt for `client_id` (`None` when it is not a valid id:
    /// then only the address counts) from `address`, or `Err(wait)` when
    /// one of them used up its failures and must wait that long.
    pub fn admit(
        &self,
        client_id: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<Attempt, Duration> {
        let address = address.map(network);
        let mut keys = Vec::with_capacity(2);
        if let Some(id) = client_id {
            keys.push((Key::Client(id.to_owned(), address), self.per_client));
        }
        if let Some(ip) = address {
            keys.push((Key::Address(ip), self.per_address));
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.attempts += 1;
        if state.attempts.is_multiple_of(SWEEP_EVERY) || state.windows.len() >= MAX_KEYS {
            self.sweep(&mut state.windows, now);
        }
        let wait = keys
            .iter()
            .filter_map(|(key, limit)| {
                let window = state.windows.get(key)?;
                let ends = window.started + self.window;
                (window.failures >= *limit && ends > now).then(|| ends - now)
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, _) in &keys {
            let window = state.windows.entry(key.clone()).or_insert(Window {
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
        Ok(Attempt {
            keys: keys.into_iter().map(|(key, _)| key).collect(),
            at: now,
        })
    }

    /// Takes back an attempt that did not fail (right secret, or a failure
    /// on our side).
    pub fn forgive(&self, attempt: Attempt) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for key in attempt.keys {
            if let Some(window) = state.windows.get_mut(&key)
                && window.started <= attempt.at
            {
                window.failures = window.failures.saturating_sub(1);
            }
        }
    }

    /// Drops expired windows; if that is not enough, the oldest half.
    fn sweep(&self, windows: &mut HashMap<Key, Window>, now: Instant) {
        windows.retain(|_, window| now.duration_since(window.started) < self.window);
        if windows.len() >= MAX_KEYS {
            let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
            starts.sort_unstable();
            let cutoff = starts[starts.len() / 2];
            windows.retain(|_, window| window.started > cutoff);
        }
    }
}

/// The address an attempt counts against: IPv4 as is, IPv6 by its /64.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const THERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7)));

    fn fail(limiter: &FailureLimiter, id: &str, address: Option<IpAddr>) {
        let _failed = limiter.admit(Some(id), address).expect("admitted");
    }

    #[test]
    fn a_client_is_blocked_after_its_failures_and_others_are_not() {
        let limiter = FailureLimiter::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            fail(&limiter, "pos-01", HERE);
        }
        let wait = limiter.admit(Some("pos-01"), HERE).expect_err("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(55));
        assert!(limiter.admit(Some("pos-02"), HERE).is_ok());
    }

    #[test]
    fn parallel_attempts_are_counted_before_their_secret_is_checked() {
        let limiter = FailureLimiter::new(3, 100, Duration::from_secs(60));
        let in_flight: Vec<_> = (0..3)
            .map(|_| limiter.admit(Some("pos-01"), HERE).expect("admitted"))
            .collect();
        assert!(
            limiter.admit(Some("pos-01"), HERE).is_err(),
            "a 4th guess while 3 run"
        );
        for attempt in in_flight {
            limiter.forgive(attempt);
        }
        assert!(
            limiter.admit(Some("pos-01"), HERE).is_ok(),
            "forgiven: right secrets"
        );
    }

    #[test]
    fn a_stranger_s_failures_do_not_lock_the_till_out() {
        let limiter = FailureLimiter::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            fail(&limiter, "pos-01", THERE);
        }
        assert!(limiter.admit(Some("pos-01"), THERE).is_err());
        assert!(limiter.admit(Some("pos-01"), HERE).is_ok());
    }

    #[test]
    fn an_address_is_blocked_across_client_ids_and_invalid_ids_count_there() {
        let limiter = FailureLimiter::new(100, 3, Duration::from_secs(60));
        fail(&limiter, "guess-1", HERE);
        fail(&limiter, "guess-2", HERE);
        let _invalid = limiter.admit(None, HERE).expect("admitted");
        assert!(limiter.admit(Some("anyone"), HERE).is_err());
        assert!(limiter.admit(Some("anyone"), None).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_network() {
        let limiter = FailureLimiter::new(100, 2, Duration::from_secs(60));
        let host = |last: u16| {
            Some(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, 1, 2, 0, 0, 0, last,
            )))
        };
        fail(&limiter, "a", host(1));
        fail(&limiter, "b", host(2));
        assert!(limiter.admit(Some("c"), host(3)).is_err());
    }

    #[test]
    fn the_block_ends_with_the_window() {
        let limiter = FailureLimiter::new(1, 100, Duration::from_millis(20));
        fail(&limiter, "pos-01", None);
        assert!(limiter.admit(Some("pos-01"), None).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.admit(Some("pos-01"), None).is_ok());
    }
}
