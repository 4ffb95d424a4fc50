//! Who an HTTP request of the console or `/v1/events` is from (a session cookie, a bearer API
//! key, or nobody in the sandbox), the session endpoints, and the JSON error every refusal is.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tonic_types::StatusExt;

use super::Console;
use super::pbjson::time_ms;
use crate::access::{Caller, Scope, session};
use crate::error::{Error, Reason};

/// A refusal, answered as `{"error":{"code":…,"reason":…,"message":…}}` with the HTTP status
/// that matches the gRPC code the same error would have had.
#[derive(Debug)]
pub(crate) struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

fn http_status(code: tonic::Code) -> StatusCode {
    use tonic::Code as C;
    match code {
        C::Ok => StatusCode::OK,
        C::InvalidArgument | C::FailedPrecondition | C::OutOfRange => StatusCode::BAD_REQUEST,
        C::Unauthenticated => StatusCode::UNAUTHORIZED,
        C::PermissionDenied => StatusCode::FORBIDDEN,
        C::NotFound => StatusCode::NOT_FOUND,
        C::AlreadyExists | C::Aborted => StatusCode::CONFLICT,
        C::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        C::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The one mapping of errors (which also logs internal ones and hides their text).
        let status = tonic::Status::from(self.0);
        let details = status.get_error_details();
        let http = http_status(status.code());
        let mut error = json!({
            "code": http.as_u16(),
            "reason": details.error_info().map(|i| i.reason.clone()).unwrap_or_default(),
            "message": status.message(),
        });
        if let Some(b) = details.bad_request() {
            let fields: Vec<Value> = b
                .field_violations
                .iter()
                .map(|v| json!({ "field": v.field, "description": v.description }))
                .collect();
            error["fieldViolations"] = fields.into();
        }
        (http, Json(json!({ "error": error }))).into_response()
    }
}

/// The session cookie's value, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == session::COOKIE)
        .map(|(_, value)| value)
}

/// Whether the cookie must be `Secure`: always, except for a browser that reached us on a
/// loopback name over plain HTTP (development), where a browser would drop a Secure cookie.
fn secure(headers: &HeaderMap) -> bool {
    let text = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    if text("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        return true;
    }
    let host = text(header::HOST.as_str()).unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

impl Console {
    /// The caller of a request, if it holds `need`: a bearer header wins over the session
    /// cookie (non-browser clients), and with neither only the sandbox lets a call through.
    pub(super) async fn caller(
        &self,
        headers: &HeaderMap,
        need: Scope,
    ) -> Result<Caller, ApiError> {
        let (caller, scopes) = self.identity(headers).await?;
        if !scopes.contains(&need) {
            return Err(Error::PermissionDenied {
                reason: Reason::ScopeMissing,
                message: format!("this needs the {} scope", need.as_str()),
                metadata: vec![("scope".into(), need.as_str().into())],
            }
            .into());
        }
        Ok(caller)
    }

    /// The caller of a request that changes something, if it holds `need`. With a session
    /// cookie (a browser) the request must also come from our own origin (`Origin`, when the
    /// browser sends it, names this host) and carry the session's CSRF token in
    /// `X-CSRF-Token`: a page elsewhere cannot make the browser act for its user.
    pub(super) async fn changer(
        &self,
        headers: &HeaderMap,
        need: Scope,
    ) -> Result<Caller, ApiError> {
        let caller = self.caller(headers, need).await?;
        if headers.contains_key(header::AUTHORIZATION) {
            return Ok(caller);
        }
        if let Some(token) = session_cookie(headers) {
            let csrf = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_origin(headers) || !session::csrf_matches(token, csrf) {
                return Err(Error::PermissionDenied {
                    reason: Reason::CsrfRejected,
                    message: "a console change needs the session's X-CSRF-Token header, \
                              from the console's own origin"
                        .into(),
                    metadata: Vec::new(),
                }
                .into());
            }
        }
        Ok(caller)
    }

    /// The caller of a request and every scope it holds.
    pub(super) async fn identity(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Caller, Vec<Scope>), ApiError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default());
        Ok(match (bearer, session_cookie(headers)) {
            (Some(b), _) => self.authn.authenticate(Some(b), None).await?,
            (None, Some(token)) => session::verify(&self.authn, token, self.now()).await?,
            (None, None) => self.authn.authenticate(None, None).await?,
        })
    }
}

/// Whether the request's `Origin` (sent by browsers with every POST) is this host, as the
/// browser reached it (`Host`, or `X-Forwarded-Host` behind a proxy). No `Origin` (a
/// non-browser client): the CSRF token alone decides.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let Some(origin) = text("origin") else {
        return true;
    };
    let host = text("x-forwarded-host").or_else(|| text(header::HOST.as_str()));
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// The CSRF token of the request's session cookie, if it has one (the console reads it from
/// the overview; it is never a secret to the page that holds the cookie).
pub(super) fn csrf_of(headers: &HeaderMap) -> Option<String> {
    session_cookie(headers).map(session::csrf_token)
}

/// What the console shows of its caller.
pub(super) fn caller_json(caller: &Caller, scopes: &[Scope]) -> Value {
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    json!({ "actor": caller.actor().as_str(), "scopes": scopes })
}

/// `POST /v1/session` with `Authorization: Bearer <API key>`: sets the session cookie.
pub(super) async fn open(
    State(c): State<Console>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        return Err(Error::Unauthenticated {
            reason: Reason::ApiKeyMissing,
            message: "send 'Authorization: Bearer <API key>' to open a session".into(),
        }
        .into());
    };
    let authorization = authorization.to_str().unwrap_or_default();
    let now = c.now();
    let (s, caller, scopes) = session::open(&c.authn, authorization, now).await?;
    let max_age = (s.expires_ms - now).max(0) / 1000;
    let mut cookie = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}",
        session::COOKIE,
        s.token
    );
    if secure(&headers) {
        cookie.push_str("; Secure");
    }
    let mut body = caller_json(&caller, &scopes);
    body["expireTime"] = time_ms(s.expires_ms);
    body["csrfToken"] = s.csrf.clone().into();
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `DELETE /v1/session`: ends the session (every replica refuses it within
/// `api_key_cache_ms`) and clears the cookie.
pub(super) async fn close(State(c): State<Console>, headers: HeaderMap) -> Response {
    if let Some(token) = session_cookie(&headers)
        && let Err(e) = session::close(&c.authn, token).await
    {
        return ApiError::from(e).into_response();
    }
    let mut cookie = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        session::COOKIE
    );
    if secure(&headers) {
        cookie.push_str("; Secure");
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; otn_session=tok.1.ab; b=2")]);
        assert_eq!(session_cookie(&h), Some("tok.1.ab"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "x=otn_session")])),
            None
        );
    }

    #[test]
    fn cookies_are_secure_except_on_plain_loopback() {
        assert!(!secure(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(!secure(&headers(&[("host", "localhost")])));
        assert!(!secure(&headers(&[("host", "[::1]:8080")])));
        assert!(secure(&headers(&[("host", "otn.example.com")])));
        assert!(secure(&headers(&[("host", "10.0.0.5:8080")])));
        let proxied = headers(&[("host", "127.0.0.1"), ("x-forwarded-proto", "https")]);
        assert!(secure(&proxied));
    }

    #[test]
    fn errors_keep_the_grpc_codes_meaning() {
        let r = ApiError::from(Error::Unauthenticated {
            reason: Reason::ApiKeyMissing,
            message: "no key".into(),
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = ApiError::from(Error::field("page_id", "bad")).into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = ApiError::from(Error::Internal("db down".into())).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
