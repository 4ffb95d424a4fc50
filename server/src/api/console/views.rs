//! The console's JSON endpoints under `/v1/console/`: overview, pages (rate, pause, recent
//! 613s), notifications (through the sending use cases), topics with eligible counts (through
//! ListEligible's use case), sends per second, and cancelling.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Console;
use super::auth::{ApiError, caller_json};
use super::pbjson::{self, int64, time_ms};
use crate::access::{Caller, Scope};
use crate::api::grpc::send::notification;
use crate::domain::grant::{EligibleQuery, TagFilter};
use crate::domain::values::{NotificationId, PageId, TopicKey};
use crate::error::{Error, Result};
use crate::service::Insights;

/// Meta's rate-limit error code (Send API: "calls to this API have exceeded the rate limit").
const RATE_LIMITED: i32 = 613;
/// How far back "recent" 613s go.
const RECENT_MS: i64 = 10 * 60 * 1000;
/// Notifications listed at most.
const NOTIFICATIONS_MAX: u64 = 100;
/// Topics listed per page at most.
const TOPICS_MAX: u64 = 100;
/// The sends chart covers at most this many minutes.
const CHART_MINUTES_MAX: i64 = 30;

type Answer = std::result::Result<Json<Value>, ApiError>;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    #[serde(default)]
    page_id: String,
    limit: Option<u64>,
    minutes: Option<i64>,
}

impl Console {
    /// A reader of the request (it needs `read`) and the pages it asks about.
    async fn reader(
        &self,
        headers: &HeaderMap,
        asked: &str,
    ) -> Result<(Caller, Vec<String>), ApiError> {
        let caller = self.caller(headers, Scope::Read).await?;
        let pages = self.visible_pages(&caller, asked)?;
        Ok((caller, pages))
    }

    /// The configured pages the caller may see, by id; only `asked` when given (checked).
    fn visible_pages(&self, caller: &Caller, asked: &str) -> Result<Vec<String>> {
        if !asked.is_empty() {
            let page = PageId::parse("page_id", asked).map_err(Error::from)?;
            caller.may_act_on(page.as_str())?;
            self.deps().pages().get(page.as_str())?;
            return Ok(vec![page.into_string()]);
        }
        let mut pages: Vec<String> = self
            .deps()
            .pages()
            .all()
            .iter()
            .map(|p| p.page_id.clone())
            .filter(|p| caller.may_act_on(p).is_ok())
            .collect();
        pages.sort();
        Ok(pages)
    }
}

/// `GET /v1/console/overview`: who is calling, the pages, the log's head, sandbox or not.
pub(super) async fn overview(State(c): State<Console>, headers: HeaderMap) -> Answer {
    let (caller, scopes) = c.identity(&headers).await?;
    if !scopes.contains(&Scope::Read) {
        return Err(Error::PermissionDenied {
            reason: crate::error::Reason::ScopeMissing,
            message: "the console needs the read scope".into(),
            metadata: vec![("scope".into(), "read".into())],
        }
        .into());
    }
    let pages = c.visible_pages(&caller, "")?;
    let head = c.views.log_head().await?;
    Ok(Json(json!({
        "caller": caller_json(&caller, &scopes),
        "pages": pages,
        "lastSequence": int64(head),
        "sandbox": c.sandbox,
        "now": time_ms(c.now()),
        "csrfToken": super::auth::csrf_of(&headers),
    })))
}

