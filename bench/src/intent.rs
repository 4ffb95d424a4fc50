//! `intent`: SendNotification to N grant holders (100k, 1M at `--full`) on a page sending one
//! message a second, so what is timed is the intent and its planning, not the dispatch: how long
//! the call takes to answer, how long planning every chunk takes, the longest write transaction
//! meanwhile, and the memory it costs — beside a GetNotification round trip in the same run.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use otn::v1::{
    CancelNotificationRequest, Content, GetNotificationRequest, SendNotificationRequest,
    SendOptions, content::Body,
};
use sea_orm::DatabaseConnection;

use crate::Size;
use crate::env::{SLOW_PAGE, Server};
use crate::load;
use crate::measure::memory_mb;
use crate::report::{Figure, Scenario};

/// What SendNotification must answer within, at any audience size.
const ANSWER_MS: f64 = 300.0;
/// The longest write transaction allowed while a send is planned.
const LONGEST_TXN_MS: f64 = 1_000.0;
/// The memory a send may add, at 1M recipients.
const RSS_MB: f64 = 100.0;

pub(crate) async fn run(srv: &Server, raw: &DatabaseConnection, size: &Size) -> Result<Scenario> {
    let mut s = Scenario::new("intent");
    let n = size.intent_grants;
    let topic = "bench:intent";
    load::grants(
        raw,
        &load::Grants {
            page: SLOW_PAGE,
            topic_key: topic,
            psid_prefix: "i",
            n,
            tokens: None,
            mixed_states: false,
            tags: false,
        },
    )
    .await?;
    let mut client = srv.client();
    // The baseline: one round trip of a read of a notification (created by a tiny send).
    let probe = client
        .send_notification(request("bench:intent-probe", SendOptions::default()))
        .await?
        .into_inner()
        .notification
        .context("no notification")?;
    let mut rtt = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        client
            .get_notification(GetNotificationRequest {
                notification_id: probe.notification_id.clone(),
            })
            .await?;
        rtt.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    rtt.sort_by(f64::total_cmp);
    let baseline = rtt[rtt.len() / 2];

    let _ = srv.running.take_longest_write();
    let rss0 = memory_mb().0;
    let t0 = Instant::now();
    let n0 = client
        .send_notification(request(topic, SendOptions::default()))
        .await?
        .into_inner()
        .notification
        .context("no notification")?;
    let answered = t0.elapsed().as_secs_f64() * 1000.0;
    let longest_in_call = srv.running.take_longest_write();
    let mut peak = memory_mb().0;
    let deadline = Instant::now() + Duration::from_secs(600 + n as u64 / 500);
    let planned = loop {
        let got = client
            .get_notification(GetNotificationRequest {
                notification_id: n0.notification_id.clone(),
            })
            .await?
            .into_inner()
            .notification
            .context("no notification")?;
        peak = peak.max(memory_mb().0);
        if !got.planning {
            break got;
        }
        if Instant::now() > deadline {
            bail!("planning {n} recipients did not finish in time");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let planning = t0.elapsed();
    let longest = longest_in_call.max(srv.running.take_longest_write());
    let queued = planned.plan.map_or(0, |p| p.grant_sends);
    if queued != n as i64 {
        bail!("the plan holds {queued} grant sends of {n}");
    }
    client
        .cancel_notification(CancelNotificationRequest {
            notification_id: n0.notification_id.clone(),
        })
        .await?;
    s.figures.push(
        Figure::new(
            &format!("SendNotification to {n} recipients answers"),
            "ms",
            answered,
            baseline,
            "GetNotification round trip",
        )
        .target(format!("≤ {ANSWER_MS:.0} ms"), answered <= ANSWER_MS),
    );
    let longest_ms = longest.as_secs_f64() * 1000.0;
    s.figures.push(
        Figure::new(
            "  longest write transaction while it is planned",
            "ms",
            longest_ms,
            baseline,
            "GetNotification round trip",
        )
        .target(
            format!("≤ {LONGEST_TXN_MS:.0} ms"),
            longest_ms <= LONGEST_TXN_MS,
        ),
    );
    let added = (peak - rss0).max(0.0);
    let fig = Figure::new(
        "  memory added while it is planned",
        "MB",
        added,
        rss0,
        "RSS before",
    );
    s.figures.push(match n >= 1_000_000 {
        true => fig.target(format!("≤ {RSS_MB:.0} MB at 1M"), added <= RSS_MB),
        false => fig.note_target(format!("≤ {RSS_MB:.0} MB at 1M (--full)")),
    });
    s.notes.push(format!(
        "{n} recipients planned in {:.1} s after the call ({:.0} people/s) in chunks of 500, each \
         one short transaction; the call answered with {} of them queued; the page sends one \
         message a second, so dispatch stays out of the figures; cancelled afterwards",
        planning.as_secs_f64(),
        n as f64 / planning.as_secs_f64(),
        n0.plan.map_or(0, |p| p.grant_sends),
    ));
    Ok(s)
}

fn request(topic: &str, options: SendOptions) -> SendNotificationRequest {
    SendNotificationRequest {
        request_id: format!("bench-{}", uuid::Uuid::new_v4().simple()),
        page_id: SLOW_PAGE.into(),
        topic_key: topic.into(),
        audience: None,
        content: Some(Content {
            body: Some(Body::Text("Back in stock".into())),
        }),
        options: Some(options),
    }
}
