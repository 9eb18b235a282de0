//! Cuts NMEA 0183 sentences out of a raw serial byte stream.
//!
//! The stream may carry anything: CR, LF or CRLF endings, partial lines at start-up, noise from a
//! wrong baud rate, binary frames of other protocols, long proprietary sentences. A sentence is
//! `$` or `!`, printable ASCII, `*`, two hex digits, then a line end. Everything else is skipped
//! and counted by reason; memory stays bounded whatever the input.

/// NMEA allows 82 characters; real receivers send longer proprietary sentences, so allow more,
/// but never buffer an unbounded line.
pub const MAX_SENTENCE_LEN: usize = 512;

/// Why bytes were not a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    /// A candidate sentence whose checksum does not match.
    BadChecksum,
    /// A candidate sentence with no `*hh` checksum.
    NoChecksum,
    /// A line longer than [`MAX_SENTENCE_LEN`].
    TooLong,
    /// A line with bytes that are not printable ASCII (noise, binary, wrong baud rate).
    NotAscii,
}

impl Reject {
    pub fn reason(self) -> &'static str {
        match self {
            Reject::BadChecksum => "bad_checksum",
            Reject::NoChecksum => "no_checksum",
            Reject::TooLong => "too_long",
            Reject::NotAscii => "not_ascii",
        }
    }

    pub const ALL: [Reject; 4] = [Reject::BadChecksum, Reject::NoChecksum, Reject::TooLong, Reject::NotAscii];
}

/// What the framer found in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// A sentence with a correct checksum, without its line ending.
    Sentence(String),
    Rejected(Reject),
}

/// Incremental framer: feed it bytes as they come, take sentences out.
#[derive(Debug, Default)]
pub struct Framer {
    line: Vec<u8>,
    /// Inside a candidate sentence (after a `$` or `!`).
    in_sentence: bool,
    /// The current line is too long or not text: drop it up to the next line end or start.
    discarding: Option<Reject>,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; calls `out` for each sentence or rejection they complete.
    pub fn push(&mut self, bytes: &[u8], mut out: impl FnMut(Framed)) {
        for &b in bytes {
            match b {
                b'$' | b'!' => {
                    // A start byte always begins a new candidate: a sentence cut short by noise
                    // or a restart is dropped, the next one is kept.
                    self.finish_discard(&mut out);
                    if self.in_sentence && !self.line.is_empty() {
                        out(Framed::Rejected(Reject::NoChecksum));
                    }
                    self.line.clear();
                    self.line.push(b);
                    self.in_sentence = true;
                }
                b'\r' | b'\n' => {
                    self.finish_discard(&mut out);
                    if self.in_sentence {
                        out(check(&self.line));
                    }
                    self.line.clear();
                    self.in_sentence = false;
                }
                _ if !self.in_sentence || self.discarding.is_some() => {}
                0x20..=0x7e => {
                    if self.line.len() >= MAX_SENTENCE_LEN {
                        self.discard(Reject::TooLong);
                    } else {
                        self.line.push(b);
                    }
                }
                _ => self.discard(Reject::NotAscii),
            }
        }
    }

    fn discard(&mut self, why: Reject) {
        self.discarding = Some(why);
        self.line.clear();
    }

    fn finish_discard(&mut self, out: &mut impl FnMut(Framed)) {
        if let Some(why) = self.discarding.take() {
            out(Framed::Rejected(why));
            self.in_sentence = false;
        }
    }
}

