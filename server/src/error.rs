//! The service's one error enum; `api::status` maps it to a gRPC Status with google.rpc details.

use std::time::Duration;

/// A stable reason carried in google.rpc.ErrorInfo (the names of `otn.v1.ErrorReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    InvalidField,
    PageNotFound,
    GrantNotFound,
    RecipientNotFound,
    NotificationNotFound,
    OutsideWindow,
    OptInRecentlyRequested,
    RequestIdReused,
    TokenConflict,
    InvalidPageToken,
    GraphApiRefused,
    GraphApiUnavailable,
    PagePaused,
    NotificationFinal,
    RegionNotAllowed,
    ShuttingDown,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 16] = [
        Reason::InvalidField,
        Reason::PageNotFound,
        Reason::GrantNotFound,
        Reason::RecipientNotFound,
        Reason::NotificationNotFound,
        Reason::OutsideWindow,
        Reason::OptInRecentlyRequested,
        Reason::RequestIdReused,
        Reason::TokenConflict,
        Reason::InvalidPageToken,
        Reason::GraphApiRefused,
        Reason::GraphApiUnavailable,
        Reason::PagePaused,
        Reason::NotificationFinal,
        Reason::RegionNotAllowed,
        Reason::ShuttingDown,
    ];

    /// The reason string, equal to the `otn.v1.ErrorReason` value name without its prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidField => "INVALID_FIELD",
            Reason::PageNotFound => "PAGE_NOT_FOUND",
            Reason::GrantNotFound => "GRANT_NOT_FOUND",
            Reason::RecipientNotFound => "RECIPIENT_NOT_FOUND",
            Reason::NotificationNotFound => "NOTIFICATION_NOT_FOUND",
            Reason::OutsideWindow => "OUTSIDE_WINDOW",
            Reason::OptInRecentlyRequested => "OPT_IN_RECENTLY_REQUESTED",
            Reason::RequestIdReused => "REQUEST_ID_REUSED",
            Reason::TokenConflict => "TOKEN_CONFLICT",
            Reason::InvalidPageToken => "INVALID_PAGE_TOKEN",
            Reason::GraphApiRefused => "GRAPH_API_REFUSED",
            Reason::GraphApiUnavailable => "GRAPH_API_UNAVAILABLE",
            Reason::PagePaused => "PAGE_PAUSED",
            Reason::NotificationFinal => "NOTIFICATION_FINAL",
            Reason::RegionNotAllowed => "REGION_NOT_ALLOWED",
            Reason::ShuttingDown => "SHUTTING_DOWN",
        }
    }
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path, for example `content.button_template.buttons[1].title`.
    pub field: String,
    /// What is wrong, for a human.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; nothing was changed.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    /// Something named by the request does not exist.
    #[error("{message}")]
    NotFound { reason: Reason, message: String },
    /// The system is not in a state that allows the call.
    #[error("{message}")]
    FailedPrecondition {
        reason: Reason,
        message: String,
        metadata: Vec<(String, String)>,
    },
    /// The request conflicts with one made before.
    #[error("{message}")]
    AlreadyExists { reason: Reason, message: String },
    /// A concurrent call holds the same key; retry.
    #[error("{0}")]
    Aborted(String),
    /// A dependency is unavailable; retry after the delay, if given.
    #[error("{message}")]
    Unavailable {
        reason: Reason,
        message: String,
        retry_after: Option<Duration>,
    },
    /// A bug or a storage failure; the detail is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A single-field validation error.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldViolation::new(field, description)])
    }

    /// A precondition failure without metadata.
    pub fn precondition(reason: Reason, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// A not-found error.
    pub fn not_found(reason: Reason, message: impl Into<String>) -> Self {
        Error::NotFound {
            reason,
            message: message.into(),
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(e: sea_orm::TransactionError<Error>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

/// The service's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
