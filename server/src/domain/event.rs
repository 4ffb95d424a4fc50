//! Delivery-log events: what happened, to whom, decided by which rule.

/// The kind of an event (numbers match `otn.v1.DeliveryEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Queued = 1,
    Sent = 2,
    Delivered = 3,
    Read = 4,
    Failed = 5,
    GrantConsumed = 6,
    OptInRecorded = 7,
    Engaged = 8,
    Cancelled = 9,
    RetryScheduled = 10,
}

/// How a delivery reaches a person (numbers match `otn.v1.DeliveryPath`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Path {
    #[default]
    None = 0,
    Grant = 1,
    Window = 2,
    Tag = 3,
}

impl Path {
    /// From the stored or wire number.
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => Path::Grant,
            2 => Path::Window,
            3 => Path::Tag,
            _ => Path::None,
        }
    }
}

/// Why a send failed, as Meta said it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub reason: String,
    pub code: i32,
    pub subcode: i32,
    pub message: String,
}

/// An event to append to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub page_id: String,
    pub topic_key: Option<String>,
    pub notification_id: Option<String>,
    pub delivery_id: Option<String>,
    pub psid: Option<String>,
    pub grant_id: Option<i64>,
    pub message_id: Option<String>,
    pub path: Path,
    pub rule: Option<String>,
    pub failure: Option<Failure>,
}

impl NewEvent {
    /// An event of `kind` on `page_id` with nothing else set.
    pub fn new(kind: EventKind, page_id: impl Into<String>) -> Self {
        Self {
            kind,
            page_id: page_id.into(),
            topic_key: None,
            notification_id: None,
            delivery_id: None,
            psid: None,
            grant_id: None,
            message_id: None,
            path: Path::None,
            rule: None,
            failure: None,
        }
    }
}

/// An event as stored, with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub at_ms: i64,
    pub event: NewEvent,
}
