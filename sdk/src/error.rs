//! The SDK's error: local validation, server refusals decoded from google.rpc details, transport.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use otn::v1::{ERROR_DOMAIN, ErrorReason};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// One bad field: the path of the field (as the server names it, for example
/// `content.button_template.buttons[1].title`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field path.
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

/// A call the server (or the transport on its way) answered with a non-OK status.
#[derive(Debug)]
pub struct RpcError {
    /// The gRPC code. A client-side deadline is reported as `DeadlineExceeded`.
    pub code: Code,
    /// The status message.
    pub message: String,
    /// `google.rpc.ErrorInfo.reason`, as sent (for example `OUTSIDE_WINDOW`).
    pub reason: Option<String>,
    /// `google.rpc.ErrorInfo.domain` (`otn.v1` for the service's own errors).
    pub domain: Option<String>,
    /// `google.rpc.ErrorInfo.metadata`.
    pub metadata: BTreeMap<String, String>,
    /// `google.rpc.BadRequest` field violations.
    pub violations: Vec<FieldViolation>,
    /// `google.rpc.RetryInfo.retry_delay`.
    pub retry_delay: Option<Duration>,
    /// The call failed on the way (connection refused or lost, protocol error, local timeout)
    /// rather than being answered by the service.
    pub transport: bool,
    /// The status itself.
    pub status: Status,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", code_name(self.code), self.message)?;
        if let Some(r) = &self.reason {
            write!(f, " ({r})")?;
        }
        Ok(())
    }
}

/// Every way an SDK call can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SDK refused the request before sending it; nothing was sent.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    /// The call ended with a non-OK status.
    #[error("{0}")]
    Rpc(Box<RpcError>),
    /// The channel could not be set up or connected.
    #[error("cannot connect to {url}: {}", chain(source))]
    Connect {
        /// The server's URL.
        url: String,
        /// What went wrong.
        #[source]
        source: tonic::transport::Error,
    },
    /// The client configuration is wrong (for example a malformed URL or API key).
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a locally made status reports a failure of the transport.
fn is_transport(status: &Status) -> bool {
    use std::error::Error as _;
    let m = status.message();
    status.source().is_some()
        || m.starts_with("h2 protocol error")
        || m.starts_with("transport error")
        || m.starts_with("error trying to connect")
        || m.starts_with("tcp connect error")
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        let (reason, domain, metadata) = match details.error_info() {
            Some(i) => (
                Some(i.reason.clone()),
                Some(i.domain.clone()),
                i.metadata.clone().into_iter().collect(),
            ),
            None => (None, None, BTreeMap::new()),
        };
        let violations = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| FieldViolation::new(&v.field, &v.description))
                    .collect()
            })
            .unwrap_or_default();
        let retry_delay = details.retry_info().and_then(|r| r.retry_delay);
        // tonic reports its own request timeout as CANCELLED("Timeout expired").
        let local_timeout =
            status.code() == Code::Cancelled && status.message() == "Timeout expired";
        let code = if local_timeout {
            Code::DeadlineExceeded
        } else {
            status.code()
        };
        Error::Rpc(Box::new(RpcError {
            code,
            message: status.message().to_string(),
            reason,
            domain,
            metadata,
            violations,
            retry_delay,
            transport: local_timeout || is_transport(&status),
            status,
        }))
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(&format!(": {text}"));
        }
        cause = c.source();
    }
    s
}

