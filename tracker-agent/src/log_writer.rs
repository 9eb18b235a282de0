//! Where the agent's log lines (and the server's: `convoy` uses this too) are written: through
//! [`convoy_core::log_line::escape_controls`], so no value logged anywhere can start a line of
//! its own or send a terminal an escape sequence.
//!
//! tracing-subscriber's fmt layer formats each event into one buffer and hands it to the
//! writer in one `write_all`, which [`EscapedWriter::write`] takes whole: the event's own final
//! newline is the only one that reaches the output. (tracing-subscriber 0.3.23 escapes ESC and
//! a few others in the message only, and CR/LF nowhere.)

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// A `MakeWriter` whose writers escape control characters in each event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Escaped<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Escaped<M> {
    type Writer = EscapedWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapedWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        EscapedWriter(self.0.make_writer_for(meta))
    }
}

/// Standard error, escaped: what both binaries log to.
pub fn escaped_stderr() -> Escaped<fn() -> io::Stderr> {
    Escaped(io::stderr)
}

/// One event's writer.
#[derive(Debug)]
pub struct EscapedWriter<W>(W);

impl<W: Write> Write for EscapedWriter<W> {
    /// Takes `event` whole (an event's buffer), so a short write of the inner writer never
    /// splits an escape.
    fn write(&mut self, event: &[u8]) -> io::Result<usize> {
        self.0.write_all(&convoy_core::log_line::escape_controls(event))?;
        Ok(event.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Through a real fmt subscriber: a value with CR/LF and ESC logged with `%` (Display, the
    /// one tracing writes raw) stays inside its one line, in fields, spans and the message alike.
    #[test]
    fn an_event_with_line_breaks_in_its_values_is_one_line() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber =
            tracing_subscriber::fmt().with_ansi(false).with_writer(Escaped(move || sink.clone())).finish();
        let forged = "eve\r\n2020-01-01T00:00:00Z  INFO convoy: audit log head head=42:ab\x1b[31m";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", path = %forged);
            let _entered = span.enter();
            tracing::info!(user = %forged, "login refused for {forged}");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        assert!(!text.contains(['\r', '\x1b']), "{text:?}");
        assert_eq!(text.matches("eve\\r\\n2020-01-01").count(), 3, "{text}");
        assert_eq!(text.matches("\\x1b[31m").count(), 3, "{text}");
    }
}
