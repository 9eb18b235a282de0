//! The bounded queue in front of each notifier.
//!
//! The caller of [`super::Notifiers::notify`] must never wait on a notifier, and memory must
//! stay bounded however long a receiver is down, so a full queue makes room by dropping its
//! oldest message: the newest state of an alert matters more than an old one. Once the worker
//! has ended the queue is closed and refuses everything. What is dropped or refused is handed
//! back so the worker's side can count and report it; this module only keeps the order.

use std::collections::VecDeque;

use super::{DROPPED_QUEUE_FULL, DROPPED_SHUTDOWN};

pub(super) struct Queue<T> {
    messages: VecDeque<T>,
    capacity: usize,
    /// The worker has ended: nothing will take from the queue any more.
    closed: bool,
}

impl<T> Queue<T> {
    /// `capacity` is at least 1 (checked when the notifiers start).
    pub fn new(capacity: usize) -> Queue<T> {
        Queue { messages: VecDeque::new(), capacity, closed: false }
    }

    /// Queues `message`; returns the message that did not stay queued, if any, with the
    /// delivery detail saying why: the oldest one when the queue was full, or `message` itself
    /// when the queue is closed.
    pub fn push(&mut self, message: T) -> Option<(T, &'static str)> {
        if self.closed {
            return Some((message, DROPPED_SHUTDOWN));
        }
        let oldest = if self.messages.len() >= self.capacity { self.messages.pop_front() } else { None };
        self.messages.push_back(message);
        oldest.map(|oldest| (oldest, DROPPED_QUEUE_FULL))
    }

    pub fn pop(&mut self) -> Option<T> {
        self.messages.pop_front()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Refuses further messages and hands back those still queued, oldest first.
    pub fn close(&mut self) -> Vec<T> {
        self.closed = true;
        self.messages.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use convoy_core::alert::{AlertKind, AlertMessage, AlertState};
    use convoy_core::vehicle::VehicleId;

    fn message(id: &str) -> Arc<AlertMessage> {
        Arc::new(AlertMessage {
            v: 1,
            id: id.into(),
            kind: AlertKind::OffRoute,
            state: AlertState::Open,
            vehicle: VehicleId::new("truck-07").unwrap(),
            move_id: "m1".into(),
            t: "2026-11-28T09:15:02Z".parse().unwrap(),
            lat: None,
            lon: None,
            detail: serde_json::Value::Null,
            late: false,
        })
    }

    fn ids(messages: &[Arc<AlertMessage>]) -> Vec<&str> {
        messages.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn a_full_queue_drops_its_oldest_message() {
        let mut queue = Queue::new(2);
        assert!(queue.push(message("a")).is_none());
        assert!(queue.push(message("b")).is_none());
        let (dropped, why) = queue.push(message("c")).unwrap();
        assert_eq!((dropped.id.as_str(), why), ("a", DROPPED_QUEUE_FULL));
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().unwrap().id, "b");
        assert_eq!(queue.pop().unwrap().id, "c");
        assert!(queue.pop().is_none());
    }

    #[test]
    fn a_closed_queue_hands_back_what_it_held_and_refuses_more() {
        let mut queue = Queue::new(3);
        queue.push(message("a"));
        queue.push(message("b"));
        assert_eq!(ids(&queue.close()), ["a", "b"]);
        assert_eq!(queue.len(), 0);
        let (refused, why) = queue.push(message("c")).unwrap();
        assert_eq!((refused.id.as_str(), why), ("c", DROPPED_SHUTDOWN));
        assert!(queue.pop().is_none());
    }
}
