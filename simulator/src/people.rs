//! Simulated people: messages, postbacks, reactions, reads, opt-ins and STOP/RESUME, and token issuing.

use anyhow::{Context, bail};
use serde_json::json;

use super::{
    Simulator,
    send::DAY_MS,
    state::{GrantKind, TokenEntry},
    webhook,
};

/// Tokens live one year after issue.
const TOKEN_LIFETIME_MS: i64 = 365 * DAY_MS;

impl Simulator {
    fn touch_window(&self, page_id: &str, psid: &str, now: i64) {
        self.inner.world.with_person(page_id, psid, |p| {
            p.last_action_ms = Some(p.last_action_ms.map_or(now, |t| t.max(now)));
        });
    }

    /// Opens (or resets) the person's 24-hour window without posting a webhook.
    pub fn open_window(&self, page_id: &str, psid: &str) {
        self.touch_window(page_id, psid, self.inner.now());
    }

    /// The person writes `text`: opens the window and posts a signed `message` webhook; returns the mid.
    pub async fn user_sends_message(
        &self,
        page_id: &str,
        psid: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        let now = self.inner.now();
        self.touch_window(page_id, psid, now);
        let mid = self.inner.world.next_id("m_in_");
        let ev = webhook::message_event(page_id, psid, now, &mid, text);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(mid)
    }

    /// The person taps a postback button: opens the window and posts a `messaging_postbacks` webhook.
    pub async fn user_postback(
        &self,
        page_id: &str,
        psid: &str,
        title: &str,
        payload: &str,
    ) -> anyhow::Result<String> {
        let now = self.inner.now();
        self.touch_window(page_id, psid, now);
        let mid = self.inner.world.next_id("m_pb_");
        let ev = webhook::postback_event(page_id, psid, now, &mid, title, payload);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(mid)
    }

    /// The person taps button `button` (0-based) of the latest button template the page sent
    /// them: a postback button posts the `messaging_postbacks` webhook (as [`Self::user_postback`]);
    /// a `web_url` button is opened as a browser would, without following the redirect
    /// (`{"kind": "web_url", "url", "status", "location"}`), so a tracked link's redirect is seen.
    pub async fn user_taps_button(
        &self,
        page_id: &str,
        psid: &str,
        button: usize,
    ) -> anyhow::Result<serde_json::Value> {
        let latest = self
            .inner
            .world
            .accepted_messages()
            .into_iter()
            .rev()
            .find(|m| {
                m.page_id == page_id
                    && m.recipient_psid == psid
                    && m.message.pointer("/attachment/payload/buttons").is_some()
            })
            .with_context(|| format!("{psid} received no button template from {page_id}"))?;
        let b = latest
            .message
            .pointer("/attachment/payload/buttons")
            .and_then(|b| b.get(button))
            .cloned()
            .with_context(|| format!("the latest template to {psid} has no button {button}"))?;
        let title = b["title"].as_str().unwrap_or_default().to_string();
        match b["type"].as_str() {
            Some("postback") => {
                let payload = b["payload"].as_str().unwrap_or_default();
                let mid = self.user_postback(page_id, psid, &title, payload).await?;
                Ok(json!({ "kind": "postback", "title": title, "payload": payload, "mid": mid }))
            }
            Some("web_url") => {
                let url = b["url"].as_str().unwrap_or_default().to_string();
                let resp = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()?
                    .get(&url)
                    .send()
                    .await
                    .with_context(|| format!("opening {url}"))?;
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(str::to_string);
                Ok(json!({
                    "kind": "web_url",
                    "title": title,
                    "url": url,
                    "status": resp.status().as_u16(),
                    "location": location,
                }))
            }
            other => bail!("button {button} is of an unknown type {other:?}"),
        }
    }

    /// The person reacts to message `mid`: opens the window and posts a `message_reactions` webhook.
    pub async fn user_reacts(
        &self,
        page_id: &str,
        psid: &str,
        mid: &str,
        emoji: &str,
    ) -> anyhow::Result<()> {
        let now = self.inner.now();
        self.touch_window(page_id, psid, now);
        let ev = webhook::reaction_event(page_id, psid, now, mid, emoji);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(())
    }

    /// The person reads the thread: posts a `message_reads` webhook with watermark = now (window unchanged).
    pub async fn user_reads(&self, page_id: &str, psid: &str) -> anyhow::Result<()> {
        let now = self.inner.now();
        let ev = webhook::read_event(page_id, psid, now, now);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(())
    }

