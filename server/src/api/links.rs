//! Tracked links on the HTTP listener: `GET /l/{delivery}/{button}/{signature}` checks the
//! signature, counts the delivery's first click (CLICKED) and redirects (302) to the URL the send
//! named; anything else is 404, the same for a bad signature as for an unknown delivery. A HEAD
//! is answered alike but counts nothing. Nothing of the browser (address, agent, cookies) is
//! stored.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::ops::metrics;
use crate::service::Insights;

/// The route of tracked links.
pub(crate) fn router(insights: Insights) -> Router {
    Router::new()
        .route("/l/{delivery}/{button}/{signature}", get(open))
        .with_state(insights)
}

fn not_found() -> Response {
    metrics::click("not_found");
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn open(
    State(insights): State<Insights>,
    method: Method,
    Path((delivery, button, signature)): Path<(String, String, String)>,
) -> Response {
    let (Ok(delivery), Ok(button)) = (delivery.parse::<i64>(), button.parse::<usize>()) else {
        return not_found();
    };
    if delivery <= 0 || button >= otn::limits::BUTTONS_MAX || signature.len() > 64 {
        return not_found();
    }
    let count = method == Method::GET;
    match insights
        .open_link(delivery, button, &signature, count)
        .await
    {
        Ok(Some(url)) => {
            let Ok(location) = HeaderValue::from_str(&url) else {
                return not_found();
            };
            metrics::click("redirected");
            let mut r = StatusCode::FOUND.into_response();
            let h = r.headers_mut();
            h.insert(header::LOCATION, location);
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            r
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "tracked link failed");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}
