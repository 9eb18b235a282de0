//! One way of a route as a timetable: where the vehicle is when, driving its points at speeds a
//! loaded truck can reach, speeding up at most [`ACCELERATION_MPS2`] and braking at most
//! [`DECELERATION_MPS2`], so its speed changes smoothly instead of jumping.
//!
//! Two sources: a recording of one point a second ([`Timetable::recorded`], Munich's drive),
//! whose own speed sets how fast each stretch is driven; and a road's line with each segment's
//! speed ([`Timetable::on_roads`], Andorra's), slowed for its bends.

use geo::{Bearing, Distance, Geodesic, Point};

/// How fast a loaded truck speeds up at most, in m/s² (0-100 km/h in about 11 s).
pub const ACCELERATION_MPS2: f64 = 2.5;
/// How hard it brakes at most when it does not have to, in m/s².
pub const DECELERATION_MPS2: f64 = 3.5;
/// The fastest the simulated vehicles drive, in metres per second (108 km/h): a recorded step
/// longer than that (the Munich drive has one of 468 m after the receiver froze for 34 s) is
/// driven, not jumped.
pub const MAX_SPEED_MPS: f64 = 30.0;
/// A run of at least this many recorded seconds without moving (less than [`STANDING_M`] a
/// second) is a stop, kept as long as it was; shorter ones are the receiver holding its
/// position for a second or two, which the driving speed around them smooths over.
const STOP_MIN_S: usize = 3;
const STANDING_M: f64 = 0.5;
/// How hard a loaded truck takes a bend, sideways, in m/s²: well under what tips it (about
/// 3.5), what its driver finds comfortable with a load that must not shift.
pub const BEND_LATERAL_MPS2: f64 = 2.0;
/// The slowest it takes the sharpest corner, in m/s (11 km/h).
const BEND_MIN_MPS: f64 = 3.0;
/// A road's line is driven in pieces no longer than this, in metres.
const PIECE_M: f64 = 10.0;
/// How much of each segment beside a vertex its bend is spread over, at most, in metres: a
/// corner between two long straight segments is a turn of about this size, not a point.
const BEND_SPAN_M: f64 = 40.0;

#[derive(Clone, Debug)]
pub(crate) struct Timetable {
    pub points: Vec<Point>,
    /// When the vehicle reaches each point, in seconds of driving from the first.
    pub times: Vec<f64>,
    /// Its speed at each point, in metres per second.
    pub speeds: Vec<f64>,
}

/// A piece between two consecutive points: its length, the speed it is driven at (at most),
/// and whether the vehicle stands (a recorded stop: it takes its recorded second).
#[derive(Clone, Copy, Debug)]
struct Piece {
    length_m: f64,
    speed_mps: f64,
    stopped: bool,
}

impl Timetable {
    /// The timetable of a recording of one point a second.
    pub fn recorded(recorded: &[Point]) -> Self {
        let steps: Vec<f64> = recorded.windows(2).map(|w| Geodesic.distance(w[0], w[1])).collect();
        // Steps inside a stop: runs of at least STOP_MIN_S standing steps.
        let mut stopped = vec![false; steps.len()];
        let mut i = 0;
        while i < steps.len() {
            let run = steps[i..].iter().take_while(|&&m| m < STANDING_M).count();
            if run >= STOP_MIN_S {
                stopped[i..i + run].iter_mut().for_each(|s| *s = true);
            }
            i += run.max(1);
        }
        // How fast each moving step is driven: the median of the moving steps around it (two
        // either side), which ignores a second the receiver held its position or made up for it.
        let target: Vec<f64> = (0..steps.len())
            .map(|i| {
                if stopped[i] {
                    return 0.0;
                }
                let mut around: Vec<f64> = (i.saturating_sub(2)..(i + 3).min(steps.len()))
                    .filter(|&j| !stopped[j])
                    .map(|j| steps[j])
                    .collect();
                around.sort_by(f64::total_cmp);
                around[around.len() / 2].clamp(STANDING_M, MAX_SPEED_MPS)
            })
            .collect();

        // The points, with steps longer than a second's driving filled in, each piece with its
        // step's speed and whether it is stopped.
        let mut points = vec![recorded[0]];
        let mut pieces = Vec::new();
        for (k, pair) in recorded.windows(2).enumerate() {
            let n = (steps[k] / MAX_SPEED_MPS).ceil().max(1.0) as usize;
            for step in 1..=n {
                points.push(between(pair[0], pair[1], step as f64 / n as f64));
                pieces.push(Piece {
                    length_m: steps[k] / n as f64,
                    speed_mps: target[k],
                    stopped: stopped[k],
                });
            }
        }
        let no_bends = vec![f64::INFINITY; points.len()];
        Self::drive(points, &pieces, &no_bends)
    }

