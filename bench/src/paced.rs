//! `paced`: 10 pages at once, each limited to 300 Send API calls/s, against a simulator that answers after 300 ms; beside a bare client that paces the same sends itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use otn::v1::CancelNotificationRequest;
use otn_simulator::AcceptedMessage;
use sea_orm::DatabaseConnection;

use crate::Size;
use crate::env::{Db, Server, page};
use crate::fan_out::{RawSender, issue_tokens, send, wait_final};
use crate::load;
use crate::report::{Figure, Scenario};

pub(crate) const RATE: u32 = 300;
const LATENCY: Duration = Duration::from_millis(300);
const TOPIC: &str = "bench:paced";

/// Per page (first accept ms, last accept ms, count) of the messages to people `prefix…`.
pub(crate) fn spans(msgs: &[AcceptedMessage], prefix: &str) -> HashMap<String, (i64, i64, u64)> {
    let mut out: HashMap<String, (i64, i64, u64)> = HashMap::new();
    for m in msgs.iter().filter(|m| m.recipient_psid.starts_with(prefix)) {
        let e = out
            .entry(m.page_id.clone())
            .or_insert((m.accepted_at_ms, m.accepted_at_ms, 0));
        e.0 = e.0.min(m.accepted_at_ms);
        e.1 = e.1.max(m.accepted_at_ms);
        e.2 += 1;
    }
    out
}

/// (all pages' sends / the span from the first to the last accept / pages, the slowest
/// page's own sustained rate (n-1)/(last-first)).
pub(crate) fn rates(spans: &HashMap<String, (i64, i64, u64)>, pages: usize) -> (f64, f64) {
    let first = spans.values().map(|s| s.0).min().unwrap_or(0);
    let last = spans.values().map(|s| s.1).max().unwrap_or(0);
    let total: u64 = spans.values().map(|s| s.2).sum();
    let together = total as f64 / ((last - first).max(1) as f64 / 1000.0) / pages.max(1) as f64;
    let slowest = spans
        .values()
        .map(|&(f, l, n)| n.saturating_sub(1) as f64 / ((l - f).max(1) as f64 / 1000.0))
        .fold(f64::INFINITY, f64::min);
    (together, if slowest.is_finite() { slowest } else { 0.0 })
}

/// Sends each page's tokens at the page's rate, one task per send (no concurrency cap).
async fn raw_paced(srv: &Server, tokens: &[(String, Vec<String>)]) -> Result<()> {
    let interval = Duration::from_secs(1) / RATE;
    let start = tokio::time::Instant::now();
    let mut joins = Vec::new();
    for (page_id, toks) in tokens {
        let sender = RawSender::new(srv, page_id)?;
        for (k, t) in toks.iter().enumerate() {
            let (sender, t) = (sender.clone(), t.clone());
            let at = start + interval * k as u32;
            joins.push(tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                sender.send(&t, k as u64).await
            }));
        }
    }
    for j in joins {
        j.await.context("raw paced send panicked")??;
    }
    Ok(())
}

pub(crate) async fn run(db: &Db, size: &Size, concurrency: Option<usize>) -> Result<Scenario> {
    let mut s = Scenario::new("fan_out_paced");
    let pages: Vec<_> = (0..size.paced_pages)
        .map(|i| page(&format!("paced-page-{i}"), RATE))
        .collect();
    let srv = Server::start(&db.url, pages.clone(), LATENCY, true, concurrency).await?;
    let result = async {
        let base = measure(&srv, db, size, &mut s).await?;
        crate::replicas::measure(&srv, db, size, &base, &mut s).await
    }
    .await;
    srv.stop().await;
    result?;
    Ok(s)
}

/// What the client pacing itself achieved, for the two-replica run's baselines.
pub(crate) struct Baseline {
    /// The most calls any page received in one second.
    pub(crate) busiest: usize,
    /// The slowest page's own rate.
    pub(crate) slowest: f64,
}

/// The most calls to any of `pages` within one second, counting calls from `since_ms` to
/// `until_ms`.
pub(crate) fn busiest_second(srv: &Server, since_ms: i64, until_ms: i64) -> usize {
    srv.pages
        .iter()
        .map(|p| {
            let times: Vec<i64> = srv
                .sim
                .call_times(&p.page_id)
                .into_iter()
                .filter(|t| (since_ms..=until_ms).contains(t))
                .collect();
            otn_simulator::busiest_window(&times, 1000)
        })
        .max()
        .unwrap_or(0)
}

