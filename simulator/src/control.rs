//! The JSON control API under `/_sim/`, for tests that run the service as a separate process.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Inner, Simulator, faults::Fault};

/// Routes of the control API on the simulator's own listener: the shopper's and the test's
/// controls, plus re-targeting (pages and the webhook URL).
pub(super) fn router() -> Router<Arc<Inner>> {
    shopper_router()
        .route("/_sim/pages", post(add_page))
        .route("/_sim/webhook", post(set_webhook))
}

/// The controls that act within the simulator as it was started (shoppers, faults, stats).
pub(super) fn shopper_router() -> Router<Arc<Inner>> {
    Router::new()
        .route(
            "/_sim/health",
            get(|| async { Json(json!({ "ok": true })) }),
        )
        .route("/_sim/message", post(message))
        .route("/_sim/postback", post(postback))
        .route("/_sim/tap", post(tap))
        .route("/_sim/read", post(read))
        .route("/_sim/open_window", post(open_window))
        .route("/_sim/notify_me", post(notify_me))
        .route("/_sim/issue_otn", post(issue_otn))
        .route("/_sim/marketing_optin", post(marketing_optin))
        .route("/_sim/stop", post(stop))
        .route("/_sim/resume", post(resume))
        .route("/_sim/stats", get(stats))
        .route("/_sim/messages", get(messages))
        .route("/_sim/opt_in_requests", get(opt_in_requests))
        .route("/_sim/tokens/{token}", get(token_count))
        .route("/_sim/faults", post(faults))
        .route("/_sim/settings", post(settings))
}

fn sim(inner: Arc<Inner>) -> Simulator {
    Simulator { inner }
}

fn outcome(r: anyhow::Result<Value>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": format!("{e:#}") })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct PageReq {
    page_id: String,
    access_token: String,
}

async fn add_page(State(i): State<Arc<Inner>>, Json(r): Json<PageReq>) -> Json<Value> {
    sim(i).add_page(&r.page_id, &r.access_token);
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct WebhookReq {
    url: String,
    app_secret: String,
}

async fn set_webhook(State(i): State<Arc<Inner>>, Json(r): Json<WebhookReq>) -> Json<Value> {
    sim(i).set_webhook(r.url, r.app_secret);
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct Person {
    page_id: String,
    psid: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    payload: String,
    #[serde(default)]
    token: String,
}

async fn message(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i)
        .user_sends_message(&p.page_id, &p.psid, &p.text)
        .await;
    outcome(r.map(|mid| json!({ "mid": mid })))
}

async fn postback(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i)
        .user_postback(&p.page_id, &p.psid, &p.title, &p.payload)
        .await;
    outcome(r.map(|mid| json!({ "mid": mid })))
}

#[derive(Deserialize)]
struct Tap {
    page_id: String,
    psid: String,
    #[serde(default)]
    button: usize,
}

async fn tap(State(i): State<Arc<Inner>>, Json(t): Json<Tap>) -> Response {
    let r = sim(i).user_taps_button(&t.page_id, &t.psid, t.button).await;
    outcome(r)
}

async fn read(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i).user_reads(&p.page_id, &p.psid).await;
    outcome(r.map(|()| json!({ "ok": true })))
}

async fn open_window(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Json<Value> {
    sim(i).open_window(&p.page_id, &p.psid);
    Json(json!({ "ok": true }))
}

async fn notify_me(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i)
        .user_taps_notify_me(&p.page_id, &p.psid, &p.payload)
        .await;
    outcome(r.map(|token| json!({ "token": token })))
}

async fn issue_otn(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Json<Value> {
    Json(json!({ "token": sim(i).issue_otn_token(&p.page_id, &p.psid) }))
}

async fn marketing_optin(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i)
        .user_opts_in_marketing(&p.page_id, &p.psid, &p.title, &p.payload)
        .await;
    outcome(r.map(|token| json!({ "token": token })))
}

async fn stop(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i).user_stops(&p.page_id, &p.psid, &p.token).await;
    outcome(r.map(|()| json!({ "ok": true })))
}

async fn resume(State(i): State<Arc<Inner>>, Json(p): Json<Person>) -> Response {
    let r = sim(i).user_resumes(&p.page_id, &p.psid, &p.token).await;
    outcome(r.map(|()| json!({ "ok": true })))
}

async fn stats(State(i): State<Arc<Inner>>) -> Json<Value> {
    Json(json!(sim(i).stats()))
}

async fn messages(State(i): State<Arc<Inner>>) -> Json<Value> {
    Json(json!(sim(i).accepted_messages()))
}

