//! `fan_out`: SendNotification to N grant holders against the zero-latency simulator, end to end (accepted by the simulator, notification COMPLETED, grants consumed), beside the simulator's raw capacity hit directly with reqwest at the dispatcher's concurrency.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use otn::v1::{
    Content, DeliveryCounts, GetNotificationRequest, Notification, NotificationState,
    SendNotificationRequest, SendOptions, content::Body,
};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::Size;
use crate::env::{BENCH_PAGE, Server};
use crate::load::{self, CONSUMED};
use crate::measure::{Run, closed_loop, cpu_secs, machine_busy_secs, memory_mb};
use crate::pgstat;
use crate::report::{Figure, Scenario};

pub(crate) const TEXT: &str = "Good news: it is back in stock";
const TARGET: f64 = 0.5;

/// Sends the text to everyone eligible on the topic; returns the notification.
pub(crate) async fn send(
    client: &mut crate::env::Rpc,
    page: &str,
    topic: &str,
) -> Result<Notification> {
    client
        .send_notification(SendNotificationRequest {
            request_id: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            page_id: page.into(),
            topic_key: topic.into(),
            audience: None,
            content: Some(Content {
                body: Some(Body::Text(TEXT.into())),
            }),
            options: Some(SendOptions::default()),
        })
        .await?
        .into_inner()
        .notification
        .context("SendNotification returned no notification")
}

/// Polls GetNotification until the notification is final or `deadline` passes (then `None`).
pub(crate) async fn wait_final(
    client: &mut crate::env::Rpc,
    id: &str,
    deadline: Instant,
) -> Result<Option<Notification>> {
    wait_final_sampled(client, id, deadline, POLL_MIN, &mut Vec::new()).await
}

/// The shortest poll interval of [`wait_final`].
const POLL_MIN: Duration = Duration::from_millis(20);

/// How often to poll a notification of `n` deliveries: GetNotification counts them (one index
/// scan), so the observer's cost is kept at one delivery counted per 2 µs of the fan-out —
/// every 20 ms up to 10k deliveries, every 200 ms at 100k — instead of growing with the send.
fn poll_every(n: usize) -> Duration {
    Duration::from_micros(2 * n as u64).clamp(POLL_MIN, Duration::from_millis(200))
}

/// [`wait_final`], polling `every` and keeping the delivery counts of every poll in `polls`.
pub(crate) async fn wait_final_sampled(
    client: &mut crate::env::Rpc,
    id: &str,
    deadline: Instant,
    every: Duration,
    polls: &mut Vec<DeliveryCounts>,
) -> Result<Option<Notification>> {
    while Instant::now() < deadline {
        let n = client
            .get_notification(GetNotificationRequest {
                notification_id: id.into(),
            })
            .await?
            .into_inner()
            .notification
            .context("GetNotification returned no notification")?;
        polls.extend(n.counts);
        if n.state == NotificationState::Completed as i32
            || n.state == NotificationState::Cancelled as i32
        {
            return Ok(Some(n));
        }
        tokio::time::sleep(every).await;
    }
    Ok(None)
}

/// `n` fresh tokens for people `{prefix}{i:07}` of the page.
pub(crate) fn issue_tokens(srv: &Server, page: &str, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| srv.sim.issue_otn_token(page, &format!("{prefix}{i:07}")))
        .collect()
}

/// The Send API hit directly: the dispatcher's request shape (token recipient, bearer page
/// token, metadata) through a reqwest client built like the service's Graph client.
#[derive(Clone)]
pub(crate) struct RawSender {
    http: reqwest::Client,
    url: String,
    access: String,
}

impl RawSender {
    pub(crate) fn new(srv: &Server, page: &str) -> Result<Self> {
        let timeout = srv.config.graph_timeout();
        otn_server::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(256)
            .build()?;
        let access = srv
            .pages
            .iter()
            .find(|p| p.page_id == page)
            .map(|p| p.access_token.expose().to_string())
            .context("page not configured")?;
        Ok(Self {
            http,
            url: format!(
                "{}/{}/me/messages",
                srv.sim.base_url(),
                srv.config.graph_api_version
            ),
            access,
        })
    }

    /// One send with this grant token; fails unless the simulator accepts it.
    pub(crate) async fn send(&self, token: &str, i: u64) -> Result<()> {
        let body = json!({
            "recipient": { "one_time_notif_token": token },
            "message": { "text": TEXT, "metadata": format!("otn:{i}") },
        });
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(&self.access)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await?;
        if !status.is_success() || v.get("message_id").is_none() {
            bail!("the simulator refused a raw send: {status} {v}");
        }
        Ok(())
    }
}

