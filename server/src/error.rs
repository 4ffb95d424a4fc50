//! The service's one error enum; `api::grpc::status` maps it to a gRPC Status with google.rpc
//! details. Reasons are the generated `otn.v1.ErrorReason`: there is no second list.

use std::time::Duration;

pub(crate) use otn::rules::Violation as FieldViolation;
pub(crate) use otn::v1::ErrorReason as Reason;

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The request is malformed; nothing was changed. `reason` is INVALID_FIELD, or
    /// INVALID_PAGE_TOKEN for a page token of another query.
    #[error("invalid request: {}", describe(.violations))]
    Invalid {
        reason: Reason,
        violations: Vec<FieldViolation>,
    },
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
    /// The request names something outside what still exists (a pruned event sequence).
    #[error("{message}")]
    OutOfRange {
        reason: Reason,
        message: String,
        metadata: Vec<(String, String)>,
    },
    /// The caller did not say who they are, or said it wrongly.
    #[error("{message}")]
    Unauthenticated { reason: Reason, message: String },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        reason: Reason,
        message: String,
        metadata: Vec<(String, String)>,
    },
    /// A dependency is unavailable; retry after the delay, if given.
    #[error("{message}")]
    Unavailable {
        reason: Reason,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The service has no such method.
    #[error("{0}")]
    Unimplemented(String),
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
    pub(crate) fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::Invalid {
            reason: Reason::InvalidField,
            violations: vec![FieldViolation::new(field, description)],
        }
    }

    /// A precondition failure without metadata.
    pub(crate) fn precondition(reason: Reason, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// A not-found error.
    pub(crate) fn not_found(reason: Reason, message: impl Into<String>) -> Self {
        Error::NotFound {
            reason,
            message: message.into(),
        }
    }

    /// Whether a retry of the same work may succeed (storage trouble, a dependency, a race),
    /// as opposed to a request that can never be accepted.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Internal(_) | Error::Unavailable { .. } | Error::Aborted(_)
        )
    }
}

impl From<Vec<FieldViolation>> for Error {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Error::Invalid {
            reason: Reason::InvalidField,
            violations,
        }
    }
}

impl From<FieldViolation> for Error {
    fn from(v: FieldViolation) -> Self {
        Error::from(vec![v])
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

/// The service's result type.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
