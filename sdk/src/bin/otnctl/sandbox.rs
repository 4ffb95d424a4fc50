//! `otnctl sandbox`: the shopper's side of a sandbox server, through the simulator's control
//! API on the server's HTTP listener (`/_sim/…`; only a sandbox server serves it).

use clap::Subcommand;
use otn_sdk::Error;
use serde_json::{Value, json};

use crate::output::Out;

/// The sandbox page's id.
const PAGE: &str = "sandbox-page";

#[derive(Debug, Subcommand)]
pub(crate) enum Sandbox {
    /// The person writes to the page: their 24-hour window opens (needed before RequestOptIn).
    Message {
        /// The person (page-scoped id); any name will do in the sandbox.
        #[arg(long)]
        psid: String,
        /// What they write.
        #[arg(long, default_value = "Hi! Is the SL13 coming back?")]
        text: String,
        /// The page.
        #[arg(long, default_value = PAGE)]
        page: String,
    },
    /// The person taps "Notify me" for a topic: Meta issues a one-time token and the opt-in
    /// webhook reaches otn, which records the grant.
    NotifyMe {
        /// The person.
        #[arg(long)]
        psid: String,
        /// The topic key the opt-in is about (its payload), e.g. back-in-stock:sku-123.
        #[arg(long)]
        topic: String,
        /// The page.
        #[arg(long, default_value = PAGE)]
        page: String,
    },
    /// The person reads the conversation (a read receipt for everything sent so far).
    Read {
        #[arg(long)]
        psid: String,
        #[arg(long, default_value = PAGE)]
        page: String,
    },
    /// The person replies after a notification (engagement; reopens the window).
    Reply {
        #[arg(long)]
        psid: String,
        #[arg(long, default_value = "I'll take it!")]
        text: String,
        #[arg(long, default_value = PAGE)]
        page: String,
    },
    /// The person taps a button of the latest button template sent to them: a postback button
    /// posts back to the page (engagement); a link is opened as a browser would (on a tracked
    /// page, through otn's redirect, which counts the click).
    Tap {
        #[arg(long)]
        psid: String,
        /// Which button, from 0.
        #[arg(long, default_value_t = 0)]
        button: usize,
        #[arg(long, default_value = PAGE)]
        page: String,
    },
    /// What Meta delivered: the messages the simulator accepted, oldest first.
    Messages {
        /// Only messages to this person.
        #[arg(long)]
        psid: Option<String>,
    },
}

async fn post(base: &str, path: &str, body: Value) -> Result<Value, Error> {
    let url = format!("{}/_sim/{path}", base.trim_end_matches('/'));
    let resp = otn_sdk::examples::sandbox::http_client()
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| Error::Config(format!("the sandbox at {base} is not reachable: {e}")))?;
    answer(base, resp).await
}

async fn answer(base: &str, resp: reqwest::Response) -> Result<Value, Error> {
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(Error::Config(format!(
            "{base} serves no sandbox: start otn-server without configuration (or with --sandbox) \
             and point --sandbox-url at its HTTP listener"
        )));
    }
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    match status.is_success() {
        true => Ok(v),
        false => Err(Error::Config(format!(
            "the sandbox refused: {}",
            v["error"]
        ))),
    }
}

pub(crate) async fn run(base: &str, out: Out, cmd: Sandbox) -> Result<(), Error> {
    let (said, v) = match cmd {
        Sandbox::Message { psid, text, page } => {
            let v = post(
                base,
                "message",
                json!({ "page_id": page, "psid": psid, "text": text }),
            )
            .await?;
            (
                format!("{psid} wrote to {page}; their 24-hour window is open"),
                v,
            )
        }
        Sandbox::Reply { psid, text, page } => {
            let v = post(
                base,
                "message",
                json!({ "page_id": page, "psid": psid, "text": text }),
            )
            .await?;
            (format!("{psid} replied to {page}"), v)
        }
        Sandbox::NotifyMe { psid, topic, page } => {
            let body = json!({ "page_id": page, "psid": psid, "payload": topic });
            post(base, "notify_me", body).await?;
            let said = format!("{psid} tapped \"Notify me\" for {topic}; otn recorded the grant");
            (
                said,
                json!({ "ok": true, "psid": psid, "topic_key": topic }),
            )
        }
        Sandbox::Read { psid, page } => {
            let v = post(base, "read", json!({ "page_id": page, "psid": psid })).await?;
            (format!("{psid} read the conversation"), v)
        }
        Sandbox::Tap { psid, button, page } => {
            let body = json!({ "page_id": page, "psid": psid, "button": button });
            let v = post(base, "tap", body).await?;
            let said = match v["kind"].as_str() {
                Some("web_url") => format!(
                    "{psid} opened \"{}\": {} answered {}{}",
                    v["title"].as_str().unwrap_or_default(),
                    v["url"].as_str().unwrap_or_default(),
                    v["status"],
                    v["location"]
                        .as_str()
                        .map(|l| format!(", redirecting to {l}"))
                        .unwrap_or_default()
                ),
                _ => format!(
                    "{psid} tapped \"{}\" (postback {})",
                    v["title"].as_str().unwrap_or_default(),
                    v["payload"].as_str().unwrap_or_default()
                ),
            };
            (said, v)
        }
        Sandbox::Messages { psid } => return messages(base, out, psid).await,
    };
    match out.is_json() {
        true => out.json(&v),
        false => out.line(&said),
    }
    Ok(())
}

async fn messages(base: &str, out: Out, psid: Option<String>) -> Result<(), Error> {
    let url = format!("{}/_sim/messages", base.trim_end_matches('/'));
    let resp = otn_sdk::examples::sandbox::http_client()
        .get(&url)
        .send()
        .await
        .map_err(|e| Error::Config(format!("the sandbox at {base} is not reachable: {e}")))?;
    let all = answer(base, resp).await?;
    let list: Vec<&Value> = all
        .as_array()
        .map(|a| a.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|m| psid.as_deref().is_none_or(|p| m["recipient_psid"] == p))
        .collect();
    if out.is_json() {
        for m in &list {
            let mut m = (*m).clone();
            // Grant tokens are never printed, not even the sandbox's.
            if let Some(o) = m.as_object_mut() {
                o.remove("token");
            }
            out.json(&m);
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            let msg = &m["message"];
            let text = msg["text"]
                .as_str()
                .or_else(|| msg["attachment"]["payload"]["text"].as_str())
                .unwrap_or("(template)");
            vec![
                m["recipient_psid"].as_str().unwrap_or("").to_string(),
                m["mid"].as_str().unwrap_or("").to_string(),
                text.to_string(),
            ]
        })
        .collect();
    out.table(&["PSID", "MESSAGE ID", "TEXT"], &rows);
    Ok(())
}