async fn measure(srv: &Server, db: &Db, size: &Size, s: &mut Scenario) -> Result<Baseline> {
    let raw: DatabaseConnection = crate::env::raw_pool(db, 4).await?;
    let per_page = (f64::from(RATE) * size.paced_secs).round() as usize;
    let n_pages = srv.pages.len();
    let mut baseline_tokens = Vec::new();
    for p in &srv.pages {
        let tokens = issue_tokens(srv, &p.page_id, "p", per_page);
        load::grants(
            &raw,
            &load::Grants {
                page: &p.page_id,
                topic_key: TOPIC,
                psid_prefix: "p",
                n: per_page,
                tokens: Some(&tokens),
                mixed_states: false,
                tags: false,
            },
        )
        .await?;
        baseline_tokens.push((
            p.page_id.clone(),
            issue_tokens(srv, &p.page_id, "b", per_page),
        ));
    }
    raw.close().await.ok();
    let b0 = crate::measure::now_ms();
    raw_paced(srv, &baseline_tokens).await?;
    let base_busiest = busiest_second(srv, b0, crate::measure::now_ms());

    let t0 = Instant::now();
    let t0_ms = crate::measure::now_ms();
    let mut sends = Vec::new();
    for p in &srv.pages {
        let mut client = srv.client();
        let page_id = p.page_id.clone();
        sends.push(tokio::spawn(async move {
            send(&mut client, &page_id, TOPIC).await
        }));
    }
    let mut ids = Vec::new();
    for j in sends {
        ids.push(j.await.context("send task panicked")??.notification_id);
    }
    // Pages may run one after another (see the notes), so allow all of them in sequence.
    let deadline = t0 + Duration::from_secs_f64(size.paced_secs * n_pages as f64 * 1.5 + 10.0);
    let mut client = srv.client();
    let mut unfinished = 0;
    for id in &ids {
        if wait_final(&mut client, id, deadline).await?.is_none() {
            let cancelled = client
                .cancel_notification(CancelNotificationRequest {
                    notification_id: id.clone(),
                })
                .await;
            match cancelled {
                Ok(_) => unfinished += 1,
                // It completed between the last poll and the cancel.
                Err(e) if e.code() == tonic::Code::FailedPrecondition => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let msgs = srv.sim.accepted_messages();
    let (base_together, base_slowest) = rates(&spans(&msgs, "b"), n_pages);
    let otn_spans = spans(&msgs, "p");
    let (together, slowest) = rates(&otn_spans, n_pages);
    let want = 0.98 * f64::from(RATE);
    let concurrency = srv.config.dispatch.concurrency;
    s.figures.push(
        Figure::new(
            &format!("{n_pages} pages at once, slowest page's own rate"),
            "sends/s",
            slowest,
            base_slowest,
            "client pacing itself",
        )
        .target(format!("≥ 0.98 × {RATE} = {want:.0}"), slowest >= want),
    );
    s.figures.push(Figure::new(
        "  all pages, first→last accept of any page",
        "sends/s",
        together,
        base_together,
        "client pacing itself",
    ));
    let mut order: Vec<_> = otn_spans.iter().collect();
    order.sort_by_key(|(p, _)| p.to_string());
    let windows: Vec<String> = order
        .iter()
        .map(|(p, (f, l, n))| {
            let short = p.trim_start_matches("paced-page-");
            format!(
                "p{short}: {n} sent {:.1}–{:.1} s",
                (*f - t0_ms) as f64 / 1000.0,
                (*l - t0_ms) as f64 / 1000.0
            )
        })
        .collect();
    s.notes.push(format!(
        "{per_page} grants per page ({} s at {RATE}/s), simulator latency {} ms, dispatch \
         concurrency {concurrency}; accept windows from SendNotification: {}",
        size.paced_secs,
        LATENCY.as_millis(),
        windows.join("; ")
    ));
    s.notes.push(
        "each page has its own pump: it claims only deliveries whose send slots (taken from the \
         page's row on the database clock) fall within the next 200 ms, so a claimed delivery \
         never waits long and no page's backlog holds what another page needs; \
         'own rate' is (sends − 1) / (last − first accept) per page"
            .into(),
    );
    if unfinished > 0 {
        s.notes.push(format!(
            "{unfinished} of {n_pages} notifications were not COMPLETED by the deadline and were \
             cancelled; the rates count what was sent"
        ));
    }
    Ok(Baseline {
        busiest: base_busiest,
        slowest: base_slowest,
    })
}
