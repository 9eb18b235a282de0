//! Failed logins slow a guesser down without letting anyone lock someone else out.
//!
//! Three counts, each for its own attacker:
//! - **a name from one address** (the pair): [`MAX_FAILURES`] failures are free; then the pair
//!   waits [`FIRST_HOLD`] after its latest failure, twice as long after each further one, at
//!   most [`MAX_HOLD`]. The rightful owner who mistyped waits a minute, not a quarter of an hour,
//!   and a guesser from one place gets about four guesses an hour. Forgotten [`FORGET_AFTER`]
//!   the latest failure, or at a success.
//! - **an address**, whatever names it tries: held once it has [`MAX_ADDRESS_FAILURES`] failures
//!   within [`WINDOW`], until the oldest leaves it (a success does not clear it: one right
//!   password must not reset a spray of guesses at other names). Loopback is not counted as an
//!   address: behind a reverse proxy on this host that is not in `[http] trusted_proxies`, every
//!   client would share it and one guesser would lock everyone out; such clients still have
//!   their pairs.
//! - **a name, from anywhere** (a guesser with many addresses): once it has
//!   [`NAME_SLOWDOWN_AFTER`] failures within [`WINDOW`], checks of that name are spaced
//!   [`NAME_SPACING`] apart, whoever asks: delayed, never refused, so no number of addresses
//!   can lock a name out, yet together they get one guess a second at most. An address the
//!   name logged in from before (remembered [`KNOWN_FOR`]) skips that queue.
//!
//! An IPv6 client counts as its /64 throughout. Nobody is held by name alone, so no one can lock
//! a name out; an admin, or the person with a session of their own, lifts a name's holds
//! ([`LoginThrottle::lift`]).
//!
//! An attempt is reserved ([`LoginThrottle::begin`]) before its password is checked, in the
//! same lock as the check of the limits: parallel guesses cannot all pass a limit that only
//! counted finished ones. Memory is bounded: at most [`MAX_KEYS`] pairs, addresses and names
//! each, the stalest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failures of one name from one address before that pair is held.
pub const MAX_FAILURES: u32 = 10;
/// The pair's first hold; each further failure doubles it.
pub const FIRST_HOLD: Duration = Duration::from_secs(60);
/// The longest a pair is held after a failure.
pub const MAX_HOLD: Duration = Duration::from_secs(15 * 60);
/// A pair's failures are forgotten this long after its latest one.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Failures from one address, over every name, within [`WINDOW`] before it is held.
pub const MAX_ADDRESS_FAILURES: usize = 30;
/// How long a failure counts against an address or a name.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures of a name from anywhere within [`WINDOW`] before its checks are spaced.
pub const NAME_SLOWDOWN_AFTER: usize = 10;
/// The time between two checks of a name under attack.
pub const NAME_SPACING: Duration = Duration::from_secs(1);
/// How long an address a name logged in from skips that name's queue.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Addresses remembered per name as ones it logged in from.
const KNOWN_PER_NAME: usize = 4;
/// The most pairs, addresses and names remembered at once (each).
const MAX_KEYS: usize = 100_000;
/// What a client is told to wait while its earlier attempts are still being checked.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct LoginThrottle {
    books: Mutex<Books>,
    /// Told whenever an attempt is judged: attempts held by [`HeldBy::Checking`] try again.
    judged: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Books {
    pairs: HashMap<(String, Option<IpAddr>), PairRecord>,
    addresses: HashMap<IpAddr, AddressRecord>,
    names: HashMap<String, NameRecord>,
}

#[derive(Debug)]
struct PairRecord {
    failures: u32,
    latest: Instant,
    /// Attempts reserved and not yet judged.
    in_flight: u32,
}

#[derive(Debug, Default)]
struct AddressRecord {
    failures: VecDeque<Instant>,
    in_flight: u32,
}

#[derive(Debug, Default)]
struct NameRecord {
    /// The latest failures within the window (at most [`NAME_SLOWDOWN_AFTER`] kept).
    failures: VecDeque<Instant>,
    /// When the next spaced check of this name may run.
    next_check: Option<Instant>,
    /// Addresses this name logged in from, and when last.
    known: Vec<(Option<IpAddr>, Instant)>,
}