/// Every token sent once through [`RawSender`] by `concurrency` callers.
pub(crate) async fn raw_sends(
    srv: &Server,
    page: &str,
    tokens: Vec<String>,
    concurrency: usize,
) -> Result<Run> {
    let sender = RawSender::new(srv, page)?;
    let n = tokens.len() as u64;
    let tokens = std::sync::Arc::new(tokens);
    closed_loop(concurrency, Duration::from_secs(600), n, move |_, i| {
        let (sender, tokens) = (sender.clone(), tokens.clone());
        async move {
            let token = tokens.get(i as usize).context("token index")?;
            sender.send(token, i).await
        }
    })
    .await
}

/// How many distinct `sent_at` stamps the notification's deliveries carry: one per completion
/// transaction (two in the same millisecond count once).
async fn distinct_sent_at(raw: &DatabaseConnection, notification_id: &str) -> Result<i64> {
    let b = raw.get_database_backend();
    let row = raw
        .query_one_raw(Statement::from_sql_and_values(
            b,
            "SELECT COUNT(DISTINCT sent_at) AS n FROM deliveries WHERE notification_id = $1",
            vec![notification_id.into()],
        ))
        .await?
        .context("count")?;
    Ok(row.try_get("", "n")?)
}

pub(crate) async fn run(srv: &Server, raw: &DatabaseConnection, size: &Size) -> Result<Scenario> {
    let is_postgres = raw.get_database_backend() == DatabaseBackend::Postgres;
    let mut s = Scenario::new("fan_out");
    let n = size.fanout_grants;
    let concurrency = srv.config.dispatch.concurrency;
    let topic = "bench:fan-out";
    let tokens = issue_tokens(srv, BENCH_PAGE, "f", n);
    let loaded = load::grants(
        raw,
        &load::Grants {
            page: BENCH_PAGE,
            topic_key: topic,
            psid_prefix: "f",
            n,
            tokens: Some(&tokens),
            mixed_states: false,
            tags: false,
        },
    )
    .await?;
    drop(tokens);
    let rss_loaded = memory_mb().0;
    let raw_tokens = issue_tokens(srv, BENCH_PAGE, "x", n);
    let cpu = cpu_secs();
    let baseline = raw_sends(srv, BENCH_PAGE, raw_tokens, concurrency).await?;
    let raw_cpu = cpu_secs() - cpu;
    let rss_raw = memory_mb().0;

    let accepted_before = srv.sim.accepted_count();
    let mut client = srv.client();
    let stop = CancellationToken::new();
    let sampler = is_postgres.then(|| pgstat::sample(raw.clone(), stop.clone(), pgstat::BUSY));
    let versions0 = match is_postgres {
        true => Some(pgstat::row_versions(raw).await?),
        false => None,
    };
    let cpu = cpu_secs();
    let busy0 = machine_busy_secs();
    let t0 = Instant::now();
    let notification = send(&mut client, BENCH_PAGE, topic).await?;
    let intent = t0.elapsed();
    let deadline = t0 + Duration::from_secs(60 + n as u64 / 100);
    let mut polls = Vec::new();
    let every = poll_every(n);
    let done = wait_final_sampled(
        &mut client,
        &notification.notification_id,
        deadline,
        every,
        &mut polls,
    )
    .await?
    .context("the fan-out did not complete in time")?;
    let elapsed = t0.elapsed();
    let fan_cpu = cpu_secs() - cpu;
    let machine = machine_busy_secs() - busy0;
    stop.cancel();
    if let Some(sampler) = sampler {
        let active = sampler.await.context("sampler panicked")??;
        s.notes.push(format!(
            "PostgreSQL backends running a statement or idle in a transaction, sampled every 20 ms during the fan-out ({} \
             samples; mean backends per sample, by statement): {}",
            active.samples,
            active.describe()
        ));
    }
    let busy: Vec<&DeliveryCounts> = polls.iter().filter(|c| c.queued + c.sending > 0).collect();
    let mean = |f: fn(&DeliveryCounts) -> i64| {
        busy.iter().map(|c| f(c) as f64).sum::<f64>() / busy.len().max(1) as f64
    };
    s.notes.push(format!(
        "during dispatch ({} polls of GetNotification, {} ms apart) a mean of {:.0} deliveries were \
         SENDING (claimed, in flight or sent but not yet recorded; the dispatcher allows \
         {concurrency}) and {:.0} QUEUED",
        busy.len(),
        every.as_millis(),
        mean(|c| c.sending),
        mean(|c| c.queued),
    ));
    let batches = distinct_sent_at(raw, &notification.notification_id).await?;
    s.notes.push(format!(
        "outcomes were recorded in about {batches} completion transactions (distinct sent_at), \
         {:.0} deliveries each on average",
        n as f64 / batches.max(1) as f64
    ));
    let accepted = srv.sim.accepted_count() - accepted_before;
    let consumed = load::count_grants(raw, loaded.topic_id, CONSUMED).await?;
    let sent = done.counts.map_or(0, |c| c.sent + c.delivered + c.read);
    if accepted != n as u64 || consumed != n as i64 || sent != n as i64 {
        bail!(
            "fan-out incomplete: {accepted} accepted, {consumed} grants consumed, {sent} sent of {n}"
        );
    }
    let rate = n as f64 / elapsed.as_secs_f64();
    s.figures.push(
        Figure::new(
            &format!("fan-out of {n} grants, end to end"),
            "msgs/s",
            rate,
            baseline.rate(),
            &format!("reqwest→simulator @{concurrency}"),
        )
        .min_ratio(TARGET),
    );
    s.figures.push(Figure::new(
        "  SendNotification (intent, first chunks planned)",
        "ms",
        intent.as_secs_f64() * 1000.0,
        n as f64 / baseline.rate() * 1000.0,
        "raw time for all sends",
    ));
    s.notes.push(format!(
        "{n} grants: SendNotification returned after {:.0} ms (the intent stored, the first chunks \
         planned); planning the rest and dispatch took the remaining {:.0} ms; verified \
         {accepted} accepted by the simulator, {consumed} grants CONSUMED, notification COMPLETED",
        intent.as_secs_f64() * 1000.0,
        (elapsed - intent).as_secs_f64() * 1000.0
    ));
    s.notes.push(format!(
        "CPU of the whole process: the baseline used {raw_cpu:.1} core-s over {:.1} s of wall \
         time ({:.0} µs per message); the fan-out {fan_cpu:.1} core-s over {:.1} s ({:.0} µs per \
         message); the machine has {} cores",
        baseline.elapsed.as_secs_f64(),
        raw_cpu / n as f64 * 1e6,
        elapsed.as_secs_f64(),
        fan_cpu / n as f64 * 1e6,
        std::thread::available_parallelism().map_or(0, |c| c.get()),
    ));
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let db_us = (machine - fan_cpu).max(0.0) / n as f64 * 1e6;
    if is_postgres {
        s.figures.push(
            Figure::new(
                "  database CPU per message (machine less this process)",
                "µs",
                db_us,
                raw_cpu / n as f64 * 1e6,
                "baseline process CPU per send",
            )
            .target("≤ 100 µs", db_us <= 100.0),
        );
    }
    if let Some(before) = versions0 {
        // Each backend flushes its counters within a second of its transactions.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let written = pgstat::written(&before, &pgstat::row_versions(raw).await?);
        let total: i64 = written.iter().map(|(_, n)| n).sum();
        let per: Vec<String> = written
            .iter()
            .map(|(t, w)| format!("{t} {:.2}", *w as f64 / n as f64))
            .collect();
        s.figures.push(Figure::new(
            "  row versions written per message (pg_stat_user_tables)",
            "rows",
            total as f64 / n as f64,
            7.0,
            "0.2.0's dispatch alone",
        ));
        s.notes.push(format!(
            "row versions written per message, intent and planning included (inserted, updated \
             and deleted, by table): {}",
            per.join(", ")
        ));
    }
    s.notes.push(format!(
        "CPU of the whole machine during the fan-out: {machine:.1} of {:.1} core-s busy ({:.0}%); \
         outside this process (the database server, mostly) {:.1} core-s, {:.0} µs per message",
        cores * elapsed.as_secs_f64(),
        machine / (cores * elapsed.as_secs_f64()) * 100.0,
        (machine - fan_cpu).max(0.0),
        (machine - fan_cpu).max(0.0) / n as f64 * 1e6,
    ));
    s.notes.push(format!(
        "RSS: {rss_loaded:.0} MB after loading, {rss_raw:.0} MB after the baseline, {:.0} MB after \
         the fan-out",
        memory_mb().0
    ));
    s.notes.push(format!(
        "dispatch per delivery: a claim transaction (UPDATE … RETURNING, batches of ≤ {}), one \
         Send API call, and an outcome batch transaction (delivery SENT, grant CONSUMED, its \
         events numbered as they are inserted); the baseline does only the HTTP call",
        srv.config.dispatch.batch
    ));
    Ok(s)
}