/// Verifies `$body*hh`: the XOR of the bytes between `$` and `*` equals `hh`.
fn check(line: &[u8]) -> Framed {
    let Some(star) = line.iter().rposition(|&b| b == b'*') else {
        return Framed::Rejected(Reject::NoChecksum);
    };
    let (body, tail) = (&line[1..star], &line[star + 1..]);
    let expected = match tail {
        [h, l] => match (hex(*h), hex(*l)) {
            (Some(h), Some(l)) => h << 4 | l,
            _ => return Framed::Rejected(Reject::BadChecksum),
        },
        _ => return Framed::Rejected(Reject::BadChecksum),
    };
    if body.iter().fold(0u8, |acc, b| acc ^ b) != expected {
        return Framed::Rejected(Reject::BadChecksum);
    }
    // Only printable ASCII was kept, so this cannot fail.
    Framed::Sentence(String::from_utf8_lossy(line).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The NMEA checksum of a sentence body (the text between `$` and `*`).
pub fn checksum(body: &str) -> u8 {
    body.bytes().fold(0, |acc, b| acc ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GGA: &str = "$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76";
    const RMC: &str = "$GPRMC,092750.000,A,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*43";

    fn frame(input: &[u8]) -> Vec<Framed> {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        framer.push(input, |f| out.push(f));
        out
    }

    fn sentence(s: &str) -> Framed {
        Framed::Sentence(s.to_string())
    }

    #[test]
    fn any_line_ending_ends_a_sentence() {
        for ending in ["\r\n", "\n", "\r"] {
            let input = format!("{GGA}{ending}{RMC}{ending}");
            assert_eq!(frame(input.as_bytes()), vec![sentence(GGA), sentence(RMC)], "{ending:?}");
        }
    }

    #[test]
    fn a_sentence_split_across_reads_is_joined() {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        let input = format!("{GGA}\r\n");
        for chunk in input.as_bytes().chunks(5) {
            framer.push(chunk, |f| out.push(f));
        }
        assert_eq!(out, vec![sentence(GGA)]);
    }

    #[test]
    fn a_bad_checksum_is_rejected() {
        let bad = GGA.replace("*76", "*77");
        assert_eq!(frame(format!("{bad}\r\n").as_bytes()), vec![Framed::Rejected(Reject::BadChecksum)]);
        let missing = GGA.replace("*76", "");
        assert_eq!(frame(format!("{missing}\r\n").as_bytes()), vec![Framed::Rejected(Reject::NoChecksum)]);
    }

    #[test]
    fn binary_noise_between_sentences_is_skipped() {
        let mut input = vec![0xb5, 0x62, 0x01, 0x07, 0x5c, 0x00, 0xff];
        input.extend_from_slice(format!("{GGA}\r\n").as_bytes());
        input.extend_from_slice(&[0x00, 0x24, 0x80, 0x0d]);
        input.extend_from_slice(format!("{RMC}\n").as_bytes());
        let out = frame(&input);
        assert_eq!(out, vec![sentence(GGA), Framed::Rejected(Reject::NotAscii), sentence(RMC)]);
    }

    #[test]
    fn a_sentence_cut_by_a_new_start_is_dropped_and_the_new_one_kept() {
        let input = format!("$GPGGA,0927{RMC}\r\n");
        assert_eq!(frame(input.as_bytes()), vec![Framed::Rejected(Reject::NoChecksum), sentence(RMC)]);
    }

    #[test]
    fn an_overlong_line_is_rejected_and_the_next_kept() {
        let long = format!("$PLONG,{}*00", "A".repeat(MAX_SENTENCE_LEN));
        let input = format!("{long}\r\n{GGA}\r\n");
        assert_eq!(frame(input.as_bytes()), vec![Framed::Rejected(Reject::TooLong), sentence(GGA)]);
    }

    #[test]
    fn text_that_is_not_a_sentence_is_ignored() {
        let input = format!("+ 6: 28 (.....)\r\nhello\r\n{GGA}\r\n");
        assert_eq!(frame(input.as_bytes()), vec![sentence(GGA)]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20)) {
            let mut framer = Framer::new();
            for chunk in &chunks {
                framer.push(chunk, |f| {
                    if let Framed::Sentence(s) = f {
                        assert!(s.len() <= MAX_SENTENCE_LEN);
                    }
                });
                prop_assert!(framer.line.len() <= MAX_SENTENCE_LEN);
            }
        }

        #[test]
        fn valid_sentences_survive_any_noise_before_them(noise in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input = noise;
            input.extend_from_slice(format!("\r\n{GGA}\r\n").as_bytes());
            let out = frame(&input);
            prop_assert_eq!(out.last(), Some(&sentence(GGA)));
        }
    }
}