/// Why an attempt may not be made now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// How long until it may.
    pub retry_after: Duration,
    pub by: HeldBy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldBy {
    /// This name from this address.
    Pair,
    /// This address, whatever the name.
    Address,
    /// Attempts of this pair or address are being checked, and the limit would be passed were
    /// they all wrong: wait for them ([`LoginThrottle::judged`]) rather than refuse, since they
    /// may be right (many logins at once of one script or one office).
    Checking,
}

/// A login attempt reserved against the limits: judge it with [`Attempt::failed`] or
/// [`Attempt::succeeded`]; dropped unjudged (the store failed, the client went away), it
/// counts as nothing.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    user: String,
    from: Option<IpAddr>,
    /// How long to wait before checking the password (the name is under attack).
    pub delay: Duration,
    judged: bool,
}

impl LoginThrottle {
    /// Reserves an attempt for `user` from `from`, or says how long it is held.
    pub fn begin(&self, user: &str, from: Option<IpAddr>, now: Instant) -> Result<Attempt<'_>, Held> {
        let from = from.map(network_of);
        let mut books = self.lock();
        books.make_room(now);
        let pair = (user.to_string(), from);
        if let Some(held) = books.pairs.get(&pair).and_then(|record| record.wait(now)) {
            return Err(held);
        }
        let address = counted_address(from);
        if let Some(ip) = address {
            if let Some(record) = books.addresses.get_mut(&ip) {
                expire(&mut record.failures, now);
                if let Some(held) = record.wait(now) {
                    return Err(held);
                }
            }
        }
        books.pairs.entry(pair).or_insert(PairRecord { failures: 0, latest: now, in_flight: 0 }).in_flight +=
            1;
        if let Some(ip) = address {
            books.addresses.entry(ip).or_default().in_flight += 1;
        }
        let delay = books.names.get_mut(user).map_or(Duration::ZERO, |name| name.turn(from, now));
        Ok(Attempt { throttle: self, user: user.to_string(), from, delay, judged: false })
    }

    /// Lifts every hold on `user`: its pairs' failures and the spacing of its checks (not its
    /// addresses': those are other people's too). Returns how many pairs were held or counting.
    pub fn lift(&self, user: &str) -> usize {
        let mut books = self.lock();
        let mut lifted = 0;
        books.pairs.retain(|(name, _), record| {
            if name != user {
                return true;
            }
            lifted += 1;
            record.failures = 0;
            // Attempts being checked still release their reservation here.
            record.in_flight > 0
        });
        if let Some(name) = books.names.get_mut(user) {
            name.failures.clear();
            name.next_check = None;
        }
        lifted
    }

    /// Resolves at the next judgement of any attempt (enable it before [`Self::begin`], so
    /// none is missed in between).
    pub fn judged(&self) -> tokio::sync::futures::Notified<'_> {
        self.judged.notified()
    }

    fn lock(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Attempt<'_> {
    /// The password was wrong: counts against the pair, the address and the name.
    pub fn failed(mut self, now: Instant) {
        self.judged = true;
        let mut books = self.throttle.lock();
        let pair = (self.user.clone(), self.from);
        let record = books.pairs.entry(pair).or_insert(PairRecord { failures: 0, latest: now, in_flight: 1 });
        record.in_flight = record.in_flight.saturating_sub(1);
        record.failures = record.failures.saturating_add(1);
        record.latest = now;
        if let Some(ip) = counted_address(self.from) {
            let record = books.addresses.entry(ip).or_default();
            record.in_flight = record.in_flight.saturating_sub(1);
            record.failures.push_back(now);
            if record.failures.len() > MAX_ADDRESS_FAILURES {
                record.failures.pop_front();
            }
        }
        let name = books.names.entry(self.user.clone()).or_default();
        expire(&mut name.failures, now);
        name.failures.push_back(now);
        if name.failures.len() > NAME_SLOWDOWN_AFTER {
            name.failures.pop_front();
        }
        drop(books);
        self.throttle.judged.notify_waiters();
    }

    /// The password was right: the pair's failures are forgotten (the address's are not) and
    /// the address is remembered as one the name logs in from.
    pub fn succeeded(mut self, now: Instant) {
        self.judged = true;
        let mut books = self.throttle.lock();
        let pair = (self.user.clone(), self.from);
        if let Some(record) = books.pairs.get_mut(&pair) {
            record.failures = 0;
            record.in_flight = record.in_flight.saturating_sub(1);
            if record.in_flight == 0 {
                books.pairs.remove(&pair);
            }
        }
        if let Some(ip) = counted_address(self.from) {
            if let Some(record) = books.addresses.get_mut(&ip) {
                record.in_flight = record.in_flight.saturating_sub(1);
            }
        }
        let name = books.names.entry(self.user.clone()).or_default();
        name.known.retain(|(address, _)| *address != self.from);
        name.known.push((self.from, now));
        if name.known.len() > KNOWN_PER_NAME {
            name.known.remove(0);
        }
        drop(books);
        self.throttle.judged.notify_waiters();
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.judged {
            return;
        }
        let mut books = self.throttle.lock();
        if let Some(record) = books.pairs.get_mut(&(self.user.clone(), self.from)) {
            record.in_flight = record.in_flight.saturating_sub(1);
        }
        if let Some(ip) = counted_address(self.from) {
            if let Some(record) = books.addresses.get_mut(&ip) {
                record.in_flight = record.in_flight.saturating_sub(1);
            }
        }
        drop(books);
        self.throttle.judged.notify_waiters();
    }
}

