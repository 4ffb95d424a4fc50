//! Webhook ingestion: opt-ins become grants, STOP/RESUME change them, interactions open windows,
//! receipts mark deliveries, echoes of otn's messages confirm them. Every step is idempotent, so
//! Meta's duplicate and out-of-order deliveries are harmless; an event that cannot be applied is
//! skipped with its reason.

use super::{Consent, OptInInput, opt_in::PAYLOAD_PREFIX};
use crate::domain::evidence::Echo;
use crate::domain::grant::NewGrant;
use crate::domain::notification::Actor;
use crate::domain::polite::Signal;
use crate::domain::values::{PageId, Payload, Psid, RequestId, Title, Token, TopicKey};
use crate::domain::vocab::{GrantKind, InteractionKind};
use crate::error::{Error, Reason, Result};
use crate::messenger::webhook::{Inbound, Parsed, plausible_times};
use crate::messenger::wire;
use crate::ops::metrics;
use crate::store::{EchoApplied, Receipt};

/// What one webhook body did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IngestReport {
    /// Events applied, by kind (`opt_in`, `interaction`, …).
    pub(crate) applied: Vec<&'static str>,
    /// Events skipped, by reason.
    pub(crate) skipped: Vec<&'static str>,
}

/// Every `kind` label of the webhook metrics (`unreadable`: a body not parsed into events).
pub(crate) const KINDS: [&str; 8] = [
    "opt_in",
    "notification_status",
    "interaction",
    "delivery",
    "read",
    "echo",
    "policy_enforcement",
    "unreadable",
];

/// One webhook event counted in the metrics and in the log's periodic summary.
fn counted(kind: &'static str, outcome: &'static str, reason: &'static str) {
    metrics::webhook_event(kind, outcome, reason);
    crate::ops::summary::webhook_event(kind, outcome, reason);
}

fn kind_of(ev: &Inbound) -> &'static str {
    match ev {
        Inbound::OptIn { .. } => "opt_in",
        Inbound::NotificationStatus { .. } => "notification_status",
        Inbound::Interaction { .. } => "interaction",
        Inbound::Delivery { .. } => "delivery",
        Inbound::Read { .. } => "read",
        Inbound::Echo { .. } => "echo",
        Inbound::PolicyEnforcement { .. } => "policy_enforcement",
    }
}

fn page_of(ev: &Inbound) -> &str {
    match ev {
        Inbound::OptIn { page_id, .. }
        | Inbound::NotificationStatus { page_id, .. }
        | Inbound::Interaction { page_id, .. }
        | Inbound::Delivery { page_id, .. }
        | Inbound::Read { page_id, .. }
        | Inbound::Echo { page_id, .. }
        | Inbound::PolicyEnforcement { page_id, .. } => page_id,
    }
}

/// The pause reason of a policy-enforcement block (lifted by its unblock).
const POLICY_PAUSE: &str = "policy_enforcement";

/// How long after a notification a message or postback counts as engagement with it.
const ENGAGEMENT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

impl Consent {
    /// Applies the events of one webhook body signed with the app secret `signer`, in order.
    ///
    /// An event for a page that is not configured, or whose page's app is not the one that
    /// signed the body, is skipped: one app's secret never vouches for another app's page. An
    /// event that can never be applied is skipped with its reason so it cannot block the rest of
    /// the batch; only failures worth a retry (storage) fail the call, and Meta then delivers the
    /// body again.
    pub(crate) async fn ingest(&self, parsed: Parsed, signer: &str) -> Result<IngestReport> {
        let mut report = IngestReport {
            skipped: parsed.skipped.iter().map(|s| s.reason).collect(),
            ..Default::default()
        };
        let now = self.deps.now();
        for ev in parsed.events {
            let kind = kind_of(&ev);
            if !plausible_times(&ev, now) {
                counted(kind, "skipped", "implausible_timestamp");
                report.skipped.push("implausible_timestamp");
                continue;
            }
            let page = match self.deps.pages().get(page_of(&ev)) {
                Ok(p) => p,
                Err(_) => {
                    counted(kind, "skipped", "page_not_configured");
                    report.skipped.push("page_not_configured");
                    continue;
                }
            };
            if page.app_secret.expose() != signer {
                tracing::warn!(
                    page_id = page.page_id,
                    "webhook entry signed by another app skipped"
                );
                counted(kind, "skipped", "signed_by_another_app");
                report.skipped.push("signed_by_another_app");
                continue;
            }
            match self.ingest_one(ev).await {
                Ok(None) => {
                    counted(kind, "applied", "");
                    report.applied.push(kind);
                }
                Ok(Some(reason)) => {
                    // A consent decision is worth its line; a routine skip (an echo of a
                    // message otn did not send) is counted in the summary.
                    match kind {
                        "opt_in" => tracing::info!(kind, reason, "webhook event skipped"),
                        _ => tracing::debug!(kind, reason, "webhook event skipped"),
                    }
                    counted(kind, "skipped", reason);
                    report.skipped.push(reason);
                }
                Err(e) if e.is_transient() => {
                    counted(kind, "failed", "storage");
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(kind, error = %e, "webhook event skipped");
                    counted(kind, "skipped", "refused");
                    report.skipped.push("refused");
                }
            }
        }
        Ok(report)
    }

