//! Graph API error bodies the simulator answers with, and the codes it uses.

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// Code 2: temporary service failure (retryable).
pub const CODE_TEMPORARY: i64 = 2;
/// Code 1200: temporary send failure (retryable).
pub const CODE_TEMPORARY_SEND: i64 = 1200;
/// Code 4: application request limit reached (also used with subcode 2018354).
pub const CODE_APP_RATE_LIMIT: i64 = 4;
/// Code 613: calls to this API exceeded the rate limit (also used with subcode 1893016).
pub const CODE_RATE_LIMIT: i64 = 613;
/// Code 10: permission / policy refusal (window, unavailable person, stopped token).
pub const CODE_POLICY: i64 = 10;
/// Code 100: invalid parameter (malformed payload, unknown/used/expired token, retired tag).
pub const CODE_INVALID_PARAMETER: i64 = 100;
/// Code 190: the page access token is invalid.
pub const CODE_ACCESS_TOKEN: i64 = 190;
/// Code 200: permission error (used with subcode 1545041, the person blocked the page).
pub const CODE_PERMISSION: i64 = 200;

/// Subcode of code 10: message sent outside of the allowed window.
pub const SUBCODE_OUTSIDE_WINDOW: i64 = 2018278;
/// Subcode of code 10: this person isn't available right now.
pub const SUBCODE_UNAVAILABLE: i64 = 2018108;
/// Subcode of code 200: the person blocked the page.
pub const SUBCODE_BLOCKED: i64 = 1545041;
/// Subcode of code 10: the person stopped notification messages for this token.
pub const SUBCODE_STOPPED: i64 = 1893015;
/// Subcode of code 613: the same opt-in request title went to this person within 7 days.
pub const SUBCODE_OPTIN_REPEATED: i64 = 1893016;
/// Subcode of code 4: marketing token used again before its cooldown.
pub const SUBCODE_MARKETING_COOLDOWN: i64 = 2018354;
/// The recipient field of a One-Time Notification token.
pub const ONE_TIME_TOKEN_FIELD: &str = "one_time_notif_token";
/// The recipient field of a Marketing Messages token.
pub const MARKETING_TOKEN_FIELD: &str = "notification_messages_token";
/// What the simulator answers for a spent One-Time Notification token (code 100, no subcode):
/// Meta's exact words are not public; they are worded as Meta's 2026 error table words its
/// other token refusals, naming the field.
pub const TOKEN_USED_MESSAGE: &str = "(#100) The one_time_notif_token has already been used";

/// A Graph API error as the simulator reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// `error.code`.
    pub code: i64,
    /// `error.error_subcode`, omitted from the body when `None`.
    pub subcode: Option<i64>,
    /// `error.message`.
    pub message: String,
    /// Value of the `X-Business-Use-Case-Usage` header, for rate-limit errors.
    pub usage_header: Option<String>,
}

impl GraphError {
    /// An HTTP 400 error with the given code, subcode and message.
    pub fn new(code: i64, subcode: Option<i64>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            subcode,
            message: message.into(),
            usage_header: None,
        }
    }

    /// Code 100 without subcode: a malformed or unsupported parameter.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            CODE_INVALID_PARAMETER,
            None,
            format!("(#100) {}", message.into()),
        )
    }

    /// Code 190: invalid page access token.
    pub fn bad_access_token() -> Self {
        Self::new(
            CODE_ACCESS_TOKEN,
            None,
            "Error validating access token: the access token is invalid for this page.",
        )
    }

    /// Code 10 / 2018278: outside the allowed window.
    pub fn outside_window() -> Self {
        Self::new(
            CODE_POLICY,
            Some(SUBCODE_OUTSIDE_WINDOW),
            "(#10) This message is sent outside of allowed window.",
        )
    }

    /// A rate-limit error carrying `X-Business-Use-Case-Usage` for `page_id`.
    pub fn rate_limited(code: i64, page_id: &str, regain_minutes: u32) -> Self {
        let usage = serde_json::json!({ page_id: [{
            "type": "messenger",
            "call_count": 100,
            "total_cputime": 100,
            "total_time": 100,
            "estimated_time_to_regain_access": regain_minutes,
        }]});
        let mut e = Self::new(
            code,
            None,
            format!("(#{code}) Calls to this api have exceeded the rate limit."),
        );
        e.usage_header = Some(usage.to_string());
        e
    }

    /// Code 100 without a subcode refusing the token of `field`, as Meta's 2026 table words
    /// token refusals: `(#100) notification_messages_token is invalid`.
    pub fn token_refused(field: &str, what: &str) -> Self {
        Self::new(
            CODE_INVALID_PARAMETER,
            None,
            format!("(#100) {field} {what}"),
        )
    }

    /// A spent One-Time Notification token: [`TOKEN_USED_MESSAGE`].
    pub fn token_used() -> Self {
        Self::new(CODE_INVALID_PARAMETER, None, TOKEN_USED_MESSAGE)
    }

    /// HTTP 500 with a failure code (2 or 1200: temporary, with `is_transient`; others
    /// without, e.g. 1, "an unknown error").
    pub fn server_error(code: i64) -> Self {
        let mut e = Self::new(
            code,
            None,
            format!("(#{code}) An unexpected error has occurred. Please retry your request later."),
        );
        e.status = StatusCode::INTERNAL_SERVER_ERROR;
        e
    }

    /// The JSON body Meta sends: `{"error":{message,type,code,error_subcode,fbtrace_id}}`.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": fbtrace_id(),
        });
        if let (Some(sub), Some(obj)) = (self.subcode, error.as_object_mut()) {
            obj.insert("error_subcode".into(), sub.into());
        }
        let transient = self.status.is_server_error()
            && matches!(self.code, CODE_TEMPORARY | CODE_TEMPORARY_SEND);
        if let (true, Some(obj)) = (transient, error.as_object_mut()) {
            obj.insert("is_transient".into(), true.into());
        }
        serde_json::json!({ "error": error })
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(usage) = self
            .usage_header
            .and_then(|u| HeaderValue::from_str(&u).ok())
        {
            headers.insert("x-business-use-case-usage", usage);
        }
        resp
    }
}

/// HTTP 502 with an HTML body, as a proxy in front of the Graph API answers.
pub(crate) fn bad_gateway() -> Response {
    let mut resp = Response::new(Body::from(
        "<html><head><title>502 Bad Gateway</title></head>\
         <body><center><h1>502 Bad Gateway</h1></center></body></html>",
    ));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    resp
}

/// A random trace id shaped like Meta's.
fn fbtrace_id() -> String {
    format!("A{:011x}", rand::random::<u64>() & 0xfff_ffff_ffff)
}