/// Held until the attempts being checked are judged.
const CHECKING: Held = Held { retry_after: IN_FLIGHT_WAIT, by: HeldBy::Checking };

impl PairRecord {
    /// Why this pair may not try now; `None`: it may.
    fn wait(&self, now: Instant) -> Option<Held> {
        if self.failures >= MAX_FAILURES {
            // Past the free attempts, one at a time, each after its hold.
            if self.in_flight > 0 {
                return Some(CHECKING);
            }
            let until = self.latest + hold(self.failures);
            return (now < until).then(|| Held { retry_after: until - now, by: HeldBy::Pair });
        }
        (self.failures + self.in_flight >= MAX_FAILURES).then_some(CHECKING)
    }

    fn forgotten(&self, now: Instant) -> bool {
        self.in_flight == 0 && now.duration_since(self.latest) >= FORGET_AFTER
    }
}

/// How long a pair with `failures` failures waits after its latest one.
pub fn hold(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(MAX_FAILURES).min(16);
    (FIRST_HOLD * 2u32.pow(doublings)).min(MAX_HOLD)
}

impl AddressRecord {
    /// (Its failures expired first.)
    fn wait(&self, now: Instant) -> Option<Held> {
        if self.failures.len() >= MAX_ADDRESS_FAILURES {
            let retry_after = WINDOW.saturating_sub(now.duration_since(self.failures[0]));
            return Some(Held { retry_after, by: HeldBy::Address });
        }
        (self.failures.len() + self.in_flight as usize >= MAX_ADDRESS_FAILURES).then_some(CHECKING)
    }
}

impl NameRecord {
    /// How long an attempt from `from` waits for its turn to check this name's password, its
    /// turn taken.
    fn turn(&mut self, from: Option<IpAddr>, now: Instant) -> Duration {
        expire(&mut self.failures, now);
        let known =
            self.known.iter().any(|(address, at)| *address == from && now.duration_since(*at) < KNOWN_FOR);
        if known || self.failures.len() < NAME_SLOWDOWN_AFTER {
            return Duration::ZERO;
        }
        let at = self.next_check.map_or(now, |next| next.max(now));
        self.next_check = Some(at + NAME_SPACING);
        at - now
    }

    fn forgotten(&self, now: Instant) -> bool {
        self.failures.back().is_none_or(|t| now.duration_since(*t) >= WINDOW)
            && self.next_check.is_none_or(|t| t <= now)
            && self.known.iter().all(|(_, at)| now.duration_since(*at) >= KNOWN_FOR)
    }
}

impl Books {
    /// Forgets what no longer counts once a map is full; if it is still full (a spray from many
    /// addresses), the stalest half of it rather than grow.
    fn make_room(&mut self, now: Instant) {
        if self.pairs.len() >= MAX_KEYS {
            self.pairs.retain(|_, record| !record.forgotten(now));
            if self.pairs.len() >= MAX_KEYS {
                let cutoff = median(self.pairs.values().map(|record| record.latest));
                self.pairs.retain(|_, record| record.latest > cutoff || record.in_flight > 0);
            }
        }
        if self.addresses.len() >= MAX_KEYS {
            self.addresses.retain(|_, record| {
                expire(&mut record.failures, now);
                !record.failures.is_empty() || record.in_flight > 0
            });
            if self.addresses.len() >= MAX_KEYS {
                let cutoff =
                    median(self.addresses.values().filter_map(|record| record.failures.back().copied()));
                self.addresses.retain(|_, record| {
                    record.failures.back().is_some_and(|t| *t > cutoff) || record.in_flight > 0
                });
            }
        }
        if self.names.len() >= MAX_KEYS {
            self.names.retain(|_, record| !record.forgotten(now));
            if self.names.len() >= MAX_KEYS {
                let latest = |record: &NameRecord| record.failures.back().copied();
                let cutoff = median(self.names.values().filter_map(latest));
                self.names.retain(|_, record| {
                    latest(record).is_some_and(|t| t > cutoff) || !record.known.is_empty()
                });
            }
        }
    }
}