    /// The timetable of a road's line: `speeds_mps[k]` is how fast the segment from point `k` to
    /// `k + 1` is driven at most; each bend is taken no faster than [`BEND_LATERAL_MPS2`]
    /// sideways allows. The vehicle starts and ends standing.
    pub fn on_roads(line: &[Point], speeds_mps: &[f64]) -> Self {
        let bends = bend_speeds(line);
        let mut points = vec![line[0]];
        let mut caps = vec![bends[0]];
        let mut pieces = Vec::new();
        for (k, pair) in line.windows(2).enumerate() {
            let length = Geodesic.distance(pair[0], pair[1]);
            let n = (length / PIECE_M).ceil().max(1.0) as usize;
            for step in 1..=n {
                points.push(between(pair[0], pair[1], step as f64 / n as f64));
                caps.push(if step == n { bends[k + 1] } else { f64::INFINITY });
                pieces.push(Piece { length_m: length / n as f64, speed_mps: speeds_mps[k], stopped: false });
            }
        }
        Self::drive(points, &pieces, &caps)
    }

    /// The speed at each point: the slower of the pieces it joins and its cap, 0 at both ends
    /// and beside a stop; then what accelerating from the point before and braking for the
    /// point after allow. Each piece is driven at a constant acceleration from the speed at its
    /// start to the one at its end; a stopped piece takes its recorded second.
    fn drive(points: Vec<Point>, pieces: &[Piece], caps: &[f64]) -> Self {
        let n = points.len();
        let mut speeds: Vec<f64> = (0..n)
            .map(|j| {
                if j == 0 || j == n - 1 || pieces[j - 1].stopped || pieces[j].stopped {
                    0.0
                } else {
                    pieces[j - 1].speed_mps.min(pieces[j].speed_mps).min(caps[j])
                }
            })
            .collect();
        for j in 1..n {
            let reachable = (speeds[j - 1].powi(2) + 2.0 * ACCELERATION_MPS2 * pieces[j - 1].length_m).sqrt();
            speeds[j] = speeds[j].min(reachable);
        }
        for j in (0..n - 1).rev() {
            let stoppable = (speeds[j + 1].powi(2) + 2.0 * DECELERATION_MPS2 * pieces[j].length_m).sqrt();
            speeds[j] = speeds[j].min(stoppable);
        }
        let mut times = vec![0.0];
        for j in 0..n - 1 {
            let Piece { length_m, stopped, .. } = pieces[j];
            let (v0, v1) = (speeds[j], speeds[j + 1]);
            let dt = if stopped {
                1.0
            } else if v0 + v1 > 1e-9 {
                2.0 * length_m / (v0 + v1)
            } else {
                2.0 * (length_m / ACCELERATION_MPS2).sqrt()
            };
            times.push(times[j] + dt);
        }
        Timetable { points, times, speeds }
    }

    pub fn duration_s(&self) -> f64 {
        self.times[self.times.len() - 1]
    }

    /// Where the vehicle is `t` seconds after leaving the first point (at most the duration).
    pub fn at_time(&self, t: f64) -> Point {
        let k = self.times.partition_point(|&x| x <= t).clamp(1, self.points.len() - 1) - 1;
        let (a, b) = (self.points[k], self.points[k + 1]);
        let dt = self.times[k + 1] - self.times[k];
        if dt <= 0.0 {
            return b;
        }
        let tau = (t - self.times[k]).clamp(0.0, dt);
        let (v0, v1) = (self.speeds[k], self.speeds[k + 1]);
        let f = if v0 + v1 > 1e-9 {
            // Constant acceleration over the piece: the distance covered over its length.
            let covered = v0 * tau + 0.5 * (v1 - v0) / dt * tau * tau;
            covered / ((v0 + v1) / 2.0 * dt)
        } else {
            tau / dt
        };
        between(a, b, f)
    }

    /// When the vehicle is nearest `place`, in seconds of driving from the first point.
    pub fn time_nearest(&self, place: Point) -> f64 {
        let k = (0..self.points.len())
            .min_by(|&a, &b| {
                Geodesic.distance(self.points[a], place).total_cmp(&Geodesic.distance(self.points[b], place))
            })
            .unwrap_or(0);
        self.times[k]
    }
}

