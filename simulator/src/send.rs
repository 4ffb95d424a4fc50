//! The Send API endpoint: page authentication, Meta's sending rules, faults and the answer.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::post,
};

use super::{
    Inner,
    errors::{
        CODE_APP_RATE_LIMIT, CODE_POLICY, CODE_RATE_LIMIT, CODE_TEMPORARY, GraphError,
        MARKETING_TOKEN_FIELD, ONE_TIME_TOKEN_FIELD, SUBCODE_MARKETING_COOLDOWN,
        SUBCODE_OPTIN_REPEATED, SUBCODE_STOPPED, bad_gateway,
    },
    faults::{Effect, dropped_response},
    payload::{self, Content, Recipient, SendRequest},
    state::{AcceptedMessage, GrantKind, OptInRequestSent, Page},
    webhook,
};

/// One hour in milliseconds.
pub(super) const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub(super) const DAY_MS: i64 = 24 * HOUR_MS;
/// 2026-04-27T00:00:00Z: CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE are refused from then.
const TAGS_RETIRED_MS: i64 = 1_777_248_000_000;
/// 2025-09-01T00:00:00Z: the marketing-token cooldown went from 24 h to 48 h.
const COOLDOWN_48H_FROM_MS: i64 = 1_756_684_800_000;

/// Routes of the Send API.
pub(super) fn router() -> Router<Arc<Inner>> {
    Router::new().route("/{version}/{page}/messages", post(send))
}

async fn send(
    State(inner): State<Arc<Inner>>,
    Path((version, page_seg)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = access_token(query.as_deref(), &headers);
    let page = token.as_deref().and_then(|t| inner.world.page_for_token(t));
    let effect = inner.faults.next().map(|f| {
        let hint = page.as_ref().map_or(page_seg.as_str(), |p| p.id.as_str());
        f.effect(hint, token_field(&body))
    });
    let stall_after = match &effect {
        Some(Effect::ProcessThenStall(d)) => Some(*d),
        _ => None,
    };
    let drop_after = matches!(effect, Some(Effect::ProcessThenDrop));
    let bad_gateway_after = matches!(effect, Some(Effect::ProcessThenBadGateway));
    let fail_after = match &effect {
        Some(Effect::ProcessThenFail(e)) => Some(e.clone()),
        _ => None,
    };
    let resp = match effect {
        Some(Effect::Refuse(e)) => e.into_response(),
        Some(Effect::StallThenFail(d)) => {
            tokio::time::sleep(d).await;
            GraphError::server_error(CODE_TEMPORARY).into_response()
        }
        Some(Effect::Drop) => return dropped_response(),
        _ => match process(&inner, &version, &page_seg, page, &body) {
            Ok((ok, echoed)) => {
                // Meta often echoes a message before its Send API answers.
                if let Some(echoed) = echoed {
                    let _ = echoed.await;
                }
                ok
            }
            Err(e) => e.into_response(),
        },
    };
    let latency = inner.latency_us.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_micros(latency)).await;
    }
    if let Some(d) = stall_after {
        tokio::time::sleep(d).await;
    }
    match (drop_after, fail_after) {
        (true, _) => dropped_response(),
        (false, Some(e)) => e.into_response(),
        (false, None) if bad_gateway_after => bad_gateway(),
        (false, None) => resp,
    }
}

/// The token field of a send's recipient, for refusals that name it (one-time by default).
fn token_field(body: &[u8]) -> &'static str {
    let named = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b.get("recipient")?.get(MARKETING_TOKEN_FIELD).cloned());
    match named {
        Some(_) => MARKETING_TOKEN_FIELD,
        None => ONE_TIME_TOKEN_FIELD,
    }
}