    /// Issues a fresh single-use OTN token for this person without posting a webhook.
    pub fn issue_otn_token(&self, page_id: &str, psid: &str) -> String {
        self.issue(page_id, psid, GrantKind::OneTimeNotification)
    }

    /// Issues a fresh marketing (`notification_messages`) token without posting a webhook.
    pub fn issue_marketing_token(&self, page_id: &str, psid: &str) -> String {
        self.issue(page_id, psid, GrantKind::NotificationMessages)
    }

    fn issue(&self, page_id: &str, psid: &str, kind: GrantKind) -> String {
        let now = self.inner.now();
        let prefix = match kind {
            GrantKind::OneTimeNotification => "otn_",
            GrantKind::NotificationMessages => "nm_",
        };
        let token = self.inner.world.new_token(prefix);
        let entry = TokenEntry {
            kind,
            page_id: page_id.to_owned(),
            psid: psid.to_owned(),
            // Marketing tokens no longer expire (since 2023-08-10).
            expires_ms: (kind == GrantKind::OneTimeNotification).then_some(now + TOKEN_LIFETIME_MS),
            accepted: 0,
            last_sent_ms: None,
            stopped: false,
        };
        self.inner.world.insert_token(token.clone(), entry);
        token
    }

    /// The person taps "Notify Me": issues an OTN token and posts the `one_time_notif_req` opt-in webhook.
    pub async fn user_taps_notify_me(
        &self,
        page_id: &str,
        psid: &str,
        payload: &str,
    ) -> anyhow::Result<String> {
        let now = self.inner.now();
        let token = self.issue_otn_token(page_id, psid);
        if self.inner.settings.optin_opens_window {
            self.touch_window(page_id, psid, now);
        }
        let ev = webhook::otn_optin_event(page_id, psid, now, payload, &token);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(token)
    }

    /// The person opts in to marketing messages: issues a token and posts the `notification_messages` opt-in.
    pub async fn user_opts_in_marketing(
        &self,
        page_id: &str,
        psid: &str,
        title: &str,
        payload: &str,
    ) -> anyhow::Result<String> {
        let now = self.inner.now();
        let token = self.issue_marketing_token(page_id, psid);
        let optin = json!({
            "type": "notification_messages",
            "title": title,
            "payload": payload,
            "notification_messages_token": token,
            "token_expiry_timestamp": now + TOKEN_LIFETIME_MS,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        });
        let ev = webhook::optin_event(page_id, psid, now, optin);
        self.inner.post_events(page_id, vec![ev]).await?;
        Ok(token)
    }

    /// The person taps "Stop messages": the token is refused 10/1893015 until resumed; posts the opt-in status.
    pub async fn user_stops(&self, page_id: &str, psid: &str, token: &str) -> anyhow::Result<()> {
        self.set_stopped(page_id, psid, token, true).await
    }

    /// The person resumes marketing messages for this token; posts the opt-in status.
    pub async fn user_resumes(&self, page_id: &str, psid: &str, token: &str) -> anyhow::Result<()> {
        self.set_stopped(page_id, psid, token, false).await
    }

    async fn set_stopped(
        &self,
        page_id: &str,
        psid: &str,
        token: &str,
        stopped: bool,
    ) -> anyhow::Result<()> {
        let found = self.inner.world.with_token(token, |e| {
            let ours =
                e.kind == GrantKind::NotificationMessages && e.page_id == page_id && e.psid == psid;
            if ours {
                e.stopped = stopped;
            }
            ours
        });
        if found != Some(true) {
            bail!("no marketing token of page {page_id} for {psid} matches");
        }
        let now = self.inner.now();
        let status = if stopped {
            "STOP NOTIFICATIONS"
        } else {
            "RESUME NOTIFICATIONS"
        };
        let optin = json!({
            "type": "notification_messages",
            "notification_messages_token": token,
            "notification_messages_status": status,
            "token_expiry_timestamp": now + TOKEN_LIFETIME_MS,
            "user_token_status": "NOT_REFRESHED",
            "notification_messages_timezone": "UTC",
        });
        let ev = webhook::optin_event(page_id, psid, now, optin);
        self.inner
            .post_events(page_id, vec![ev])
            .await
            .context("posting the stop/resume opt-in")?;
        Ok(())
    }
}
