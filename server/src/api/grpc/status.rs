//! The one mapping from the service's Error to a gRPC Status with google.rpc details: ErrorInfo
//! (domain `otn.v1`, the generated reason) on every refusal, BadRequest on INVALID_ARGUMENT,
//! RetryInfo on UNAVAILABLE when a delay is known.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{Error, Reason};

const DOMAIN: &str = otn::v1::ERROR_DOMAIN;

/// The gRPC code each reason is used with, as `errors.proto` documents it. Exhaustive: a new
/// reason does not compile until it has a code.
pub(crate) fn code_of(reason: Reason) -> Code {
    match reason {
        Reason::Unspecified => Code::Unknown,
        Reason::InvalidField | Reason::InvalidPageToken => Code::InvalidArgument,
        Reason::PageNotFound
        | Reason::GrantNotFound
        | Reason::RecipientNotFound
        | Reason::NotificationNotFound => Code::NotFound,
        Reason::OutsideWindow
        | Reason::OptInRecentlyRequested
        | Reason::GraphApiRefused
        | Reason::PagePaused
        | Reason::NotificationFinal
        | Reason::RegionNotAllowed
        | Reason::RecipientForgotten => Code::FailedPrecondition,
        Reason::RequestIdReused | Reason::TokenConflict => Code::AlreadyExists,
        Reason::GraphApiUnavailable | Reason::ShuttingDown => Code::Unavailable,
        Reason::ConcurrentRequest => Code::Aborted,
        Reason::ApiKeyMissing | Reason::ApiKeyInvalid => Code::Unauthenticated,
        Reason::ScopeMissing | Reason::PageNotAllowed | Reason::CsrfRejected => {
            Code::PermissionDenied
        }
        Reason::SequencePruned => Code::OutOfRange,
    }
}

fn info(reason: Reason, metadata: Vec<(String, String)>) -> ErrorDetails {
    let map: HashMap<String, String> = metadata.into_iter().collect();
    ErrorDetails::with_error_info(reason.reason(), DOMAIN, map)
}

fn refusal(code: Code, reason: Reason, message: String, metadata: Vec<(String, String)>) -> Status {
    debug_assert_eq!(
        code_of(reason),
        code,
        "{reason:?} is documented with another code"
    );
    Status::with_error_details(code, message, info(reason, metadata))
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { reason, violations } => {
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                let message = format!("invalid request: {}", fields.join(", "));
                let mut d = info(reason, Vec::new());
                for v in violations {
                    d.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, d)
            }
            Error::NotFound { reason, message } => {
                refusal(Code::NotFound, reason, message, Vec::new())
            }
            Error::FailedPrecondition {
                reason,
                message,
                metadata,
            } => refusal(Code::FailedPrecondition, reason, message, metadata),
            Error::AlreadyExists { reason, message } => {
                refusal(Code::AlreadyExists, reason, message, Vec::new())
            }
            Error::Aborted(message) => refusal(
                Code::Aborted,
                Reason::ConcurrentRequest,
                message,
                Vec::new(),
            ),
            Error::OutOfRange {
                reason,
                message,
                metadata,
            } => refusal(Code::OutOfRange, reason, message, metadata),
            Error::Unauthenticated { reason, message } => {
                refusal(Code::Unauthenticated, reason, message, Vec::new())
            }
            Error::PermissionDenied {
                reason,
                message,
                metadata,
            } => refusal(Code::PermissionDenied, reason, message, metadata),
            Error::Unavailable {
                reason,
                message,
                retry_after,
            } => {
                let mut d = info(reason, Vec::new());
                if retry_after.is_some() {
                    d.set_retry_info(retry_after);
                }
                Status::with_error_details(Code::Unavailable, message, d)
            }
            Error::Unimplemented(message) => Status::unimplemented(message),
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `errors.proto` says, for each reason, which code carries it: `(NOT_FOUND)` and the like.
    fn documented_codes() -> HashMap<String, Vec<String>> {
        let proto = include_str!("../../../../proto/otn/v1/errors.proto");
        let mut out = HashMap::new();
        let mut comment = String::new();
        for line in proto.lines().map(str::trim) {
            if let Some(c) = line.strip_prefix("//") {
                comment.push_str(c);
                comment.push(' ');
            } else if let Some(name) = line.strip_prefix("ERROR_REASON_") {
                let name = name
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let codes = comment
                    .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .filter(|w| w.len() > 3 && code_by_name(w).is_some())
                    .map(str::to_string)
                    .collect();
                if name != "UNSPECIFIED" {
                    out.insert(name, codes);
                }
                comment.clear();
            } else {
                comment.clear();
            }
        }
        out
    }

    fn code_by_name(name: &str) -> Option<Code> {
        Some(match name {
            "INVALID_ARGUMENT" => Code::InvalidArgument,
            "NOT_FOUND" => Code::NotFound,
            "FAILED_PRECONDITION" => Code::FailedPrecondition,
            "ALREADY_EXISTS" => Code::AlreadyExists,
            "UNAVAILABLE" => Code::Unavailable,
            "ABORTED" => Code::Aborted,
            "UNAUTHENTICATED" => Code::Unauthenticated,
            "PERMISSION_DENIED" => Code::PermissionDenied,
            "OUT_OF_RANGE" => Code::OutOfRange,
            _ => return None,
        })
    }

    #[test]
    fn every_reason_of_the_contract_has_the_code_its_comment_documents() {
        let documented = documented_codes();
        let mut n = 0;
        for v in 1..100 {
            let Ok(reason) = Reason::try_from(v) else {
                continue;
            };
            n += 1;
            let name = reason.reason();
            assert_eq!(
                Reason::from_reason(name),
                Some(reason),
                "{name} round-trips"
            );
            let codes = documented
                .get(name)
                .unwrap_or_else(|| panic!("{name} undocumented"));
            let mapped = code_of(reason);
            assert!(
                codes.iter().any(|c| code_by_name(c) == Some(mapped)),
                "{name}: mapped to {mapped:?}, documented as {codes:?}"
            );
        }
        assert_eq!(
            n,
            documented.len(),
            "every documented reason is a value of the enum"
        );
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let s = Status::from(Error::Internal("database: password=hunter2".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("hunter2"));
    }

    #[test]
    fn validation_errors_carry_field_violations() {
        let s = Status::from(Error::field("title", "too long"));
        assert_eq!(s.code(), Code::InvalidArgument);
        let d = s.get_error_details();
        let br = d.bad_request().unwrap();
        assert_eq!(br.field_violations[0].field, "title");
        assert_eq!(d.error_info().unwrap().reason, "INVALID_FIELD");
    }

    #[test]
    fn aborted_carries_error_info() {
        let s = Status::from(Error::Aborted("retry".into()));
        assert_eq!(s.code(), Code::Aborted);
        let d = s.get_error_details();
        assert_eq!(d.error_info().unwrap().reason, "CONCURRENT_REQUEST");
    }
}