/// The page access token from `access_token=` or `Authorization: Bearer`.
fn access_token(query: Option<&str>, headers: &HeaderMap) -> Option<String> {
    let from_query = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(percent_decode)
    });
    from_query.or_else(|| {
        let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, value) = auth.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
            .then(|| value.trim().to_owned())
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    // Two hex digits always fit a byte.
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_version(v: &str) -> bool {
    v.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// Authenticates, validates and applies the rules; on success records the send and answers 200,
/// with the echo to wait for first when echoes come before answers.
fn process(
    inner: &Arc<Inner>,
    version: &str,
    page_seg: &str,
    page: Option<Arc<Page>>,
    body: &[u8],
) -> Result<(Response, Option<webhook::Posted>), GraphError> {
    if !is_version(version) {
        return Err(GraphError::invalid(format!(
            "Unknown API version {version}"
        )));
    }
    let page = page.ok_or_else(GraphError::bad_access_token)?;
    if page_seg != "me" && page_seg != page.id {
        return Err(GraphError::bad_access_token());
    }
    let now = inner.now();
    if inner.settings.record_messages {
        page.log_call(now);
    }
    if let Some(limit) = inner.settings.page_rate_limit_per_sec
        && page.count_call(now) > limit
    {
        return Err(GraphError::rate_limited(CODE_RATE_LIMIT, &page.id, 1));
    }
    let req = payload::parse(body)?;
    let mid = inner.world.next_id("m_");
    let (psid, token, kind) = match &req.recipient {
        Recipient::Id(psid) => {
            check_id_send(inner, &page.id, psid, &req, now, &mid)?;
            (psid.clone(), None, None)
        }
        Recipient::Otn(t) => {
            let psid = check_token_send(
                inner,
                &page.id,
                t,
                GrantKind::OneTimeNotification,
                &req,
                now,
            )?;
            (psid, Some(t.clone()), Some(GrantKind::OneTimeNotification))
        }
        Recipient::Marketing(t) => {
            let psid = check_token_send(
                inner,
                &page.id,
                t,
                GrantKind::NotificationMessages,
                &req,
                now,
            )?;
            (psid, Some(t.clone()), Some(GrantKind::NotificationMessages))
        }
    };
    let echoed = webhook::after_accept(inner, &page.id, &psid, &mid, now, &req.message);
    let body = serde_json::json!({ "recipient_id": psid, "message_id": mid }).to_string();
    let record = inner.settings.record_messages.then(|| AcceptedMessage {
        page_id: page.id.clone(),
        recipient_psid: psid,
        token,
        token_kind: kind,
        message: req.message,
        mid,
        accepted_at_ms: now,
        messaging_type: req.messaging_type,
        tag: req.tag,
    });
    inner.world.record(record);
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((resp, echoed))
}

/// How a send to `recipient.id` may leave the window.
enum TagClass {
    None,
    HumanAgent,
    Legacy,
}

fn tag_class(inner: &Inner, req: &SendRequest, now: i64) -> Result<TagClass, GraphError> {
    let is_tag_type = req.messaging_type.as_deref() == Some("MESSAGE_TAG");
    let Some(tag) = req.tag.as_deref() else {
        if is_tag_type {
            return Err(GraphError::invalid(
                "tag is required when messaging_type is MESSAGE_TAG",
            ));
        }
        if inner.settings.require_messaging_type && req.messaging_type.is_none() {
            return Err(GraphError::invalid("param messaging_type is required"));
        }
        return Ok(TagClass::None);
    };
    if !is_tag_type {
        return Err(GraphError::invalid(
            "messaging_type must be MESSAGE_TAG when tag is set",
        ));
    }
    match tag {
        "HUMAN_AGENT" => Ok(TagClass::HumanAgent),
        "CONFIRMED_EVENT_UPDATE" | "POST_PURCHASE_UPDATE" | "ACCOUNT_UPDATE" => {
            if now >= TAGS_RETIRED_MS {
                Err(GraphError::invalid(format!(
                    "The tag {tag} is no longer supported"
                )))
            } else {
                Ok(TagClass::Legacy)
            }
        }
        other => Err(GraphError::invalid(format!("Invalid tag {other}"))),
    }
}

fn check_id_send(
    inner: &Inner,
    page_id: &str,
    psid: &str,
    req: &SendRequest,
    now: i64,
    mid: &str,
) -> Result<(), GraphError> {
    let class = tag_class(inner, req, now)?;
    inner.world.with_person(page_id, psid, |p| {
        let since = |span: i64| p.last_action_ms.is_some_and(|t| now < t + span);
        let none = serde_json::Value::Null;
        let (kind, title, payload, template) = match &req.content {
            Content::OtnRequest { title, payload } => {
                (GrantKind::OneTimeNotification, title, payload, &none)
            }
            Content::MarketingRequest {
                title,
                payload,
                template,
            } => (GrantKind::NotificationMessages, title, payload, template),
            Content::Text | Content::Button => {
                return match class {
                    TagClass::None if !since(DAY_MS) => Err(GraphError::outside_window()),
                    TagClass::HumanAgent if !since(7 * DAY_MS) => Err(GraphError::outside_window()),
                    _ => Ok(()),
                };
            }
        };
        if !since(DAY_MS) {
            return Err(GraphError::outside_window());
        }
        if p.optin_titles.get(title).is_some_and(|&t| now < t + 7 * DAY_MS) {
            return Err(GraphError::new(
                CODE_RATE_LIMIT,
                Some(SUBCODE_OPTIN_REPEATED),
                "(#613) An opt-in request with this title was already sent to this person this week.",
            ));
        }
        p.optin_titles.insert(title.clone(), now);
        p.requests.push(OptInRequestSent {
            kind,
            title: title.clone(),
            payload: payload.clone(),
            template: template.clone(),
            mid: mid.to_owned(),
            sent_at_ms: now,
        });
        Ok(())
    })
}

/// Applies the grant rules and spends the token; returns the token owner's PSID.
fn check_token_send(
    inner: &Inner,
    page_id: &str,
    token: &str,
    expected: GrantKind,
    req: &SendRequest,
    now: i64,
) -> Result<String, GraphError> {
    if req.tag.is_some() {
        return Err(GraphError::invalid(
            "A tag is not allowed on a send with a grant token",
        ));
    }
    if !matches!(req.content, Content::Text | Content::Button) {
        return Err(GraphError::invalid(
            "A grant send may carry only a text or a button template",
        ));
    }
    let field = match expected {
        GrantKind::OneTimeNotification => ONE_TIME_TOKEN_FIELD,
        GrantKind::NotificationMessages => MARKETING_TOKEN_FIELD,
    };
    let unknown = || GraphError::token_refused(field, "is invalid");
    let outcome = inner.world.with_token(token, |e| {
        if e.kind != expected || e.page_id != page_id {
            return Err(unknown());
        }
        match e.kind {
            GrantKind::OneTimeNotification => {
                if e.accepted > 0 {
                    return Err(GraphError::token_used());
                }
                if e.expires_ms.is_some_and(|x| now >= x) {
                    return Err(GraphError::token_refused(field, "has expired"));
                }
            }
            GrantKind::NotificationMessages => {
                if e.stopped {
                    return Err(GraphError::new(
                        CODE_POLICY,
                        Some(SUBCODE_STOPPED),
                        "(#10) The person stopped notification messages for this topic.",
                    ));
                }
                let cooldown = if now < COOLDOWN_48H_FROM_MS {
                    DAY_MS
                } else {
                    2 * DAY_MS
                };
                if e.last_sent_ms.is_some_and(|t| now < t + cooldown) {
                    return Err(GraphError::new(
                        CODE_APP_RATE_LIMIT,
                        Some(SUBCODE_MARKETING_COOLDOWN),
                        "(#4) This notification messages token was used too recently.",
                    ));
                }
                e.last_sent_ms = Some(now);
            }
        }
        e.accepted += 1;
        Ok(e.psid.clone())
    });
    outcome.unwrap_or_else(|| Err(unknown()))
}
