//! One-use tickets for opening the live feed from a browser.
//!
//! A browser cannot set an `Authorization` header on a WebSocket, so the page would have to put
//! its bearer token in the URL, where proxies and browsers' histories keep URLs. Instead it asks
//! `POST /api/v1/live/ticket` (with the header) for a ticket that opens one feed, within 30 s,
//! and stands for the token it was asked with: the feed still closes when that token ends.
//! Tickets live in memory only, as a SHA-256 (like tokens in the store), and are bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use convoy_core::Ability;
use rand::distributions::{Alphanumeric, DistString};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::bearer_token;
use crate::extract::Authenticated;
use crate::openapi::{requires, ServiceUnavailable};
use crate::reply::Reply;
use crate::state::AppState;
use convoy_registry::credentials;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(requires(Ability::Live, routes!(issue_ticket)))
}

/// How long a ticket may wait to be used.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(30);
/// The most tickets waiting at once (each holds two SHA-256s in hex and an expiry).
const MAX_TICKETS: usize = 10_000;
/// The most tickets waiting for one token: a new one replaces its oldest, so one person asking
/// in a loop cannot use up the others' room.
const MAX_TICKETS_PER_TOKEN: usize = 4;

/// The tickets issued and not yet used.
#[derive(Debug, Default)]
pub struct LiveTickets {
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    /// By the SHA-256 of the ticket.
    tickets: HashMap<String, Ticket>,
    /// Each token's waiting tickets (their hashes), oldest first.
    by_token: HashMap<String, std::collections::VecDeque<String>>,
}

#[derive(Debug)]
struct Ticket {
    /// The SHA-256 of the bearer token the ticket was asked with.
    token_hash: String,
    expires: Instant,
}

impl LiveTickets {
    /// A new ticket standing for the token with `token_hash`; `None` when too many wait.
    pub fn issue(&self, token_hash: String) -> Option<String> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let Waiting { tickets, by_token } = &mut *waiting;
        let mine = by_token.entry(token_hash.clone()).or_default();
        if mine.len() >= MAX_TICKETS_PER_TOKEN {
            if let Some(oldest) = mine.pop_front() {
                tickets.remove(&oldest);
            }
        }
        if tickets.len() >= MAX_TICKETS {
            let now = Instant::now();
            tickets.retain(|_, ticket| ticket.expires > now);
            by_token.retain(|_, mine| {
                mine.retain(|hash| tickets.contains_key(hash));
                !mine.is_empty()
            });
            if tickets.len() >= MAX_TICKETS {
                return None;
            }
        }
        let ticket = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32);
        let hash = credentials::token_hash(&ticket);
        tickets.insert(
            hash.clone(),
            Ticket { token_hash: token_hash.clone(), expires: Instant::now() + TICKET_LIFETIME },
        );
        by_token.entry(token_hash).or_default().push_back(hash);
        Some(ticket)
    }

    /// Uses up `ticket`: the hash of the token it stands for, if it was issued and has not
    /// expired or been used.
    pub fn redeem(&self, ticket: &str) -> Option<String> {
        let hash = credentials::token_hash(ticket);
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = waiting.tickets.remove(&hash)?;
        if let Some(mine) = waiting.by_token.get_mut(&ticket.token_hash) {
            mine.retain(|h| *h != hash);
            if mine.is_empty() {
                waiting.by_token.remove(&ticket.token_hash);
            }
        }
        (ticket.expires > Instant::now()).then_some(ticket.token_hash)
    }
}

/// A ticket for the live feed.
#[derive(Serialize, ToSchema)]
pub(crate) struct LiveTicket {
    ticket: String,
    /// Seconds the ticket may wait to be used.
    expires_in_s: u64,
}

/// `POST /api/v1/live/ticket`: a ticket for `GET /api/v1/live?ticket=`.
#[utoipa::path(
    post,
    path = "/api/v1/live/ticket",
    tag = "live",
    operation_id = "liveTicket",
    summary = "A one-use ticket that opens the live feed",
    description = "The ticket opens one live feed (`GET /api/v1/live?ticket=`) within 30 s and stands for the bearer token of this request: the feed closes when that token ends. Kept in memory only (a restart forgets tickets).",
    responses(
        (status = 200, description = "The ticket.", body = LiveTicket),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub(crate) async fn issue_ticket(
    State(state): State<AppState>,
    user: Authenticated,
    headers: HeaderMap,
) -> Result<Reply<LiveTicket>, ApiError> {
    user.require(Ability::Live)?;
    // `Authenticated` has read and checked this very header.
    let token = bearer_token(&headers)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    let ticket = state.live_tickets.issue(credentials::token_hash(token)).ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too many live feed tickets waiting; try again")
    })?;
    Ok(Reply::ok(LiveTicket { ticket, expires_in_s: TICKET_LIFETIME.as_secs() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_once_and_stands_for_its_token() {
        let tickets = LiveTickets::default();
        let ticket = tickets.issue("hash-of-token".into()).unwrap();
        assert_eq!(ticket.len(), 32);
        assert_eq!(tickets.redeem("not-a-ticket"), None);
        assert_eq!(tickets.redeem(&ticket).as_deref(), Some("hash-of-token"));
        assert_eq!(tickets.redeem(&ticket), None, "used up");
    }

    #[test]
    fn an_expired_ticket_opens_nothing() {
        let tickets = LiveTickets::default();
        let ticket = tickets.issue("hash".into()).unwrap();
        for waiting in tickets.waiting.lock().unwrap().tickets.values_mut() {
            waiting.expires = Instant::now() - Duration::from_secs(1);
        }
        assert_eq!(tickets.redeem(&ticket), None);
    }

    #[test]
    fn tickets_are_bounded_and_expired_ones_make_room() {
        let tickets = LiveTickets::default();
        for n in 0..MAX_TICKETS {
            tickets.issue(format!("token-{n}")).unwrap();
        }
        assert_eq!(tickets.issue("another".into()), None, "full");
        for waiting in tickets.waiting.lock().unwrap().tickets.values_mut().take(10) {
            waiting.expires = Instant::now() - Duration::from_secs(1);
        }
        assert!(tickets.issue("another".into()).is_some(), "expired tickets make room");
        assert_eq!(tickets.waiting.lock().unwrap().by_token.len(), MAX_TICKETS - 9, "the index follows");
    }

    #[test]
    fn one_token_holds_a_few_tickets_and_cannot_crowd_out_the_others() {
        let tickets = LiveTickets::default();
        let first = tickets.issue("greedy".into()).unwrap();
        for _ in 0..MAX_TICKETS {
            tickets.issue("greedy".into()).unwrap();
        }
        assert_eq!(tickets.waiting.lock().unwrap().tickets.len(), MAX_TICKETS_PER_TOKEN);
        assert_eq!(tickets.redeem(&first), None, "its oldest were replaced");
        let other = tickets.issue("someone else".into()).expect("room for others");
        assert_eq!(tickets.redeem(&other).as_deref(), Some("someone else"));
    }
}
