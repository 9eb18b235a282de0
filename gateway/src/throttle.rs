//! Failed logins slow a guesser down: after [`MAX_FAILURES`] failures within [`WINDOW`] for
//! one user name, or from one address, further logins for it are refused (429) until the
//! oldest failure leaves the window. A success clears the name's failures. Memory is bounded:
//! at most [`MAX_KEYS`] names and addresses are remembered, the stalest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within the window.
pub const MAX_FAILURES: usize = 10;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The most names and addresses remembered at once.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Addr(IpAddr),
}

impl LoginThrottle {
    /// How long until a login for `user` from `from` may be tried again; `None`: now.
    pub fn wait(&self, user: &str, from: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys(user, from)
            .filter_map(|key| {
                let times = failures.get_mut(&key)?;
                expire(times, now);
                (times.len() >= MAX_FAILURES).then(|| WINDOW - now.duration_since(times[0]))
            })
            .max()
    }

    pub fn failed(&self, user: &str, from: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                expire(times, now);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                // Still full of fresh failures (a spray from many addresses): forget the
                // stalest half rather than grow.
                let mut newest: Vec<Instant> = failures.values().filter_map(|t| t.back().copied()).collect();
                newest.sort();
                let cutoff = newest[newest.len() / 2];
                failures.retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
            }
        }
        for key in keys(user, from) {
            let times = failures.entry(key).or_default();
            expire(times, now);
            times.push_back(now);
            if times.len() > MAX_FAILURES {
                times.pop_front();
            }
        }
    }

    /// A successful login clears the name's failures (not the address's: one right password
    /// must not reset a spray of guesses at other names).
    pub fn succeeded(&self, user: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&Key::User(user.to_string()));
    }
}

/// What a login attempt counts against: its name, and its address unless that is loopback
/// (behind a proxy on the same host every client would share it, and one guesser would lock
/// everyone out).
fn keys(user: &str, from: Option<IpAddr>) -> impl Iterator<Item = Key> {
    let remote = from.filter(|ip| !ip.is_loopback());
    std::iter::once(Key::User(user.to_string())).chain(remote.map(Key::Addr))
}

fn expire(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)));
    const LOOPBACK: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn a_name_is_held_after_too_many_failures_until_the_window_passes() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(throttle.wait("ana", None, start), None, "failure {i}");
            throttle.failed("ana", None, start);
        }
        let wait = throttle.wait("ana", None, start).expect("held");
        assert_eq!(wait, WINDOW);
        assert!(throttle.wait("bo", None, start).is_none(), "another name is not held");
        assert!(throttle.wait("ana", None, start + WINDOW).is_none(), "free once the window passed");
    }

    #[test]
    fn an_address_guessing_many_names_is_held() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            throttle.failed(&format!("name-{i}"), AWAY, now);
        }
        assert!(throttle.wait("someone-else", AWAY, now).is_some());
        assert!(throttle.wait("someone-else", None, now).is_none());
    }

    #[test]
    fn loopback_is_not_held_as_an_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            throttle.failed(&format!("name-{i}"), LOOPBACK, now);
        }
        assert!(throttle.wait("someone-else", LOOPBACK, now).is_none());
        assert!(throttle.wait("name-0", LOOPBACK, now).is_none(), "one failure for that name only");
    }

    #[test]
    fn success_clears_the_name_but_not_the_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("ana", AWAY, now);
        }
        throttle.succeeded("ana");
        throttle.failed("ana", None, now);
        assert!(throttle.wait("ana", None, now).is_none());
        throttle.failed("ana", AWAY, now);
        assert!(throttle.wait("ana", AWAY, now).is_some(), "the address reached the limit");
    }

    #[test]
    fn memory_stays_bounded_under_a_spray_of_names() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            throttle.failed(&format!("n{i}"), None, now + Duration::from_micros(i as u64));
        }
        assert!(throttle.failures.lock().unwrap().len() <= MAX_KEYS);
    }
}
