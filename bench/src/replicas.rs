//! `fan_out_paced`, second half: the same pages sent by two replicas on one database at once; each page's busiest one-second window must stay within its rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use otn_server::app;
use otn_server::clock::SystemClock;

use crate::Size;
use crate::env::{Db, Server};
use crate::fan_out::{issue_tokens, send, wait_final};
use crate::load;
use crate::paced::{Baseline, RATE, busiest_second, rates, spans};
use crate::report::{Figure, Scenario};

/// Overshoot allowed over the page's rate in any one-second window.
const OVERSHOOT: f64 = 1.02;

/// Loads a new backlog on every page, starts a second replica on the same database, sends
/// from the first and measures what the simulator received while both dispatched.
pub(crate) async fn measure(
    srv: &Server,
    db: &Db,
    size: &Size,
    base: &Baseline,
    s: &mut Scenario,
) -> Result<()> {
    let per_page = (f64::from(RATE) * size.paced_secs).round() as usize;
    let raw = crate::env::raw_pool(db, 4).await?;
    for p in &srv.pages {
        let tokens = issue_tokens(srv, &p.page_id, "q", per_page);
        load::grants(
            &raw,
            &load::Grants {
                page: &p.page_id,
                topic_key: "bench:replicas",
                psid_prefix: "q",
                n: per_page,
                tokens: Some(&tokens),
                mixed_states: false,
                tags: false,
            },
        )
        .await?;
    }
    raw.close().await.ok();
    let second = app::start(srv.config.clone(), Arc::new(SystemClock))
        .await
        .context("starting the second replica")?;
    let result = async {
        let t0 = Instant::now();
        let t0_ms = crate::measure::now_ms();
        let mut client = srv.client();
        let mut ids = Vec::new();
        for p in &srv.pages {
            ids.push(
                send(&mut client, &p.page_id, "bench:replicas")
                    .await?
                    .notification_id,
            );
        }
        let n_pages = srv.pages.len();
        let deadline = t0 + Duration::from_secs_f64(size.paced_secs * 3.0 + 20.0);
        for id in &ids {
            if wait_final(&mut client, id, deadline).await?.is_none() {
                bail!("a two-replica notification did not complete in time");
            }
        }
        let busiest = busiest_second(srv, t0_ms, crate::measure::now_ms());
        let (_, slowest) = rates(&spans(&srv.sim.accepted_messages(), "q"), n_pages);
        let limit = f64::from(RATE) * OVERSHOOT;
        s.figures.push(
            Figure::new(
                &format!("two replicas, {n_pages} pages: busiest 1-s window of any page"),
                "calls",
                busiest as f64,
                base.busiest as f64,
                "client pacing itself",
            )
            .target(
                format!("≤ {RATE} × {OVERSHOOT} = {limit:.0}"),
                busiest as f64 <= limit,
            ),
        );
        s.figures.push(Figure::new(
            "  two replicas, slowest page's own rate",
            "sends/s",
            slowest,
            base.slowest,
            "client pacing itself",
        ));
        s.notes.push(format!(
            "two replicas: a second otn server in this process on the same database and \
             simulator; {per_page} new grants per page sent by one SendNotification each, \
             dispatched by both (each claims send slots from the page's row, so the pair shares \
             one rate of {RATE}/s per page); {} grants in all",
            per_page * n_pages
        ));
        Ok(())
    }
    .await;
    second.shutdown().await;
    result
}
