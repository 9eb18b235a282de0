//! Text in XML documents (GPX, KML): every string written into one goes through [`escape`].

/// `text` as XML character data or attribute value: the five markup characters become entity
/// references, and the characters XML 1.0 cannot carry at all (most C0 controls, lone
/// surrogates cannot occur in a `str`, U+FFFE/U+FFFF) become U+FFFD, so any move name gives a
/// well-formed file.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_references() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;"
        );
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td\u{FFFF}"), "a\u{FFFD}b\u{FFFD}c\td\u{FFFD}");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape("Umzug München 7"), "Umzug München 7");
    }
}