/// The fastest each vertex of a road's line is taken: a bend of angle θ spread over the
/// shorter of the segments beside it (at most [`BEND_SPAN_M`]) is an arc of radius
/// `span / 2 / tan(θ / 2)`, taken at `√(a · r)`; the ends get no cap (the vehicle stands there).
fn bend_speeds(line: &[Point]) -> Vec<f64> {
    let mut caps = vec![f64::INFINITY; line.len()];
    for k in 1..line.len().saturating_sub(1) {
        let (a, b, c) = (line[k - 1], line[k], line[k + 1]);
        let turn = (Geodesic.bearing(b, c) - Geodesic.bearing(a, b)).rem_euclid(360.0);
        let turn = turn.min(360.0 - turn).to_radians();
        if turn < 1e-3 {
            continue;
        }
        let span = Geodesic.distance(a, b).min(Geodesic.distance(b, c)).min(BEND_SPAN_M);
        let radius_m = span / 2.0 / (turn / 2.0).tan();
        caps[k] = (BEND_LATERAL_MPS2 * radius_m).sqrt().max(BEND_MIN_MPS);
    }
    caps
}

fn between(a: Point, b: Point, f: f64) -> Point {
    Point::new(a.x() + (b.x() - a.x()) * f, a.y() + (b.y() - a.y()) * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// East `east_m` and north `north_m` of a point in Andorra.
    fn at(east_m: f64, north_m: f64) -> Point {
        let origin = Point::new(1.5, 42.5);
        Point::new(
            origin.x() + east_m / (111_320.0 * 42.5f64.to_radians().cos()),
            origin.y() + north_m / 111_190.0,
        )
    }

    /// 500 m east at 20 m/s, a right-angled corner, 500 m north at 10 m/s.
    fn corner() -> Timetable {
        Timetable::on_roads(&[at(0.0, 0.0), at(500.0, 0.0), at(500.0, 500.0)], &[20.0, 10.0])
    }

    #[test]
    fn on_roads_it_starts_and_ends_standing_and_never_passes_a_segments_speed() {
        let t = corner();
        assert_eq!(t.speeds[0], 0.0);
        assert_eq!(t.speeds[t.speeds.len() - 1], 0.0);
        let corner_at = t.points.iter().position(|&p| Geodesic.distance(p, at(500.0, 0.0)) < 1e-6).unwrap();
        assert!(t.speeds[..corner_at].iter().all(|&v| v <= 20.0 + 1e-9));
        assert!(t.speeds[corner_at..].iter().all(|&v| v <= 10.0 + 1e-9));
        // It reaches them on the straights.
        assert!(t.speeds[..corner_at].iter().any(|&v| v > 19.99));
        assert!(t.speeds[corner_at..].iter().any(|&v| v > 9.99));
    }

    /// A right angle between long segments is a turn of 20 m radius: taken at √(2 · 20) m/s.
    #[test]
    fn it_slows_for_a_sharp_bend() {
        let t = corner();
        let corner_at = t.points.iter().position(|&p| Geodesic.distance(p, at(500.0, 0.0)) < 1e-6).unwrap();
        let expected = (BEND_LATERAL_MPS2 * BEND_SPAN_M / 2.0).sqrt();
        assert!((t.speeds[corner_at] - expected).abs() < 0.1, "{} m/s", t.speeds[corner_at]);
        // A gentle one (5°) is not a reason to slow down from 20 m/s.
        let gentle = Timetable::on_roads(&[at(0.0, 0.0), at(500.0, 0.0), at(1000.0, 43.7)], &[20.0, 20.0]);
        assert!(gentle.speeds.iter().any(|&v| v > 19.99) && gentle.speeds[gentle.points.len() / 2] > 19.99);
    }

    #[test]
    fn it_speeds_up_and_brakes_no_harder_than_a_loaded_truck() {
        let t = corner();
        for j in 0..t.points.len() - 1 {
            let dt = t.times[j + 1] - t.times[j];
            let a = (t.speeds[j + 1] - t.speeds[j]) / dt;
            assert!(a <= ACCELERATION_MPS2 + 1e-9 && -a <= DECELERATION_MPS2 + 1e-9, "{a} m/s² at {j}");
        }
        // And it takes as long as that: 500 m at up to 20 m/s and 500 m at up to 10 m/s.
        assert!((75.0..95.0).contains(&t.duration_s()), "{} s", t.duration_s());
    }
}
