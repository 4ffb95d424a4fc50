//! Local validation before anything is sent: the contract's own rules (`otn::rules`, over the
//! limits table `otn::limits`), the very checks the server applies, so a request the SDK
//! passes is one the server would not refuse for its shape, and the other way round.

use otn::v1 as pb;

pub use otn::limits;

use crate::error::{Error, FieldViolation};

fn local(r: Result<(), Vec<otn::rules::Violation>>) -> Result<(), Error> {
    r.map_err(|list| {
        Error::Invalid(
            list.into_iter()
                .map(|v| FieldViolation::new(v.field, v.description))
                .collect(),
        )
    })
}

/// Whether `url` is an http(s) URL with a host, as a web_url button needs.
pub fn is_web_url(url: &str) -> bool {
    otn::rules::web_url("web_url", url).is_ok()
}

/// Validates a SendNotification request as the server does (every bad field at once).
pub fn send_request(r: &pb::SendNotificationRequest) -> Result<(), Error> {
    local(otn::rules::send_notification(r))
}

/// Validates a ListEligible request as the server does (the page token is the server's).
pub fn list_eligible_request(r: &pb::ListEligibleRequest) -> Result<(), Error> {
    local(otn::rules::list_eligible(r))
}

/// Validates a RequestOptIn request as the server does.
pub fn opt_in_request(r: &pb::RequestOptInRequest) -> Result<(), Error> {
    local(otn::rules::request_opt_in(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_must_be_http_or_https_with_a_host() {
        assert!(is_web_url("https://shop.example/x"));
        assert!(is_web_url("http://localhost:8080"));
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "javascript:alert(1)",
            "shop.example",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