impl Error {
    /// A single-field local validation error.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldViolation::new(field, description)])
    }

    /// The gRPC code: `InvalidArgument` for local validation, `Unavailable` when the channel
    /// could not connect, `InvalidArgument` for a bad configuration.
    pub fn code(&self) -> Code {
        match self {
            Error::Invalid(_) | Error::Config(_) => Code::InvalidArgument,
            Error::Rpc(r) => r.code,
            Error::Connect { .. } => Code::Unavailable,
        }
    }

    /// The reason string of `google.rpc.ErrorInfo` (`INVALID_FIELD` for local validation).
    pub fn reason_str(&self) -> Option<&str> {
        match self {
            Error::Invalid(_) => Some(ErrorReason::InvalidField.reason()),
            Error::Rpc(r) => r.reason.as_deref(),
            _ => None,
        }
    }

    /// The reason as the contract's enum, when it is one of the service's own (domain `otn.v1`).
    pub fn reason(&self) -> Option<ErrorReason> {
        if let Error::Rpc(r) = self
            && r.domain.as_deref().is_some_and(|d| d != ERROR_DOMAIN)
        {
            return None;
        }
        self.reason_str().and_then(ErrorReason::from_reason)
    }

    /// The bad fields (empty unless the code is `InvalidArgument`).
    pub fn field_violations(&self) -> &[FieldViolation] {
        match self {
            Error::Invalid(v) => v,
            Error::Rpc(r) => &r.violations,
            _ => &[],
        }
    }

    /// How long the server asked to wait before retrying (`google.rpc.RetryInfo`).
    pub fn retry_delay(&self) -> Option<Duration> {
        match self {
            Error::Rpc(r) => r.retry_delay,
            _ => None,
        }
    }

    /// `ErrorInfo.metadata` (for example `rule`, `graph_code`), empty when none.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        match self {
            Error::Rpc(r) => r.metadata.clone(),
            _ => BTreeMap::new(),
        }
    }

    /// The status message, or this error's text (for local validation, the bad fields'
    /// names, as the server words it).
    pub fn message(&self) -> String {
        match self {
            Error::Rpc(r) => r.message.clone(),
            Error::Invalid(v) => {
                let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
                format!("invalid request: {}", fields.join(", "))
            }
            other => other.to_string(),
        }
    }

    /// The status, when the call got one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Rpc(r) => Some(&r.status),
            _ => None,
        }
    }

    /// The call failed on the way to the service (could not connect, connection lost,
    /// protocol error, local timeout), not because the service refused it.
    pub fn is_transport(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Rpc(r) => r.transport,
            _ => false,
        }
    }

    /// The SDK refused the request before sending anything.
    pub fn is_local(&self) -> bool {
        matches!(self, Error::Invalid(_) | Error::Config(_))
    }
}

/// The canonical name of a gRPC code, for example `NOT_FOUND`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tonic_types::ErrorDetails;

    #[test]
    fn bad_request_details_become_field_violations() {
        let mut d = ErrorDetails::new();
        d.add_bad_request_violation("content.text", "too long");
        d.add_bad_request_violation("page_id", "empty");
        d.set_error_info("INVALID_FIELD", "otn.v1", HashMap::new());
        let e = Error::from(Status::with_error_details(Code::InvalidArgument, "bad", d));
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(e.reason(), Some(ErrorReason::InvalidField));
        let fields: Vec<_> = e.field_violations().iter().map(|v| &v.field).collect();
        assert_eq!(fields, ["content.text", "page_id"]);
        assert!(!e.is_transport());
    }

    #[test]
    fn error_info_and_retry_info_are_decoded() {
        let meta = HashMap::from([("rule".to_string(), "window.24h".to_string())]);
        let mut d = ErrorDetails::with_error_info("GRAPH_API_UNAVAILABLE", "otn.v1", meta);
        d.set_retry_info(Some(Duration::from_millis(1500)));
        let e = Error::from(Status::with_error_details(Code::Unavailable, "later", d));
        assert_eq!(e.reason(), Some(ErrorReason::GraphApiUnavailable));
        assert_eq!(e.reason_str(), Some("GRAPH_API_UNAVAILABLE"));
        assert_eq!(e.retry_delay(), Some(Duration::from_millis(1500)));
        assert_eq!(e.metadata()["rule"], "window.24h");
        assert_eq!(e.to_string(), "UNAVAILABLE: later (GRAPH_API_UNAVAILABLE)");
    }

    #[test]
    fn a_foreign_domain_is_not_read_as_an_otn_reason() {
        let d = ErrorDetails::with_error_info("OUTSIDE_WINDOW", "example.com", HashMap::new());
        let e = Error::from(Status::with_error_details(Code::FailedPrecondition, "x", d));
        assert_eq!(e.reason(), None);
        assert_eq!(e.reason_str(), Some("OUTSIDE_WINDOW"));
    }

    #[test]
    fn a_local_timeout_reads_as_deadline_exceeded_on_the_way() {
        let e = Error::from(Status::cancelled("Timeout expired"));
        assert_eq!(e.code(), Code::DeadlineExceeded);
        assert!(e.is_transport());
        let e = Error::from(Status::cancelled("the caller gave up"));
        assert_eq!(e.code(), Code::Cancelled);
    }

    #[test]
    fn local_validation_reads_like_the_servers() {
        let e = Error::invalid("content.text", "must be 1 to 2000 characters");
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(e.reason(), Some(ErrorReason::InvalidField));
        assert!(e.is_local());
        assert_eq!(
            e.to_string(),
            "invalid request: content.text: must be 1 to 2000 characters"
        );
        assert_eq!(e.message(), "invalid request: content.text");
    }
}