#[derive(Deserialize)]
struct PersonQuery {
    page_id: String,
    psid: String,
}

async fn opt_in_requests(State(i): State<Arc<Inner>>, Query(q): Query<PersonQuery>) -> Json<Value> {
    Json(json!(sim(i).opt_in_requests_sent(&q.page_id, &q.psid)))
}

async fn token_count(State(i): State<Arc<Inner>>, Path(token): Path<String>) -> Json<Value> {
    Json(json!({ "accepted": sim(i).accepted_for_token(&token) }))
}

/// A fault as JSON: `{"kind": "timeout", "ms": 3000}`.
#[derive(Deserialize)]
struct FaultSpec {
    kind: String,
    #[serde(default)]
    ms: u64,
    code: Option<i64>,
    regain_minutes: Option<u32>,
}

impl FaultSpec {
    fn to_fault(&self) -> Result<Fault, String> {
        let ms = Duration::from_millis(self.ms);
        Ok(match self.kind.as_str() {
            "rate_limited" => Fault::RateLimitedWith {
                code: self.code.unwrap_or(613),
                regain_minutes: self.regain_minutes.unwrap_or(1),
            },
            "server_error" => Fault::ServerErrorCode(self.code.unwrap_or(2)),
            "accept_then_server_error" => Fault::AcceptThenServerErrorCode(self.code.unwrap_or(2)),
            "accept_then_bad_gateway" => Fault::AcceptThenBadGateway,
            "timeout" => Fault::Timeout(ms),
            "accept_then_timeout" => Fault::AcceptThenTimeout(ms),
            "drop_connection" => Fault::DropConnection,
            "accept_then_drop" => Fault::AcceptThenDrop,
            "token_invalid" => Fault::TokenInvalid,
            "page_token_invalid" => Fault::PageTokenInvalid,
            "blocked" => Fault::Blocked,
            "blocked_page" => Fault::BlockedPage,
            other => return Err(format!("unknown fault kind {other}")),
        })
    }
}

#[derive(Deserialize)]
struct Rate {
    fault: FaultSpec,
    per_mille: u32,
}

/// `{"clear": bool, "queue": [FaultSpec], "rates": [{"fault": FaultSpec, "per_mille": n}]}`.
#[derive(Deserialize)]
struct FaultsReq {
    #[serde(default)]
    clear: bool,
    #[serde(default)]
    queue: Vec<FaultSpec>,
    #[serde(default)]
    rates: Vec<Rate>,
}

async fn faults(State(i): State<Arc<Inner>>, Json(r): Json<FaultsReq>) -> Response {
    let parsed = (|| -> Result<_, String> {
        let queue = r
            .queue
            .iter()
            .map(FaultSpec::to_fault)
            .collect::<Result<Vec<_>, _>>()?;
        let rates = r
            .rates
            .iter()
            .map(|x| x.fault.to_fault().map(|f| (f, x.per_mille)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((queue, rates))
    })();
    let (queue, rates) = match parsed {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response(),
    };
    let s = sim(i);
    if r.clear {
        s.clear_faults();
    }
    s.inject(queue);
    for (f, rate) in rates {
        s.set_fault_rate(f, rate);
    }
    Json(json!({ "queued": s.queued_faults() })).into_response()
}

/// Runtime switches; absent fields stay as they are.
#[derive(Deserialize)]
struct SettingsReq {
    latency_ms: Option<u64>,
    auto_receipts: Option<bool>,
    auto_reads: Option<bool>,
    echoes: Option<bool>,
    echo_before_answer: Option<bool>,
    webhook_duplicate_per_mille: Option<u32>,
}

async fn settings(State(i): State<Arc<Inner>>, Json(r): Json<SettingsReq>) -> Json<Value> {
    use std::sync::atomic::Ordering;
    if let Some(ms) = r.latency_ms {
        sim(Arc::clone(&i)).set_latency(Duration::from_millis(ms));
    }
    if let Some(v) = r.auto_receipts {
        i.auto_receipts.store(v, Ordering::Relaxed);
    }
    if let Some(v) = r.auto_reads {
        i.auto_reads.store(v, Ordering::Relaxed);
    }
    if let Some(v) = r.echoes {
        i.echoes.store(v, Ordering::Relaxed);
    }
    if let Some(v) = r.echo_before_answer {
        i.echo_before_answer.store(v, Ordering::Relaxed);
    }
    if let Some(v) = r.webhook_duplicate_per_mille {
        i.webhook_dup_per_mille
            .store(v.min(1000), Ordering::Relaxed);
    }
    Json(json!({ "ok": true }))
}
