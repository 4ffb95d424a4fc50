//! Delivery-log events: what happened, to whom, decided by which rule, caused by whom.

use super::funnel::Implied;
use super::vocab::{DeliveryPath, EventKind, InteractionKind};

/// Why a send failed, as Meta said it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Failure {
    /// A stable reason, for example `OUTSIDE_WINDOW`.
    pub(crate) reason: String,
    /// Meta's error code, 0 for transport errors.
    pub(crate) code: i32,
    /// Meta's error subcode, 0 if none.
    pub(crate) subcode: i32,
    /// Meta's message, for operators.
    pub(crate) message: String,
}

/// An event to append to the log (plain data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEvent {
    pub(crate) kind: EventKind,
    pub(crate) page_id: String,
    pub(crate) topic_key: Option<String>,
    pub(crate) notification_id: Option<String>,
    pub(crate) delivery_id: Option<i64>,
    pub(crate) psid: Option<String>,
    pub(crate) grant_id: Option<i64>,
    pub(crate) message_id: Option<String>,
    pub(crate) path: Option<DeliveryPath>,
    pub(crate) rule: Option<String>,
    pub(crate) failure: Option<Failure>,
    pub(crate) actor: Option<String>,
    /// What the person did, for ENGAGED (a message or a postback).
    pub(crate) interaction: Option<InteractionKind>,
    /// What the event implies for the funnel's counts (not stored: counted as it is appended).
    pub(crate) implied: Implied,
    /// A DEFERRED delivery's not-before time.
    pub(crate) not_before_ms: Option<i64>,
}

impl NewEvent {
    /// An event of `kind` on `page_id` with nothing else set.
    pub(crate) fn new(kind: EventKind, page_id: impl Into<String>) -> Self {
        Self {
            kind,
            page_id: page_id.into(),
            topic_key: None,
            notification_id: None,
            delivery_id: None,
            psid: None,
            grant_id: None,
            message_id: None,
            path: None,
            rule: None,
            failure: None,
            actor: None,
            interaction: None,
            implied: Implied::default(),
            not_before_ms: None,
        }
    }
}

/// An event as stored, with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) seq: i64,
    pub(crate) at_ms: i64,
    pub(crate) event: NewEvent,
}

/// Filters of an event read (plain data; `None` means any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventFilter {
    pub(crate) page_ids: Option<Vec<String>>,
    pub(crate) topic_key: Option<String>,
    pub(crate) notification_id: Option<String>,
}

impl EventFilter {
    /// Whether `e` passes the filter (the same test the SQL of a log read applies).
    pub(crate) fn matches(&self, e: &NewEvent) -> bool {
        self.page_ids
            .as_ref()
            .is_none_or(|p| p.contains(&e.page_id))
            && self
                .topic_key
                .as_ref()
                .is_none_or(|t| e.topic_key.as_ref() == Some(t))
            && self
                .notification_id
                .as_ref()
                .is_none_or(|n| e.notification_id.as_ref() == Some(n))
    }
}
