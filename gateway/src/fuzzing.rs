//! The entry point of the fuzz target `live_client` (`fuzz/fuzz_targets/live_client.rs`),
//! public for that target and for the corpus replay test (`tests/fuzz_corpus.rs`), so the test
//! runs exactly what the fuzzer ran. Not an API.

use std::io::{Read, Write};

use axum::extract::ws::{CloseFrame, Message};
use axum::http::{header, HeaderMap, HeaderValue, Uri};

use crate::extract::api_query;
use crate::live::{closes, credential, Credential, LiveQuery, MAX_INCOMING_BYTES};

/// What the live feed made of a client's request and messages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LiveOutcome {
    /// The query was read and named a credential (a ticket or a token, from it or the header).
    pub credential: bool,
    /// The reason of the 400 for a query that does not read.
    pub bad_query: Option<&'static str>,
    /// WebSocket messages read from the client, up to its close or the first broken frame.
    pub messages: usize,
    /// The client closed the feed.
    pub closed: bool,
}

/// Any bytes as what a live-feed client sends: the first line is the request's query string
/// (`GET /api/v1/live?...`), the second its `Authorization` header, the rest its WebSocket
/// frames (masked, as a client sends them), read with the feed's message size limit. The query
/// is read as the handler reads it and the credential chosen as it chooses; each message is
/// judged as the feed judges it. Never panics.
pub fn live_client(data: &[u8]) -> LiveOutcome {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let (query, authorization, frames) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut outcome = LiveOutcome::default();
    // A request target that is not a URI never reaches the handler (the HTTP server refuses it).
    if let Ok(uri) = format!("/api/v1/live?{}", String::from_utf8_lossy(query)).parse::<Uri>() {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(authorization) {
            headers.insert(header::AUTHORIZATION, value);
        }
        match api_query::<LiveQuery>(&uri) {
            Ok(query) => {
                if let Ok(said) = credential(&query, &headers) {
                    let (Credential::Ticket(text) | Credential::Token(text)) = said;
                    assert_eq!(text, text.trim(), "a credential is trimmed");
                    outcome.credential = true;
                }
            }
            Err(e) => outcome.bad_query = Some(e.reason().expect("a bad query has its reason")),
        }
    }
    let config = tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_INCOMING_BYTES));
    let client = Client { frames, answered: Vec::new() };
    let mut socket =
        tungstenite::WebSocket::from_raw_socket(client, tungstenite::protocol::Role::Server, Some(config));
    while let Ok(message) = socket.read() {
        assert!(message.len() <= MAX_INCOMING_BYTES, "a message over the limit was read");
        outcome.messages += 1;
        if closes(&as_axum(message)) {
            outcome.closed = true;
            break;
        }
    }
    outcome
}

/// A tungstenite message as axum hands it to the feed (axum's own conversion is private).
fn as_axum(message: tungstenite::Message) -> Message {
    match message {
        tungstenite::Message::Text(text) => Message::Text(text.as_str().into()),
        tungstenite::Message::Binary(bytes) => Message::Binary(bytes),
        tungstenite::Message::Ping(bytes) => Message::Ping(bytes),
        tungstenite::Message::Pong(bytes) => Message::Pong(bytes),
        tungstenite::Message::Close(frame) => Message::Close(
            frame.map(|f| CloseFrame { code: f.code.into(), reason: f.reason.as_str().into() }),
        ),
        // Only ever written, never read.
        tungstenite::Message::Frame(_) => Message::Binary(Default::default()),
    }
}

/// The client's side of the connection: its bytes to read, and what the server answers.
struct Client<'a> {
    frames: &'a [u8],
    answered: Vec<u8>,
}

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.frames.read(buf)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.answered.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
