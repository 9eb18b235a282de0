//! How complete a vehicle's record of a move is, for the move report and the evidence bundle:
//! what share of the span its fixes cover at the rate it reports at, how long it was silent at
//! the span's start and end (not only between fixes), and what its agent said it dropped.
//!
//! # Definitions
//! - The **fix interval** is the median time between consecutive fixes (to 0.1 s, from a
//!   histogram, so memory does not grow with the track): the rate the agent was set to, read
//!   from what it sent, without trusting any configuration.
//! - **Expected fixes**: the span's length over the fix interval. **Coverage at rate**: fixes
//!   received over expected fixes, at most 1.0 (a receiver that sometimes sends two fixes in
//!   one interval cannot make up for a silence).
//! - **Silence at start**: from the span's start to the first fix (the whole span without one);
//!   **silence at end**: from the last fix to the span's end.
//! - **Unsigned fixes**: fixes stored without a verified chain (a vehicle without a key, a
//!   phone); **refused batches**: the vehicle's messages kept as dead letters in the span, by
//!   reason (a signature that does not hold, a malformed batch...).
//! - **Spool drops**: what the agent's status reports say it dropped (its spool full) during
//!   the span: the rises of its `spool_dropped` counter, which starts again at 0 when the agent
//!   restarts.

use chrono::{DateTime, Utc};
use convoy_core::position::format_time;
use serde_json::{json, Value};

/// Intervals are counted in buckets of 0.1 s up to a minute; longer ones are silences, not a
/// rate.
const BUCKET_MS: i64 = 100;
const BUCKETS: usize = 600;

/// One vehicle's completeness, gathered as its fixes pass in fix-time order.
#[derive(Debug)]
pub struct Completeness {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    fixes: u64,
    unsigned: u64,
    intervals: Box<[u64; BUCKETS]>,
}