/// `GET /v1/console/pages`: each page's rate, pause and the 613s of the last ten minutes.
pub(super) async fn pages(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Answer {
    let (_, ids) = c.reader(&headers, &q.page_id).await?;
    let now = c.now();
    let rows = c.views.pages(&ids).await?;
    let recent = c
        .views
        .recent_code(&ids, RATE_LIMITED, now - RECENT_MS)
        .await?;
    let mut out = Vec::new();
    for id in &ids {
        let config = c.deps().pages().get(id)?;
        let row = rows.iter().find(|r| &r.page_id == id);
        let until = row.and_then(|r| r.paused_until).filter(|u| *u > now);
        let breaker = &config.politeness;
        let window_ms = (breaker.breaker_window_secs as i64).saturating_mul(1000);
        let signals = c.views.negative_signals(id, now - window_ms).await?;
        out.push(json!({
            "pageId": id,
            "region": config.region,
            "rateLimitPerSec": config.rate_limit_per_sec,
            "paused": until.is_some(),
            "pausedUntil": until.map(time_ms),
            "pauseReason": until.and(row.and_then(|r| r.pause_reason.clone())),
            "recentRateLimited": recent.counts.get(id).copied().unwrap_or(0),
            "negativeSignals": signals,
            "breakerThreshold": breaker.breaker_threshold,
            "breakerWindowSecs": breaker.breaker_window_secs,
        }));
    }
    Ok(Json(
        json!({ "pages": out, "recentMinutes": RECENT_MS / 60_000 }),
    ))
}

/// `GET /v1/console/notifications`: the newest notifications of the caller's pages (or one),
/// with their plan and deliveries per state.
pub(super) async fn notifications(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Answer {
    let (_, pages) = c.reader(&headers, &q.page_id).await?;
    let limit = q.limit.unwrap_or(30).clamp(1, NOTIFICATIONS_MAX);
    let mut all = Vec::new();
    for page in pages {
        all.extend(c.sending.list(&page, &[], None, limit).await?);
    }
    // Ids are UUID v7: by id is by creation, across pages too.
    all.sort_by(|a, b| b.notification.id.cmp(&a.notification.id));
    all.truncate(limit as usize);
    let list: Vec<Value> = all
        .iter()
        .map(|s| pbjson::notification(&notification(s)))
        .collect();
    Ok(Json(json!({ "notifications": list })))
}

/// The notification `id`, if the caller may see its page.
async fn visible_notification(
    c: &Console,
    caller: &Caller,
    id: &str,
) -> Result<crate::domain::notification::NotificationStatus> {
    let id = NotificationId::parse("notification_id", id).map_err(Error::from)?;
    c.sending.status(id.as_str(), caller).await
}

/// `GET /v1/console/notifications/{id}`: one notification, and its failures per Meta code.
pub(super) async fn notification_detail(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let caller = c.caller(&headers, Scope::Read).await?;
    let status = visible_notification(&c, &caller, &id).await?;
    let failures: Vec<Value> = c
        .views
        .failures(&status.notification.id)
        .await?
        .into_iter()
        .map(|f| {
            json!({
                "reason": f.reason,
                "code": f.code,
                "subcode": f.subcode,
                "message": f.message,
                "count": int64(f.count),
            })
        })
        .collect();
    Ok(Json(json!({
        "notification": pbjson::notification(&notification(&status)),
        "failures": failures,
    })))
}

/// `POST /v1/console/notifications/{id}/cancel`: CancelNotification; needs the send scope.
pub(super) async fn cancel(
    State(c): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let caller = c.changer(&headers, Scope::Send).await?;
    let current = visible_notification(&c, &caller, &id).await?;
    let (status, n) = c.sending.cancel(&current.notification.id, &caller).await?;
    tracing::info!(
        actor = caller.actor().as_str(),
        notification_id = %status.notification.id,
        cancelled = n,
        "notification cancelled from the console"
    );
    Ok(Json(json!({
        "notification": pbjson::notification(&notification(&status)),
        "cancelledDeliveries": int64(n as i64),
    })))
}

/// `GET /v1/console/topics?page_id=`: a page's topics and how many people are eligible on
/// each now (ListEligible's count).
pub(super) async fn topics(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Answer {
    let (_, pages) = c.reader(&headers, &q.page_id).await?;
    let Some(page) = pages.into_iter().next() else {
        return Ok(Json(json!({ "topics": [] })));
    };
    let page_id = PageId::parse("page_id", &page).map_err(Error::from)?;
    let mut out = Vec::new();
    for key in c.views.topics(&page, TOPICS_MAX).await? {
        let Ok(topic_key) = TopicKey::parse("topic_key", &key) else {
            continue;
        };
        let query = EligibleQuery {
            page_id: page_id.clone(),
            topic_key,
            tags: TagFilter::default(),
            regions: Vec::new(),
        };
        let counted = c
            .consent
            .list_eligible(query, 0, 0, false, Some(None))
            .await?;
        out.push(json!({ "topicKey": key, "eligible": int64(counted.total.unwrap_or(0)) }));
    }
    Ok(Json(json!({ "pageId": page, "topics": out })))
}

/// `GET /v1/console/sends?minutes=`: SENT events per page and second over the last minutes,
/// counted through `throughSequence` (live SENT events after it add to the chart).
pub(super) async fn sends(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Answer {
    let (_, ids) = c.reader(&headers, &q.page_id).await?;
    let minutes = q.minutes.unwrap_or(5).clamp(1, CHART_MINUTES_MAX);
    let since = c.now() - minutes * 60_000;
    let tally = c.views.sends_per_second(&ids, since).await?;
    let points: Vec<Value> = tally
        .counts
        .iter()
        .map(|(page, second, n)| json!({ "pageId": page, "second": second, "count": n }))
        .collect();
    Ok(Json(json!({
        "since": time_ms(since),
        "throughSequence": int64(tally.through),
        "points": points,
    })))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FunnelParams {
    #[serde(default)]
    page_id: String,
    #[serde(default)]
    topic_key: String,
    #[serde(default)]
    notification_id: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
}

/// `GET /v1/console/funnel?page_id=&topic_key=` (or `?notification_id=`), with optional
/// `start_date` and `end_date`: GetFunnel, in the proto3 JSON mapping.
pub(super) async fn funnel(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<FunnelParams>,
) -> Answer {
    let caller = c.caller(&headers, Scope::Read).await?;
    let req = otn::v1::GetFunnelRequest {
        page_id: q.page_id,
        topic_key: q.topic_key,
        notification_id: q.notification_id,
        start_date: q.start_date,
        end_date: q.end_date,
    };
    let query = crate::api::grpc::funnel::query(&req)?;
    let f = Insights::new(c.consent.deps_arc())
        .funnel(query, &caller)
        .await?;
    Ok(Json(pbjson::funnel(&crate::api::grpc::funnel::funnel(&f))))
}
