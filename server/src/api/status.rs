//! The one mapping from the service's Error to a gRPC Status with google.rpc details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{Error, Reason};

const DOMAIN: &str = otn::v1::ERROR_DOMAIN;

fn info(reason: Reason, metadata: Vec<(String, String)>) -> ErrorDetails {
    let map: HashMap<String, String> = metadata.into_iter().collect();
    ErrorDetails::with_error_info(reason.as_str(), DOMAIN, map)
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid(violations) => {
                let message = e_message(&violations);
                let mut d = ErrorDetails::new();
                for v in violations {
                    d.add_bad_request_violation(v.field, v.description);
                }
                d.set_error_info(Reason::InvalidField.as_str(), DOMAIN, HashMap::new());
                Status::with_error_details(Code::InvalidArgument, message, d)
            }
            Error::NotFound { reason, message } => {
                Status::with_error_details(Code::NotFound, message, info(reason, vec![]))
            }
            Error::FailedPrecondition {
                reason,
                message,
                metadata,
            } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                info(reason, metadata),
            ),
            Error::AlreadyExists { reason, message } => {
                Status::with_error_details(Code::AlreadyExists, message, info(reason, vec![]))
            }
            Error::Aborted(message) => Status::aborted(message),
            Error::Unavailable {
                reason,
                message,
                retry_after,
            } => {
                let mut d = info(reason, vec![]);
                if retry_after.is_some() {
                    d.set_retry_info(retry_after);
                }
                Status::with_error_details(Code::Unavailable, message, d)
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

fn e_message(violations: &[crate::error::FieldViolation]) -> String {
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    format!("invalid request: {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_a_reason_of_the_contract() {
        for r in Reason::ALL {
            assert!(
                otn::v1::ErrorReason::from_reason(r.as_str()).is_some(),
                "{r:?}"
            );
        }
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
}