impl Completeness {
    /// For the span `[from, to)`; `to` should not be later than now for a move still running.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Completeness {
            from,
            to,
            first: None,
            last: None,
            fixes: 0,
            unsigned: 0,
            intervals: Box::new([0; BUCKETS]),
        }
    }

    /// The next fix's time, in fix-time order, and whether a signature proved it.
    pub fn push(&mut self, t: DateTime<Utc>, signed: bool) {
        self.unsigned += u64::from(!signed);
        if let Some(last) = self.last {
            let ms = (t - last).num_milliseconds();
            if ms > 0 {
                let bucket = ((ms + BUCKET_MS / 2) / BUCKET_MS) as usize;
                if (1..BUCKETS).contains(&bucket) {
                    self.intervals[bucket] += 1;
                }
            }
        }
        self.first.get_or_insert(t);
        self.last = Some(t);
        self.fixes += 1;
    }

    /// The median interval between fixes, in seconds; `None` with fewer than two fixes a minute
    /// or less apart.
    pub fn fix_interval_s(&self) -> Option<f64> {
        let total: u64 = self.intervals.iter().sum();
        if total == 0 {
            return None;
        }
        let mut seen = 0;
        for (bucket, count) in self.intervals.iter().enumerate() {
            seen += count;
            if seen * 2 >= total {
                return Some(bucket as f64 * BUCKET_MS as f64 / 1000.0);
            }
        }
        None
    }

    /// The figures, with the spool drops the agent reported in the span (see [`spool_drops`])
    /// and the vehicle's refused batches by reason.
    pub fn finish(&self, spool_drops: u64, refused: &[(String, u64)]) -> Value {
        let span_s = seconds(self.from, self.to).max(0.0);
        let interval = self.fix_interval_s();
        let expected = interval.filter(|&i| i > 0.0).map(|i| (span_s / i).floor() as u64 + 1);
        let coverage = expected.map(|e| (self.fixes as f64 / e as f64).min(1.0));
        let silence_start = self.first.map_or(span_s, |first| seconds(self.from, first).max(0.0));
        let silence_end = self.last.map_or(span_s, |last| seconds(last, self.to).max(0.0));
        json!({
            "from": format_time(&self.from),
            "to": format_time(&self.to),
            "fixes": self.fixes,
            "fix_interval_s": interval,
            "expected_fixes": expected,
            "coverage_at_rate": coverage.map(|c| (c * 1000.0).round() / 1000.0),
            "silence_at_start_s": silence_start.round(),
            "silence_at_end_s": silence_end.round(),
            "spool_drops": spool_drops,
            "unsigned_fixes": self.unsigned,
            "refused_batches": refused.iter().map(|(_, n)| n).sum::<u64>(),
            "refused_by_reason": refused.iter().map(|(reason, n)| (reason.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// How many fixes an agent's status reports (oldest first, the `spool_dropped` of each) say it
/// dropped between the first report and the last: the sum of the counter's rises, counting a
/// fall as a restart from 0.
pub fn spool_drops(counters: impl IntoIterator<Item = u64>) -> u64 {
    let mut total = 0;
    let mut previous: Option<u64> = None;
    for value in counters {
        total += match previous {
            Some(before) if value >= before => value - before,
            Some(_) => value,
            None => 0,
        };
        previous = Some(value);
    }
    total
}

fn seconds(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(s: f64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap() + Duration::milliseconds((s * 1000.0) as i64)
    }

    #[test]
    fn a_full_track_at_one_hertz_covers_its_span() {
        let mut c = Completeness::new(at(0.0), at(600.0));
        for s in 0..=600 {
            c.push(at(s as f64), true);
        }
        let v = c.finish(0, &[]);
        assert_eq!(v["fix_interval_s"], 1.0);
        assert_eq!((v["unsigned_fixes"].as_u64(), v["refused_batches"].as_u64()), (Some(0), Some(0)));
        assert_eq!(v["expected_fixes"], 601);
        assert_eq!(v["coverage_at_rate"], 1.0);
        assert_eq!(
            (v["silence_at_start_s"].as_f64(), v["silence_at_end_s"].as_f64()),
            (Some(0.0), Some(0.0))
        );
    }

    #[test]
    fn silences_at_the_start_and_end_count_against_coverage() {
        // 10 Hz from 120 s to 420 s of a 600 s span, with a 30 s hole in the middle.
        let mut c = Completeness::new(at(0.0), at(600.0));
        let (mut t, mut unsigned) = (120.0, 0);
        while t <= 420.0 {
            if !(200.0..230.0).contains(&t) {
                c.push(at(t), t < 300.0);
                unsigned += u64::from(t >= 300.0);
            }
            t += 0.1;
        }
        let v = c.finish(7, &[("bad_signature".into(), 2), ("malformed".into(), 1)]);
        assert_eq!(v["refused_batches"], 3);
        assert_eq!(v["refused_by_reason"], json!({"bad_signature": 2, "malformed": 1}));
        assert_eq!(v["unsigned_fixes"], unsigned, "the fixes from 300 s on");
        assert_eq!(v["fix_interval_s"], 0.1);
        assert_eq!(v["silence_at_start_s"], 120.0);
        assert_eq!(v["silence_at_end_s"], 180.0);
        let coverage = v["coverage_at_rate"].as_f64().unwrap();
        assert!((coverage - 2700.0 / 6001.0).abs() < 0.002, "{coverage}");
        assert_eq!(v["spool_drops"], 7);
    }

    #[test]
    fn a_vehicle_never_heard_is_silent_the_whole_span() {
        let v = Completeness::new(at(0.0), at(600.0)).finish(0, &[]);
        assert_eq!(v["fixes"], 0);
        assert_eq!(v["fix_interval_s"], Value::Null);
        assert_eq!(v["coverage_at_rate"], Value::Null);
        assert_eq!(
            (v["silence_at_start_s"].as_f64(), v["silence_at_end_s"].as_f64()),
            (Some(600.0), Some(600.0))
        );
    }

    #[test]
    fn spool_drops_add_the_rises_across_restarts() {
        assert_eq!(spool_drops([]), 0);
        assert_eq!(spool_drops([5]), 0);
        assert_eq!(spool_drops([5, 5, 9, 12]), 7);
        // Restarted after 12: the counter begins again.
        assert_eq!(spool_drops([5, 12, 3, 4]), 7 + 3 + 1);
    }
}