    /// Applies one event; `Some(reason)` when it was skipped.
    async fn ingest_one(&self, ev: Inbound) -> Result<Option<&'static str>> {
        let store = self.deps.store();
        let now = self.deps.now();
        match ev {
            Inbound::OptIn {
                page_id,
                psid,
                at_ms,
                kind,
                token,
                payload,
                title,
                time_zone,
            } => {
                let grant = match self
                    .grant_from_opt_in(&page_id, &psid, at_ms, kind, &token, &payload, title)
                    .await?
                {
                    Ok(g) => g,
                    Err(reason) => return Ok(Some(reason)),
                };
                let (g, replayed) = match self.record_opt_in(grant, &Actor::meta()).await {
                    Ok(r) => r,
                    Err(Error::FailedPrecondition {
                        reason: Reason::RecipientForgotten,
                        ..
                    }) => return Ok(Some("recipient_forgotten")),
                    Err(e) => return Err(e),
                };
                // The person's zone, as Meta's Marketing Messages opt-in tells it: their quiet
                // hours follow it unless UpdateRecipient set one. An unknown name is ignored.
                if let Some(zone) = time_zone.filter(|z| crate::domain::polite::known_zone(z)) {
                    store.set_optin_time_zone(&page_id, &psid, &zone).await?;
                }
                // One per opt-in: summarised at INFO by ops::summary.
                tracing::debug!(
                    grant_id = g.id,
                    page_id,
                    topic = g.topic_key,
                    replayed,
                    "opt-in recorded"
                );
            }
            Inbound::NotificationStatus {
                page_id,
                psid,
                token,
                stop,
                at_ms,
            } => {
                let changed = store
                    .set_stopped(&page_id, &psid, &token, stop, at_ms, now)
                    .await?;
                tracing::info!(stop, changed, "notification status applied");
                // A STOP that changed something (not a redelivery) is negative feedback.
                if stop && changed {
                    self.deps.signal(&page_id, Signal::Stop).await?;
                }
            }
            Inbound::Interaction {
                page_id,
                psid,
                at_ms,
                kind,
            } => {
                let (Ok(page), Ok(person)) =
                    (PageId::parse("page", &page_id), Psid::parse("psid", &psid))
                else {
                    return Ok(Some("malformed_id"));
                };
                // Meta's clock may run slightly ahead of ours: an interaction is never later
                // than now, or the window would look closed until our clock caught up.
                let at = at_ms.min(now);
                store.record_interaction(&page, &person, at, now).await?;
                if kind.engages() {
                    self.engaged(&page_id, &psid, kind, at).await?;
                }
            }
            Inbound::Delivery {
                page_id,
                psid,
                mids,
                watermark,
            } => {
                let receipt = Receipt::Delivered {
                    mids: &mids,
                    watermark,
                };
                store.receipt(&page_id, &psid, receipt, now).await?;
            }
            Inbound::Read {
                page_id,
                psid,
                watermark,
            } => {
                store
                    .receipt(&page_id, &psid, Receipt::Read { watermark }, now)
                    .await?;
            }
            Inbound::Echo {
                page_id,
                psid,
                mid,
                metadata,
                at_ms,
            } => {
                return self
                    .echo(&page_id, &psid, mid, metadata.as_deref(), at_ms)
                    .await;
            }
            Inbound::PolicyEnforcement {
                page_id,
                block,
                reason,
                ..
            } => {
                // Meta stopped (or let again) the page's sending: pause every replica's pump
                // rather than fail its deliveries one by one.
                tracing::warn!(page_id, block, reason, "policy enforcement");
                match block {
                    true => {
                        store.pause_page(&page_id, None, POLICY_PAUSE).await?;
                        self.deps
                            .signal(&page_id, Signal::PolicyEnforcement)
                            .await?;
                    }
                    false => store.resume_page(&page_id, POLICY_PAUSE).await?,
                }
            }
        }
        Ok(None)
    }

    /// Applies Meta's echo of a message the page sent: one of otn's (its metadata names the
    /// delivery) confirms that delivery; any other changes nothing.
    async fn echo(
        &self,
        page_id: &str,
        psid: &str,
        mid: String,
        metadata: Option<&str>,
        at_ms: i64,
    ) -> Result<Option<&'static str>> {
        let Some(delivery) = metadata.and_then(wire::delivery_of_metadata) else {
            return Ok(Some("echo_not_from_otn"));
        };
        let echo = Echo { mid, at_ms };
        let reusable = self.deps.policy().reusable_kinds();
        let now = self.deps.now();
        let store = self.deps.store();
        let applied = store
            .echo(page_id, psid, delivery, &echo, &reusable, now)
            .await?;
        tracing::debug!(page_id, delivery, ?applied, "echo applied");
        match applied {
            EchoApplied::NoSuchDelivery => Ok(Some("echo_for_unknown_delivery")),
            EchoApplied::Confirmed { was } => {
                let was = match was {
                    crate::domain::vocab::DeliveryState::Queued => "queued",
                    crate::domain::vocab::DeliveryState::Failed => "failed",
                    _ => "unconfirmed",
                };
                metrics::delivery_confirmed(page_id, was);
                Ok(None)
            }
            EchoApplied::Kept | EchoApplied::MidAttached | EchoApplied::Known => Ok(None),
        }
    }

    /// Works out the topic of an opt-in: from the opt-in request named in the payload, the
    /// payload itself used as a topic key, or else the reserved unassigned topic (the grant is
    /// valid consent all the same; AssignGrant gives it its topic).
    #[allow(clippy::too_many_arguments)]
    async fn grant_from_opt_in(
        &self,
        page_id: &str,
        psid: &str,
        at_ms: i64,
        kind: GrantKind,
        token: &str,
        payload: &str,
        title: Option<String>,
    ) -> Result<Result<NewGrant, &'static str>> {
        let (Ok(page), Ok(person), Ok(token)) = (
            PageId::parse("page", page_id),
            Psid::parse("psid", psid),
            Token::parse("token", token),
        ) else {
            return Ok(Err("malformed_opt_in"));
        };
        let title = title.and_then(|t| Title::parse("title", &t).ok());
        let known = match payload.strip_prefix(PAYLOAD_PREFIX) {
            Some(id) => match self.deps.store().opt_in_by_id(id).await? {
                Some(row) if row.page_id == page_id && row.psid == psid => Some(row),
                _ => return Ok(Err("opt_in_names_unknown_or_foreign_request")),
            },
            None => None,
        };
        let (topic_key, topic_title, caller_payload) = match known {
            Some(row) => {
                let (Ok(key), Ok(title)) = (
                    TopicKey::parse("topic", &row.topic_key),
                    Title::parse("title", &row.title),
                ) else {
                    return Ok(Err("malformed_opt_in_request"));
                };
                (key, title, row.payload)
            }
            None => match TopicKey::parse_assignable("payload", payload) {
                Ok(key) => {
                    let t = title.unwrap_or_else(|| key.default_title());
                    (key, t, String::new())
                }
                Err(_) => {
                    let key = TopicKey::unassigned();
                    let t = title.unwrap_or_else(|| key.default_title());
                    let kept: String = payload
                        .chars()
                        .take(otn::limits::PAYLOAD_MAX_CHARS)
                        .collect();
                    (key, t, kept)
                }
            },
        };
        Ok(Ok(NewGrant {
            page_id: page,
            psid: person,
            topic_key,
            topic_title,
            kind,
            token,
            payload: caller_payload,
            opted_in_ms: at_ms,
            // Expiry follows the dated policy: Meta still sends token_expiry_timestamp for
            // marketing tokens, which have not expired since 2023-08-10.
            expires_ms: None,
            erasure_key: None,
        }))
    }

    /// Records engagement with the latest notification; with rolling consent, asks for the
    /// next opt-in on the same topic at once (in the background: the webhook answers fast).
    async fn engaged(
        &self,
        page_id: &str,
        psid: &str,
        kind: InteractionKind,
        at_ms: i64,
    ) -> Result<()> {
        let Some(e) = self
            .deps
            .store()
            .record_engagement(
                page_id,
                psid,
                kind,
                at_ms,
                ENGAGEMENT_WINDOW_MS,
                self.deps.now(),
            )
            .await?
        else {
            return Ok(());
        };
        let Some(title) = e.rolling_title else {
            return Ok(());
        };
        let (Ok(request_id), Ok(page), Ok(person), Ok(topic), Ok(title), Ok(payload)) = (
            RequestId::parse("request_id", &format!("rolling-{}", e.delivery_id)),
            PageId::parse("page_id", page_id),
            Psid::parse("psid", psid),
            TopicKey::parse("topic_key", &e.topic_key),
            Title::parse("title", &title),
            Payload::parse("payload", ""),
        ) else {
            return Ok(());
        };
        let input = OptInInput {
            request_id,
            page_id: page,
            psid: person,
            topic_key: topic,
            title,
            payload,
            template: None,
            marketing: Default::default(),
        };
        let me = self.clone();
        tokio::spawn(async move {
            match me.request_opt_in(input, &Actor::meta()).await {
                Ok((row, _)) => tracing::info!(opt_in_request_id = row.id, "rolling consent asked"),
                Err(e) => tracing::warn!(error = %e, "rolling consent request not sent"),
            }
        });
        Ok(())
    }
}