fn median(times: impl Iterator<Item = Instant>) -> Instant {
    let mut times: Vec<Instant> = times.collect();
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_else(Instant::now)
}

/// What stands for one client: its address, or for IPv6 its /64 (one subscriber's usual share,
/// which a guesser could otherwise walk through address by address).
fn network_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// The address a login counts against, unless it is loopback (see the module's documentation).
fn counted_address(from: Option<IpAddr>) -> Option<IpAddr> {
    from.filter(|ip| !ip.is_loopback())
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
    const ELSEWHERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9)));
    const LOOPBACK: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    fn fail(throttle: &LoginThrottle, user: &str, from: Option<IpAddr>, now: Instant) {
        throttle.begin(user, from, now).expect("not held").failed(now);
    }

    fn address(i: usize) -> Option<IpAddr> {
        Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32)))
    }

    #[test]
    fn a_pair_is_held_after_too_many_failures_for_a_time_that_grows() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            fail(&throttle, "ana", AWAY, start);
        }
        let held = throttle.begin("ana", AWAY, start).err().expect("held");
        assert_eq!(held, Held { retry_after: FIRST_HOLD, by: HeldBy::Pair });
        let later = start + FIRST_HOLD;
        fail(&throttle, "ana", AWAY, later);
        assert_eq!(throttle.begin("ana", AWAY, later).err().unwrap().retry_after, 2 * FIRST_HOLD);
        assert_eq!(hold(MAX_FAILURES + 10), MAX_HOLD);
        let much_later = later + FORGET_AFTER;
        assert!(
            throttle.begin("ana", AWAY, much_later).is_ok(),
            "forgotten an hour after the latest failure"
        );
    }

    #[test]
    fn a_held_pair_holds_neither_the_name_elsewhere_nor_other_names() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            fail(&throttle, "ana", AWAY, now);
        }
        assert!(throttle.begin("ana", AWAY, now).is_err());
        let elsewhere = throttle.begin("ana", ELSEWHERE, now).expect("the owner elsewhere is not held");
        assert_eq!(
            elsewhere.delay,
            Duration::ZERO,
            "the first check of the name under attack waits for no one"
        );
        assert!(throttle.begin("bo", AWAY, now).is_ok());
    }

    #[test]
    fn parallel_attempts_are_reserved_so_no_more_than_the_limit_pass() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        let attempts: Vec<_> =
            (0..3 * MAX_FAILURES).filter_map(|_| throttle.begin("ana", AWAY, now).ok()).collect();
        assert_eq!(attempts.len() as u32, MAX_FAILURES);
        assert_eq!(throttle.begin("ana", AWAY, now).err().unwrap().by, HeldBy::Checking);
        for attempt in attempts {
            attempt.failed(now);
        }
        assert!(throttle.begin("ana", AWAY, now).is_err());
    }

    #[test]
    fn parallel_right_passwords_all_pass_one_after_another() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        let attempts: Vec<_> = (0..MAX_FAILURES).map(|_| throttle.begin("ana", AWAY, now).unwrap()).collect();
        assert_eq!(throttle.begin("ana", AWAY, now).err().unwrap().by, HeldBy::Checking);
        let mut judged = std::pin::pin!(throttle.judged());
        judged.as_mut().enable();
        let mut attempts = attempts.into_iter();
        attempts.next().unwrap().succeeded(now);
        assert!(futures_util::FutureExt::now_or_never(judged).is_some(), "the waiting are told");
        let next = throttle.begin("ana", AWAY, now).expect("one checked, one more may be");
        assert_eq!(throttle.begin("ana", AWAY, now).err().unwrap().by, HeldBy::Checking);
        for attempt in attempts.chain([next]) {
            attempt.succeeded(now);
        }
        assert!(throttle.lock().pairs.is_empty());
    }

    #[test]
    fn an_attempt_dropped_unjudged_counts_for_nothing() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..3 * MAX_FAILURES {
            drop(throttle.begin("ana", AWAY, now).unwrap());
        }
        assert!(throttle.begin("ana", AWAY, now).is_ok());
    }

    #[test]
    fn an_address_guessing_many_names_is_held_but_loopback_is_not() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_ADDRESS_FAILURES {
            fail(&throttle, &format!("name-{i}"), AWAY, now);
            fail(&throttle, &format!("name-{i}"), LOOPBACK, now);
        }
        assert_eq!(throttle.begin("someone-else", AWAY, now).err().unwrap().by, HeldBy::Address);
        assert!(throttle.begin("someone-else", LOOPBACK, now).is_ok());
        assert!(throttle.begin("someone-else", AWAY, now + WINDOW).is_ok(), "free once the window passed");
    }

    #[test]
    fn success_clears_the_pair_but_not_the_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_ADDRESS_FAILURES - 1 {
            fail(&throttle, &format!("name-{i}"), AWAY, now);
        }
        for _ in 0..MAX_FAILURES - 1 {
            fail(&throttle, "ana", LOOPBACK, now);
        }
        throttle.begin("ana", LOOPBACK, now).unwrap().succeeded(now);
        throttle.begin("ana", AWAY, now).unwrap().succeeded(now);
        for _ in 0..MAX_FAILURES - 1 {
            fail(&throttle, "ana", LOOPBACK, now);
        }
        assert!(throttle.begin("ana", LOOPBACK, now).is_ok(), "the pair started again");
        fail(&throttle, "bo", AWAY, now);
        assert!(throttle.begin("ana", AWAY, now).is_err(), "the address reached its limit");
    }

    #[test]
    fn a_name_guessed_from_many_addresses_is_slowed_never_refused() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        throttle.begin("ana", ELSEWHERE, now).unwrap().succeeded(now);
        for i in 0..NAME_SLOWDOWN_AFTER {
            fail(&throttle, "ana", address(i), now);
        }
        let delays: Vec<Duration> = (100..105)
            .map(|i| throttle.begin("ana", address(i), now).expect("never refused").delay)
            .collect();
        let spaced: Vec<Duration> = (0..5).map(|n| NAME_SPACING * n).collect();
        assert_eq!(delays, spaced, "one check a second, whoever asks");
        let owner = throttle.begin("ana", ELSEWHERE, now).unwrap();
        assert_eq!(owner.delay, Duration::ZERO, "where the name logged in before, no queue");
        assert_eq!(throttle.begin("bo", address(200), now).unwrap().delay, Duration::ZERO);
    }

    #[test]
    fn lifting_a_names_holds_frees_it_everywhere_but_not_the_addresses() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            fail(&throttle, "ana", AWAY, now);
            fail(&throttle, "ana", LOOPBACK, now);
        }
        for i in 0..MAX_ADDRESS_FAILURES {
            fail(&throttle, &format!("name-{i}"), ELSEWHERE, now);
        }
        assert_eq!(throttle.lift("ana"), 2);
        let attempt = throttle.begin("ana", AWAY, now).expect("lifted");
        assert_eq!(attempt.delay, Duration::ZERO, "nor spaced any more");
        drop(attempt);
        assert!(throttle.begin("ana", LOOPBACK, now).is_ok());
        assert!(throttle.begin("ana", ELSEWHERE, now).is_err(), "the guessing address stays held");
        assert_eq!(throttle.lift("nobody"), 0);
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        let in_one_64 = |i: u16| Some(IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, i, i, i, i)));
        for i in 0..MAX_FAILURES {
            fail(&throttle, "ana", in_one_64(i as u16), now);
        }
        assert!(throttle.begin("ana", in_one_64(999), now).is_err());
        let next_64 = Some(IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 8, 0, 0, 0, 1)));
        assert!(throttle.begin("ana", next_64, now).is_ok());
    }

    #[test]
    fn memory_stays_bounded_under_a_spray_of_names() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            fail(&throttle, &format!("n{i}"), address(i), now + Duration::from_micros(i as u64));
        }
        let books = throttle.lock();
        assert!(books.pairs.len() <= MAX_KEYS);
        assert!(books.addresses.len() <= MAX_KEYS);
        assert!(books.names.len() <= MAX_KEYS);
    }
}
