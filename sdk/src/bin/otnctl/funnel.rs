//! `otnctl topics funnel`: GetFunnel as a table of steps and rates (and days), or as JSON.

use otn_sdk::{Client, Error, proto as pb};
use serde_json::{Value, json};

use crate::cli::Topics;
use crate::output::Out;

/// The steps of the funnel in order, with the rate that leads to each (none for the first).
fn steps(c: &pb::FunnelCounts, r: &pb::FunnelRates) -> Vec<(&'static str, i64, Option<f64>)> {
    vec![
        ("opt-in requests", c.opt_in_requests, None),
        ("opt-ins", c.opt_ins, Some(r.opt_in_rate)),
        ("grants used", c.grants_used, Some(r.use_rate)),
        ("sent", c.sent, Some(r.send_rate)),
        ("delivered", c.delivered, Some(r.delivery_rate)),
        ("read", c.read, Some(r.read_rate)),
        ("engaged", c.engaged, Some(r.engagement_rate)),
    ]
}

/// The counts beside the chain.
fn sides(c: &pb::FunnelCounts, r: &pb::FunnelRates) -> Vec<(&'static str, i64, Option<f64>)> {
    vec![
        ("  replied", c.engaged_message, None),
        ("  tapped a postback", c.engaged_postback, None),
        ("  clicked a link", c.clicked, Some(r.click_rate)),
        ("queued", c.queued, None),
        ("failed", c.failed, None),
        ("unconfirmed", c.unconfirmed, None),
        ("cancelled", c.cancelled, None),
        ("grants expired unused", c.grants_expired, None),
        ("grants stopped", c.grants_stopped, None),
        ("grants resumed", c.grants_resumed, None),
        ("grants revoked", c.grants_revoked, None),
    ]
}

fn percent(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!("{:.1}%", r * 100.0))
}

fn counts_json(c: &pb::FunnelCounts) -> Value {
    json!({
        "opt_in_requests": c.opt_in_requests,
        "opt_ins": c.opt_ins,
        "grants_used": c.grants_used,
        "sent": c.sent,
        "delivered": c.delivered,
        "read": c.read,
        "engaged": c.engaged,
        "engaged_message": c.engaged_message,
        "engaged_postback": c.engaged_postback,
        "clicked": c.clicked,
        "queued": c.queued,
        "failed": c.failed,
        "unconfirmed": c.unconfirmed,
        "cancelled": c.cancelled,
        "grants_expired": c.grants_expired,
        "grants_stopped": c.grants_stopped,
        "grants_resumed": c.grants_resumed,
        "grants_revoked": c.grants_revoked,
    })
}

fn rates_json(r: &pb::FunnelRates) -> Value {
    json!({
        "opt_in_rate": r.opt_in_rate,
        "use_rate": r.use_rate,
        "send_rate": r.send_rate,
        "delivery_rate": r.delivery_rate,
        "read_rate": r.read_rate,
        "engagement_rate": r.engagement_rate,
        "click_rate": r.click_rate,
    })
}

/// GetFunnel's response as otnctl prints it in JSON.
pub(crate) fn funnel_json(f: &pb::GetFunnelResponse) -> Value {
    let days: Vec<Value> = f
        .days
        .iter()
        .map(|d| {
            json!({
                "date": d.date,
                "counts": counts_json(&d.counts.unwrap_or_default()),
                "rates": rates_json(&d.rates.unwrap_or_default()),
            })
        })
        .collect();
    json!({
        "page_id": f.page_id,
        "topic_key": f.topic_key,
        "notification_id": f.notification_id,
        "start_date": f.start_date,
        "end_date": f.end_date,
        "counts": counts_json(&f.counts.unwrap_or_default()),
        "rates": rates_json(&f.rates.unwrap_or_default()),
        "days": days,
    })
}

pub(crate) async fn run(client: &Client, out: Out, cmd: Topics) -> Result<(), Error> {
    let Topics::Funnel {
        page,
        topic,
        notification,
        from,
        to,
        days,
    } = cmd;
    let f = client
        .get_funnel(pb::GetFunnelRequest {
            page_id: page.unwrap_or_default(),
            topic_key: topic.unwrap_or_default(),
            notification_id: notification.unwrap_or_default(),
            start_date: from.unwrap_or_default(),
            end_date: to.unwrap_or_default(),
        })
        .await?;
    if out.is_json() {
        out.json(&funnel_json(&f));
        return Ok(());
    }
    let whose = match f.notification_id.is_empty() {
        true => format!("topic {} of page {}", f.topic_key, f.page_id),
        false => format!(
            "notification {} (topic {} of page {})",
            f.notification_id, f.topic_key, f.page_id
        ),
    };
    out.line(&format!(
        "{whose}, {} to {} (UTC)",
        f.start_date, f.end_date
    ));
    let (c, r) = (f.counts.unwrap_or_default(), f.rates.unwrap_or_default());
    let mut rows: Vec<Vec<String>> = steps(&c, &r)
        .into_iter()
        .map(|(name, n, rate)| vec![name.to_string(), n.to_string(), percent(rate)])
        .collect();
    rows.push(vec![String::new(), String::new(), String::new()]);
    rows.extend(
        sides(&c, &r)
            .into_iter()
            .map(|(name, n, rate)| vec![name.to_string(), n.to_string(), percent(rate)]),
    );
    out.table(&["STEP", "COUNT", "RATE"], &rows);
    if days {
        out.line("");
        let rows: Vec<Vec<String>> = f
            .days
            .iter()
            .map(|d| {
                let c = d.counts.unwrap_or_default();
                let mut row = vec![d.date.clone()];
                row.extend(
                    steps(&c, &d.rates.unwrap_or_default())
                        .into_iter()
                        .map(|(_, n, _)| n.to_string()),
                );
                row.push(c.clicked.to_string());
                row
            })
            .collect();
        out.table(
            &[
                "DAY",
                "REQUESTS",
                "OPT-INS",
                "USED",
                "SENT",
                "DELIVERED",
                "READ",
                "ENGAGED",
                "CLICKED",
            ],
            &rows,
        );
    }
    Ok(())
}
