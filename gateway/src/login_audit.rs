//! Refused logins in the audit log, without letting anyone who has no account flood it.
//!
//! Each refused login (`login.failed`, `login.throttled`) is one (name, address) pair's. The
//! first of a pair is written at once, as before; its repeats within [`INTERVAL`] are only
//! counted here, and written as one entry (`count`, `first_at`, `last_at`) when that interval
//! has ended: at the pair's next refusal after it, by the sweep every [`SWEEP_EVERY`], or when
//! the server stops gracefully ([`flush`], after the HTTP drain). A crash loses at most one
//! interval's counts (each pair's repeats since its first entry, and the current summary of
//! the pairs beyond the budget), never a first entry.
//!
//! What new pairs may add is bounded too: at most [`MAX_PAIRS_PER_INTERVAL`] pairs get entries
//! of their own per interval; refusals of any further pair (a spray of names from many
//! addresses) are counted into one entry per kind, with target `*`, written when the
//! interval ends. So per interval at most `2 × MAX_PAIRS_PER_INTERVAL + 2` entries come from
//! refused logins, however many arrive. Successful logins are not aggregated: one entry each.
//! Every entry is appended through [`audit::record`], so the hash chain is the usual one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::audit;
use crate::error::ApiError;
use crate::state::AppState;

/// The span of one pair's aggregated refusals, and of the budget of new pairs.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Pairs with entries of their own per interval; beyond, one summary entry per kind.
pub const MAX_PAIRS_PER_INTERVAL: usize = 50;
/// How often ended intervals are written without waiting for a next refusal.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// The longest user name kept from a refused login (a client may send anything).
const MAX_TRIED_NAME_CHARS: usize = 200;

/// Why a login was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// A wrong password or an unknown name.
    Failed,
    /// Held by the throttle, the password not checked.
    Throttled,
}

impl Refusal {
    pub fn action(self) -> &'static str {
        match self {
            Refusal::Failed => "login.failed",
            Refusal::Throttled => "login.throttled",
        }
    }
}

/// The refusals counted and not yet written.
#[derive(Debug, Default)]
pub struct RefusedLogins {
    book: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    /// When the current interval of the new-pair budget began.
    interval_began: Option<Instant>,
    /// Pairs given entries of their own in it.
    pairs_this_interval: usize,
    pairs: HashMap<Pair, Repeats>,
    /// Refusals of pairs beyond the budget, per kind.
    others: HashMap<Refusal, Tally>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pair {
    pub refusal: Refusal,
    pub name: String,
    pub from: Option<IpAddr>,
}

#[derive(Debug)]
struct Repeats {
    /// When the pair's first entry was written.
    opened: Instant,
    since_first: Option<Tally>,
}

/// Refusals counted, and when the first and the last of them happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Tally {
    fn new(at: DateTime<Utc>) -> Self {
        Tally { count: 1, first: at, last: at }
    }

    fn add(&mut self, at: DateTime<Utc>) {
        self.count += 1;
        self.last = at;
    }
}

/// An entry to write.
#[derive(Debug, PartialEq)]
pub enum Entry {
    /// A pair's first refusal in an interval; `detail` says more about it.
    First { pair: Pair, detail: Value },
    /// A pair's refusals after its first entry, within its interval.
    Repeats { pair: Pair, tally: Tally },
    /// Refusals of pairs beyond the interval's budget.
    Others { refusal: Refusal, tally: Tally },
}

impl RefusedLogins {
    /// Counts a refusal; returns what must be written now (the ended intervals it found, then
    /// its own first entry if it is one).
    pub fn note(&self, pair: Pair, detail: Value, now: Instant, at: DateTime<Utc>) -> Vec<Entry> {
        let mut book = self.lock();
        let mut due = Vec::new();
        if let Some(repeats) = book.pairs.get_mut(&pair) {
            if now.duration_since(repeats.opened) < INTERVAL {
                match &mut repeats.since_first {
                    Some(tally) => tally.add(at),
                    None => repeats.since_first = Some(Tally::new(at)),
                }
                return due;
            }
            if let Some(Repeats { since_first: Some(tally), .. }) = book.pairs.remove(&pair) {
                due.push(Entry::Repeats { pair: pair.clone(), tally });
            }
        }
        book.roll_interval(now, &mut due);
        if book.pairs_this_interval < MAX_PAIRS_PER_INTERVAL {
            book.pairs_this_interval += 1;
            book.pairs.insert(pair.clone(), Repeats { opened: now, since_first: None });
            due.push(Entry::First { pair, detail });
        } else {
            match book.others.get_mut(&pair.refusal) {
                Some(tally) => tally.add(at),
                None => {
                    book.others.insert(pair.refusal, Tally::new(at));
                }
            }
        }
        due
    }

