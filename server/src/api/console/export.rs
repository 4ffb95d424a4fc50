//! `GET /v1/console/notifications/{id}/deliveries?format=csv|json|ndjson`: one notification's
//! deliveries for BI tools, streamed as they are read (a window of ids at a time, never the
//! whole notification in memory). Needs the read scope, like every console read; a key limited
//! to pages sees only their notifications. Each delivery is as it was when its window was read.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Console;
use super::auth::ApiError;
use crate::access::Scope;
use crate::domain::values::NotificationId;
use crate::error::Error;
use crate::ops::metrics;
use crate::service::Insights;
use crate::store::ExportRow;

/// What the export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(super) enum Format {
    /// Comma-separated values with a header row (RFC 4180).
    #[default]
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line (JSON Lines).
    Ndjson,
}

#[derive(Debug, Deserialize)]
pub(super) struct ExportQuery {
    #[serde(default)]
    format: Format,
}

/// The columns, in order (CSV header, JSON keys).
const COLUMNS: [&str; 12] = [
    "delivery_id",
    "psid",
    "path",
    "state",
    "grant_id",
    "message_id",
    "attempts",
    "create_time",
    "send_time",
    "engage_time",
    "click_time",
    "failure_reason",
];

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn values(r: &ExportRow) -> [String; 12] {
    [
        r.delivery_id.to_string(),
        r.psid.clone(),
        format!("{:?}", r.path).to_uppercase(),
        format!("{:?}", r.state).to_uppercase(),
        r.grant_id.map(|g| g.to_string()).unwrap_or_default(),
        r.message_id.clone().unwrap_or_default(),
        r.attempts.to_string(),
        time(Some(r.created_ms)),
        time(r.sent_ms),
        time(r.engaged_ms),
        time(r.clicked_ms),
        r.failure_reason.clone().unwrap_or_default(),
    ]
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    match s.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", s.replace('"', "\"\"")),
        false => s.to_string(),
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn json_of(r: &ExportRow) -> serde_json::Value {
    let v = values(r);
    let mut m = serde_json::Map::new();
    for (k, v) in COLUMNS.iter().zip(v) {
        let value = match *k {
            "delivery_id" | "attempts" => json!(v.parse::<i64>().unwrap_or(0)),
            _ if v.is_empty() => serde_json::Value::Null,
            _ => json!(v),
        };
        m.insert((*k).to_string(), value);
    }
    serde_json::Value::Object(m)
}

/// Where a streamed export stands.
struct Cursor {
    insights: Insights,
    id: NotificationId,
    format: Format,
    next: i64,
    last: i64,
    started: bool,
    done: bool,
    /// Deliveries written so far.
    rows: u64,
}

impl Cursor {
    /// The next chunk of the body, or `None` at the end.
    async fn chunk(&mut self) -> Option<Result<Bytes, Error>> {
        if self.done {
            return None;
        }
        let mut out = String::new();
        if !self.started {
            self.started = true;
            match self.format {
                Format::Csv => out.push_str(&csv_line(&COLUMNS.map(str::to_string))),
                Format::Json => out.push('['),
                Format::Ndjson => {}
            }
        }
        // Windows until one holds deliveries, or the end.
        while self.next <= self.last {
            let (rows, next) = match self.insights.export_window(&self.id, self.next).await {
                Ok(w) => w,
                Err(e) => {
                    self.done = true;
                    tracing::warn!(error = %e, "export ended early");
                    return Some(Err(e));
                }
            };
            self.next = next;
            for r in &rows {
                match self.format {
                    Format::Csv => out.push_str(&csv_line(&values(r))),
                    Format::Ndjson => {
                        out.push_str(&json_of(r).to_string());
                        out.push('\n');
                    }
                    Format::Json => {
                        if self.rows > 0 {
                            out.push(',');
                        }
                        out.push_str(&json_of(r).to_string());
                    }
                }
                self.rows += 1;
            }
            if !rows.is_empty() {
                return Some(Ok(Bytes::from(out)));
            }
        }
        self.done = true;
        if self.format == Format::Json {
            out.push_str("]\n");
        }
        Some(Ok(Bytes::from(out)))
    }
}

pub(super) async fn deliveries(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let caller = c.caller(&headers, Scope::Read).await?;
    let id = NotificationId::parse("notification_id", &id).map_err(Error::from)?;
    let insights = Insights::new(c.consent.deps_arc());
    let span = insights.export_span(&id, &caller).await?;
    let (first, last) = span.unwrap_or((1, 0));
    metrics::export(format_name(q.format));
    let cursor = Cursor {
        insights,
        id: id.clone(),
        format: q.format,
        next: first,
        last,
        started: false,
        done: false,
        rows: 0,
    };
    let stream = futures::stream::unfold(cursor, |mut cur| async move {
        let chunk = cur.chunk().await?;
        Some((chunk, cur))
    });
    let (content_type, ext) = match q.format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let mut r = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"deliveries-{}.{ext}\"",
        id.as_str()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Ndjson => "ndjson",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_line(&["1".into(), "x\ny".into()]), "1,\"x\ny\"\r\n");
    }
}
