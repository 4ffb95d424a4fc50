//! Example: a dashboard tails the delivery events of a page, resuming where it left off.

use std::io::Write;

use futures::StreamExt;

use super::BoxError;
use crate::{Client, proto};

/// What a dashboard saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail {
    /// The sequence numbers of the events shown, in order.
    pub sequences: Vec<i64>,
    /// The last sequence shown: where the next run resumes.
    pub last_sequence: i64,
}

/// One line per event, the way a dashboard shows it.
pub fn line(e: &proto::DeliveryEvent) -> String {
    let kind = e
        .r#type()
        .as_str_name()
        .trim_start_matches("DELIVERY_EVENT_TYPE_");
    let mut s = format!("#{} {kind} page={}", e.sequence, e.page_id);
    for (k, v) in [
        ("topic", &e.topic_key),
        ("notification", &e.notification_id),
        ("psid", &e.psid),
    ] {
        if !v.is_empty() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    if let Some(f) = &e.failure {
        s.push_str(&format!(" failure={}", f.reason));
    }
    s
}

/// Tails the events of `page` after sequence `after`, one line each to `out`, through
/// disconnections and server restarts (the stream reconnects and resumes by itself), until
/// `limit` events were shown (forever when `None`).
pub async fn run(
    url: &str,
    api_key: Option<&str>,
    page: &str,
    after: i64,
    limit: Option<usize>,
    out: &mut (dyn Write + Send),
) -> Result<Tail, BoxError> {
    let client = Client::builder(url)
        .api_key_opt(api_key.map(str::to_string))
        .connect()
        .await?;
    let mut events = client.events().page(page).after(after).subscribe();
    let mut tail = Tail {
        last_sequence: after,
        ..Tail::default()
    };
    while limit.is_none_or(|l| tail.sequences.len() < l) {
        let Some(event) = events.next().await else {
            break;
        };
        let event = event?;
        writeln!(out, "{}", line(&event))?;
        out.flush()?;
        tail.sequences.push(event.sequence);
        tail.last_sequence = event.sequence;
    }
    Ok(tail)
}
