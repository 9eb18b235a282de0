//! Making one formatted log event safe to write as one line.
//!
//! Names that come from outside (a login name, a move's name, a vehicle's topic) end up inside
//! log lines. Written raw, a CR or LF in one starts a new line the reader takes for the server's
//! own (a forged `audit log head`, say), and an ESC rewrites what a terminal shows. Escaping
//! at each call site depends on everyone remembering it; the binaries escape instead the whole
//! formatted event just before it is written (see the `MakeWriter` wrappers in `src/` and
//! `tracker-agent/src/`), which is where every value, whoever logged it, passes.

use std::borrow::Cow;

/// `event` (one formatted log event, ending in its newline) with every control character
/// written as a visible escape: `\r`, `\n`, `\t`, `\x1b` and the like for C0 and DEL, `\u{9b}`
/// for the C1 controls (which some terminals obey as ESC sequences). Only the final newline is
/// kept as is, so the event stays exactly one line. Borrowed when there is nothing to escape,
/// as for almost every event.
///
/// The backslash itself is not escaped: the aim is that no value can make a line of its own
/// or drive a terminal, not that the line can be decoded back byte for byte.
pub fn escape_controls(event: &[u8]) -> Cow<'_, [u8]> {
    let (body, newline) = match event.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (event, false),
    };
    if !body.iter().enumerate().any(|(i, &b)| is_control(b) || is_c1_at(body, i)) {
        return Cow::Borrowed(event);
    }
    let mut out = Vec::with_capacity(event.len() + 16);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if is_c1_at(body, i) {
            // U+0080..U+009F is 0xC2 0x80..0x9F in UTF-8.
            out.extend_from_slice(format!("\\u{{{:x}}}", body[i + 1]).as_bytes());
            i += 2;
            continue;
        }
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b if is_control(b) => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            b => out.push(b),
        }
        i += 1;
    }
    if newline {
        out.push(b'\n');
    }
    Cow::Owned(out)
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Whether a C1 control character (U+0080..U+009F, two bytes in UTF-8) starts at `i`.
fn is_c1_at(bytes: &[u8], i: usize) -> bool {
    bytes[i] == 0xc2 && bytes.get(i + 1).is_some_and(|b| (0x80..=0x9f).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escaped(text: &str) -> String {
        String::from_utf8(escape_controls(text.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn a_plain_line_is_left_alone_and_not_copied() {
        let line = b"2026-12-07T03:00:00Z  INFO convoy: move created name=\"Umzug\"\n";
        assert!(matches!(escape_controls(line), Cow::Borrowed(_)));
    }

    #[test]
    fn line_breaks_and_escapes_inside_become_visible_and_the_final_newline_stays() {
        let line =
            "INFO login refused user=eve\r\n2020-01-01T00:00:00Z  INFO audit log head \x1b[31mred\x7f\n";
        assert_eq!(
            escaped(line),
            "INFO login refused user=eve\\r\\n2020-01-01T00:00:00Z  INFO audit log head \\x1b[31mred\\x7f\n"
        );
        assert_eq!(escaped("tab\there"), "tab\\there", "no final newline: none added");
    }

    #[test]
    fn c1_controls_are_escaped_and_other_non_ascii_text_is_kept() {
        assert_eq!(escaped("a\u{9b}31m Müller Łódź\n"), "a\\u{9b}31m Müller Łódź\n");
    }

    proptest! {
        /// Whatever a value holds, the event is one line: its only newline is its last byte,
        /// and no control byte is left in it.
        #[test]
        fn any_event_stays_one_line_without_control_bytes(value in any::<Vec<u8>>()) {
            let mut event = b"INFO x: y name=".to_vec();
            event.extend_from_slice(&value);
            event.push(b'\n');
            let out = escape_controls(&event);
            let (last, body) = out.split_last().unwrap();
            prop_assert_eq!(*last, b'\n');
            prop_assert!(!body.iter().any(|&b| is_control(b)), "{:?}", String::from_utf8_lossy(&out));
            prop_assert!(!(0..body.len()).any(|i| is_c1_at(body, i)));
        }
    }
}
