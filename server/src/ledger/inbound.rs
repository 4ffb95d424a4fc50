//! Webhook ingestion: opt-ins become grants, STOP/RESUME change them, interactions open windows.
//! Every step is idempotent, so Meta's duplicate and out-of-order deliveries are harmless.

use super::{Ledger, optin::PAYLOAD_PREFIX};
use crate::domain::grant::NewGrant;
use crate::domain::types::{PageId, Psid, Token, TopicKey};
use crate::error::{Error, Result};
use crate::messenger::webhook::{Inbound, interaction};

impl Ledger {
    /// Applies the events of one webhook body, in order. Events for pages that are not
    /// configured are skipped.
    ///
    /// An event the service can never accept (a token recorded for someone else, a malformed
    /// id) is logged and skipped so it cannot block the rest of the batch; only failures worth
    /// a retry (storage) fail the call, and Meta then delivers the body again.
    pub async fn ingest(&self, events: Vec<Inbound>) -> Result<()> {
        for ev in events {
            match self.ingest_one(ev).await {
                Ok(()) => {}
                Err(e @ (Error::Internal(_) | Error::Unavailable { .. } | Error::Aborted(_))) => {
                    return Err(e);
                }
                Err(e) => tracing::warn!(error = %e, "webhook event skipped"),
            }
        }
        Ok(())
    }

    async fn ingest_one(&self, ev: Inbound) -> Result<()> {
        {
            match ev {
                Inbound::OptIn {
                    page_id,
                    psid,
                    at_ms,
                    kind,
                    token,
                    payload,
                    title,
                    ..
                } => {
                    if self.pages.get(&page_id).is_err() {
                        tracing::warn!(page_id, "opt-in for an unconfigured page skipped");
                        return Ok(());
                    }
                    let Some(grant) = self
                        .grant_from_opt_in(&page_id, &psid, at_ms, kind, &token, &payload, title)
                        .await?
                    else {
                        return Ok(());
                    };
                    let (g, replayed) = self.record_opt_in(grant).await?;
                    tracing::info!(
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
                    token: Some(token),
                    stop,
                    at_ms,
                } => {
                    self.pages.get(&page_id)?;
                    let changed = self
                        .store
                        .set_stopped(&page_id, &psid, &token, stop, at_ms)
                        .await?;
                    tracing::info!(stop, changed, "notification status applied");
                }
                Inbound::NotificationStatus { token: None, .. } => {
                    tracing::warn!("notification status without a token skipped");
                }
                Inbound::Interaction {
                    page_id,
                    psid,
                    at_ms,
                    kind,
                } => {
                    self.pages.get(&page_id)?;
                    // Meta's clock may run slightly ahead of ours: an interaction is never
                    // later than now, or the window would look closed until our clock caught up.
                    let now = self.now();
                    let at = at_ms.min(now);
                    self.store
                        .record_interaction(&page_id, &psid, at, now)
                        .await?;
                    if matches!(kind, interaction::MESSAGE | interaction::POSTBACK) {
                        self.engaged(&page_id, &psid, at).await?;
                    }
                }
                Inbound::Delivery {
                    page_id,
                    psid,
                    mids,
                    watermark,
                } => {
                    self.store
                        .mark_delivered(&page_id, &psid, &mids, watermark, self.now())
                        .await?;
                }
                Inbound::Read {
                    page_id,
                    psid,
                    watermark,
                } => {
                    self.store
                        .mark_read(&page_id, &psid, watermark, self.now())
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Works out the topic of an opt-in: from the opt-in request named in the payload, or
    /// the payload itself used as a topic key (opt-ins asked for outside this service).
    #[allow(clippy::too_many_arguments)]
    async fn grant_from_opt_in(
        &self,
        page_id: &str,
        psid: &str,
        at_ms: i64,
        kind: crate::domain::grant::GrantKind,
        token: &str,
        payload: &str,
        title: Option<String>,
    ) -> Result<Option<NewGrant>> {
        let (Ok(page), Ok(person), Ok(token)) = (
            PageId::parse("page", page_id),
            Psid::parse("psid", psid),
            Token::parse("token", token),
        ) else {
            tracing::warn!(page_id, "malformed opt-in skipped");
            return Ok(None);
        };
        let known = match payload.strip_prefix(PAYLOAD_PREFIX) {
            Some(id) => match self.store.opt_in_by_id(id).await? {
                Some(row) if row.page_id == page_id && row.psid == psid => Some(row),
                _ => {
                    tracing::warn!(
                        page_id,
                        "opt-in naming an unknown or foreign request skipped"
                    );
                    return Ok(None);
                }
            },
            None => None,
        };
        let (topic_key, topic_title, caller_payload) = match known {
            Some(row) => (row.topic_key, row.title, row.payload),
            None => match TopicKey::parse("payload", payload) {
                Ok(key) => {
                    let title = title.unwrap_or_else(|| key.as_str().chars().take(65).collect());
                    (key.into_string(), title, String::new())
                }
                Err(_) => {
                    tracing::warn!(page_id, "opt-in whose payload names no topic skipped");
                    return Ok(None);
                }
            },
        };
        let Ok(topic_key) = TopicKey::parse("topic", &topic_key) else {
            return Ok(None);
        };
        Ok(Some(NewGrant {
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
        }))
    }
}

/// How long after a notification a message or postback counts as engagement with it.
const ENGAGEMENT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

impl Ledger {
    /// Records engagement with the latest notification; with rolling consent, asks for the
    /// next opt-in on the same topic at once (in the background: the webhook answers fast).
    async fn engaged(&self, page_id: &str, psid: &str, at_ms: i64) -> Result<()> {
        let Some(e) = self
            .store
            .record_engagement(page_id, psid, at_ms, ENGAGEMENT_WINDOW_MS, self.now())
            .await?
        else {
            return Ok(());
        };
        let Some(title) = e.rolling_title else {
            return Ok(());
        };
        let (Ok(request_id), Ok(page), Ok(person), Ok(topic), Ok(title), Ok(payload)) = (
            crate::domain::types::RequestId::parse(
                "request_id",
                &format!("rolling-{}", e.delivery_id),
            ),
            PageId::parse("page_id", page_id),
            Psid::parse("psid", psid),
            TopicKey::parse("topic_key", &e.topic_key),
            crate::domain::types::Title::parse("title", &title),
            crate::domain::types::Payload::parse("payload", ""),
        ) else {
            return Ok(());
        };
        let input = super::OptInInput {
            request_id,
            page_id: page,
            psid: person,
            topic_key: topic,
            title,
            payload,
        };
        let me = self.clone();
        tokio::spawn(async move {
            match me.request_opt_in(input).await {
                Ok((row, _)) => tracing::info!(opt_in_request_id = row.id, "rolling consent asked"),
                Err(e) => tracing::warn!(error = %e, "rolling consent request not sent"),
            }
        });
        Ok(())
    }
}
