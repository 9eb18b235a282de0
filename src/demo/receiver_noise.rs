//! A simulated receiver's errors, as a real one makes them: its position wanders a few metres
//! around the truth, slowly (multipath and the atmosphere change over tens of seconds, so one
//! second's error is nearly the last one's), not white jitter; its satellites come and go every
//! few minutes, and its HDOP follows them. Deterministic: the same seed and second give the same
//! error, so tests are repeatable and any second can be asked for in any order.

/// The spread of the error east and north, in metres (one standard deviation each way): about
/// an HDOP of 1 times a consumer receiver's 2.5 m range error.
pub const SIGMA_M: f64 = 2.5;
/// How long the error takes to forget itself, in seconds (its correlation falls to 1/e): a
/// minute, as multipath and the atmosphere change, so a standing receiver's fix creeps by
/// decimetres a second.
pub const CORRELATION_S: f64 = 60.0;
/// How many past seconds make up one second's error: their weight after this is under 1 %.
const MEMORY_S: u64 = 300;
/// How often the receiver's set of satellites changes, in seconds.
const SKY_CHANGE_S: u64 = 97;

/// One receiver's errors.
#[derive(Clone, Copy, Debug)]
pub struct ReceiverNoise {
    seed: u64,
}

impl ReceiverNoise {
    pub const fn new(seed: u64) -> Self {
        ReceiverNoise { seed }
    }

    /// The position error at `second`, east and north in metres: a first-order Gauss-Markov
    /// process, `e(s) = a·e(s-1) + √(1-a²)·σ·w(s)` with `a = exp(-1/τ)` and `w` a standard normal
    /// drawn from the seed and the second, summed over the last [`MEMORY_S`] seconds.
    pub fn error_m(&self, second: u64) -> (f64, f64) {
        let a = (-1.0 / CORRELATION_S).exp();
        let gain = (1.0 - a * a).sqrt() * SIGMA_M;
        let (mut east, mut north, mut weight) = (0.0, 0.0, gain);
        // Drawn as if the receiver had run for MEMORY_S seconds before the start, so the first
        // seconds wander as the later ones do.
        let now = second + MEMORY_S;
        for back in 0..MEMORY_S {
            let (w_east, w_north) = normal_pair(self.seed, now - back);
            east += weight * w_east;
            north += weight * w_north;
            weight *= a;
        }
        // What the cut-off memory leaves out of the spread, put back.
        let kept = (1.0 - a.powi(2 * MEMORY_S as i32)).sqrt();
        (east / kept, north / kept)
    }

    /// The satellites used at `second`: 7 to 11, as a valley's sky changes.
    pub fn satellites(&self, second: u64) -> u8 {
        7 + (mix(self.seed ^ 0x5a7e_111e, second / SKY_CHANGE_S) % 5) as u8
    }

    /// The HDOP at `second`: fewer satellites, a worse geometry.
    pub fn hdop(&self, second: u64) -> f64 {
        ((0.6 + 3.6 / f64::from(self.satellites(second))) * 10.0).round() / 10.0
    }
}

/// Two independent standard normal numbers for (seed, n), by Box-Muller from a hash.
fn normal_pair(seed: u64, n: u64) -> (f64, f64) {
    let h1 = mix(seed, 2 * n);
    let h2 = mix(seed, 2 * n + 1);
    // Uniforms in (0, 1]: 53 bits, never 0 (the logarithm).
    let u1 = ((h1 >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let u2 = (h2 >> 11) as f64 / (1u64 << 53) as f64;
    let r = (-2.0 * u1.ln()).sqrt();
    let angle = std::f64::consts::TAU * u2;
    (r * angle.cos(), r * angle.sin())
}

/// SplitMix64 of the seed and a counter: a well-spread 64-bit hash.
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn east_errors(seed: u64, seconds: u64) -> Vec<f64> {
        let noise = ReceiverNoise::new(seed);
        (0..seconds).map(|s| noise.error_m(s).0).collect()
    }

    fn correlation(x: &[f64], lag: usize) -> f64 {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        let cov = x.windows(lag + 1).map(|w| (w[0] - mean) * (w[lag] - mean)).sum::<f64>();
        cov / var
    }

    /// A few metres, like a receiver's: over several hours, the spread each way is within a
    /// fifth of SIGMA_M, and no error is beyond five of them.
    #[test]
    fn the_error_spreads_a_few_metres() {
        let x = east_errors(7, 20_000);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        assert!((SIGMA_M * 0.8..SIGMA_M * 1.2).contains(&sd), "spread {sd} m");
        assert!(mean.abs() < 0.5, "centred on the truth: {mean} m");
        assert!(x.iter().all(|v| v.abs() < 5.0 * SIGMA_M));
    }

    /// One second's error is nearly the last one's (a real receiver's wanders, it does not
    /// jitter), and a few minutes later it has forgotten it.
    #[test]
    fn the_error_is_correlated_from_second_to_second_and_forgets_over_minutes() {
        let x = east_errors(11, 20_000);
        let next = correlation(&x, 1);
        let expected = (-1.0 / CORRELATION_S).exp();
        assert!((next - expected).abs() < 0.03, "lag 1: {next}, expected {expected}");
        let later = correlation(&x, 300);
        assert!(later.abs() < 0.15, "lag 300 s: {later}");
        // So the fix moves by centimetres to decimetres a second, not metres.
        let step = x.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (x.len() - 1) as f64;
        assert!(step < 1.0, "{step} m a second");
    }

    #[test]
    fn the_same_seed_gives_the_same_errors_and_another_seed_others() {
        assert_eq!(east_errors(3, 100), east_errors(3, 100));
        assert_ne!(east_errors(3, 100), east_errors(4, 100));
        let noise = ReceiverNoise::new(3);
        assert_eq!(noise.error_m(5000), noise.error_m(5000), "any second, in any order");
    }

    #[test]
    fn satellites_and_hdop_change_together_and_stay_plausible() {
        let noise = ReceiverNoise::new(5);
        let seen: std::collections::BTreeSet<u8> = (0..5000).map(|s| noise.satellites(s)).collect();
        assert!(seen.len() >= 3 && seen.iter().all(|n| (7..=11).contains(n)), "{seen:?}");
        for s in (0..5000).step_by(37) {
            let hdop = noise.hdop(s);
            assert!((0.9..=1.2).contains(&hdop), "{hdop}");
            // More satellites, a better (lower) HDOP.
            let more = (0..5000).find(|&t| noise.satellites(t) > noise.satellites(s));
            assert!(more.is_none_or(|t| noise.hdop(t) <= hdop));
        }
        // The set holds for a while: it does not change every second.
        let changes = (1..5000).filter(|&s| noise.satellites(s) != noise.satellites(s - 1)).count();
        assert!(changes < 5000 / 60, "{changes} changes");
    }
}