    /// What ended intervals leave to write.
    pub fn due(&self, now: Instant) -> Vec<Entry> {
        let mut book = self.lock();
        let mut due = Vec::new();
        book.pairs.retain(|pair, repeats| {
            if now.duration_since(repeats.opened) < INTERVAL {
                return true;
            }
            if let Some(tally) = repeats.since_first {
                due.push(Entry::Repeats { pair: pair.clone(), tally });
            }
            false
        });
        book.roll_interval(now, &mut due);
        due
    }

    /// Everything counted and not yet written (at shutdown).
    pub fn all(&self) -> Vec<Entry> {
        let mut book = self.lock();
        let mut due: Vec<Entry> = book
            .pairs
            .drain()
            .filter_map(|(pair, repeats)| Some(Entry::Repeats { pair, tally: repeats.since_first? }))
            .collect();
        due.extend(book.others.drain().map(|(refusal, tally)| Entry::Others { refusal, tally }));
        book.interval_began = None;
        book.pairs_this_interval = 0;
        due
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Book {
    /// Starts a new interval of the new-pair budget if the current one has ended, leaving the
    /// summaries of the pairs beyond it to write.
    fn roll_interval(&mut self, now: Instant, due: &mut Vec<Entry>) {
        let ended = self.interval_began.is_none_or(|began| now.duration_since(began) >= INTERVAL);
        if ended {
            self.interval_began = Some(now);
            self.pairs_this_interval = 0;
            due.extend(self.others.drain().map(|(refusal, tally)| Entry::Others { refusal, tally }));
        }
    }
}

/// Records a refused login of `tried` from `from`: at once if it is its pair's first in the
/// interval, else counted. A failed write fails the request (503), as every audit write does.
pub(crate) async fn record(
    state: &AppState,
    refusal: Refusal,
    from: Option<IpAddr>,
    tried: &str,
    detail: Value,
) -> Result<(), ApiError> {
    let name: String = tried.chars().take(MAX_TRIED_NAME_CHARS).collect();
    let pair = Pair { refusal, name, from };
    for entry in state.refused_logins.note(pair, detail, Instant::now(), Utc::now()) {
        write(state, entry).await?;
    }
    Ok(())
}

/// Writes the ended intervals every [`SWEEP_EVERY`] until `shutdown`.
pub(crate) async fn sweep(state: AppState, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
        write_all(&state, state.refused_logins.due(Instant::now())).await;
    }
}

/// Writes every count not yet written: at a graceful shutdown, once no request is left.
pub(crate) async fn flush(state: &AppState) {
    write_all(state, state.refused_logins.all()).await;
}

async fn write_all(state: &AppState, entries: Vec<Entry>) {
    for entry in entries {
        // `audit::record` has logged why; the count is lost, as in a crash.
        let _ = write(state, entry).await;
    }
}

async fn write(state: &AppState, entry: Entry) -> Result<(), ApiError> {
    let (pair, mut detail) = match entry {
        Entry::Others { refusal, tally } => {
            let mut detail = tally_detail(&tally);
            detail["pairs"] =
                json!("more name and address pairs than had entries of their own in this interval");
            return audit::record(state, None, None, refusal.action(), "*", detail).await;
        }
        Entry::First { pair, detail } => (pair, with_count_one(detail)),
        Entry::Repeats { pair, tally } => (pair, tally_detail(&tally)),
    };
    detail["username"] = json!(pair.name);
    let actor = match pair.refusal {
        // Someone tried the password of the user if the name exists; the actor says whose.
        Refusal::Failed => {
            let known = state.store.user(&pair.name).await?.is_some();
            detail["known_user"] = json!(known);
            known.then_some(pair.name.as_str())
        }
        Refusal::Throttled => None,
    };
    audit::record(state, actor, pair.from, pair.refusal.action(), &pair.name, detail).await
}

fn with_count_one(mut detail: Value) -> Value {
    if !detail.is_object() {
        detail = json!({});
    }
    detail["count"] = json!(1);
    detail
}

fn tally_detail(tally: &Tally) -> Value {
    json!({
        "count": tally.count,
        "first_at": tally.first.to_rfc3339_opts(SecondsFormat::Millis, true),
        "last_at": tally.last.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, last_octet: u8) -> Pair {
        let from = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, last_octet)));
        Pair { refusal: Refusal::Failed, name: name.to_string(), from }
    }

    fn firsts(entries: &[Entry]) -> usize {
        entries.iter().filter(|e| matches!(e, Entry::First { .. })).count()
    }

    #[test]
    fn a_pairs_repeats_within_the_interval_are_one_entry_with_their_count() {
        let book = RefusedLogins::default();
        let (now, at) = (Instant::now(), Utc::now());
        assert_eq!(firsts(&book.note(pair("ana", 1), json!({}), now, at)), 1);
        for i in 1..=99 {
            let later = at + chrono::Duration::milliseconds(i);
            assert_eq!(
                book.note(pair("ana", 1), json!({}), now + Duration::from_millis(i as u64), later),
                []
            );
        }
        assert_eq!(book.due(now + INTERVAL / 2), []);
        let due = book.due(now + INTERVAL);
        let tally = Tally {
            count: 99,
            first: at + chrono::Duration::milliseconds(1),
            last: at + chrono::Duration::milliseconds(99),
        };
        assert_eq!(due, [Entry::Repeats { pair: pair("ana", 1), tally }]);
        assert_eq!(book.all(), []);
    }

    #[test]
    fn the_next_refusal_after_the_interval_writes_the_repeats_then_its_own_entry() {
        let book = RefusedLogins::default();
        let (now, at) = (Instant::now(), Utc::now());
        book.note(pair("ana", 1), json!({}), now, at);
        book.note(pair("ana", 1), json!({}), now, at);
        let due = book.note(pair("ana", 1), json!({}), now + INTERVAL, at);
        assert_eq!(due.len(), 2, "{due:?}");
        assert!(matches!(&due[0], Entry::Repeats { tally, .. } if tally.count == 1));
        assert!(matches!(&due[1], Entry::First { .. }));
    }

    #[test]
    fn pairs_beyond_the_budget_are_one_summary_per_interval() {
        let book = RefusedLogins::default();
        let (now, at) = (Instant::now(), Utc::now());
        let mut written = Vec::new();
        for i in 0..10_000 {
            written.extend(book.note(pair(&format!("n{i}"), (i % 250) as u8), json!({}), now, at));
        }
        assert_eq!(firsts(&written), MAX_PAIRS_PER_INTERVAL);
        assert_eq!(written.len(), MAX_PAIRS_PER_INTERVAL);
        let due = book.due(now + INTERVAL);
        let others = (10_000 - MAX_PAIRS_PER_INTERVAL) as u64;
        assert_eq!(
            due,
            [Entry::Others { refusal: Refusal::Failed, tally: Tally { count: others, first: at, last: at } }]
        );
        assert_eq!(firsts(&book.note(pair("new", 1), json!({}), now + INTERVAL, at)), 1, "a new budget");
    }

    #[test]
    fn everything_counted_is_handed_over_at_shutdown() {
        let book = RefusedLogins::default();
        let (now, at) = (Instant::now(), Utc::now());
        for i in 0..(MAX_PAIRS_PER_INTERVAL + 5) {
            for _ in 0..3 {
                book.note(pair(&format!("n{i}"), 1), json!({}), now, at);
            }
        }
        let throttled = Pair { refusal: Refusal::Throttled, ..pair("ana", 1) };
        book.note(throttled.clone(), json!({}), now, at);
        book.note(throttled, json!({}), now, at);
        let all = book.all();
        let counted: u64 = all
            .iter()
            .map(|e| match e {
                Entry::Repeats { tally, .. } | Entry::Others { tally, .. } => tally.count,
                Entry::First { .. } => 0,
            })
            .sum();
        // Each written pair's first is already written: 2 repeats each; the rest all 3; the
        // throttled pair is beyond the budget too.
        assert_eq!(counted, (MAX_PAIRS_PER_INTERVAL * 2 + 5 * 3 + 2) as u64, "{all:?}");
        assert_eq!(book.all(), []);
    }
}
