//! `stream`: StreamDeliveryEvents subscribers during a fan-out: delivery rate, lag (event_time vs receive time) and completeness, beside a direct SQL tail of the event log.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use otn::v1::{DeliveryEventType, StreamDeliveryEventsRequest};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use tokio::task::JoinHandle;

use crate::Size;
use crate::env::{BENCH_PAGE, Server, connect};
use crate::fan_out::{issue_tokens, send, wait_final};
use crate::load;
use crate::measure::{now_us, pct_ms};
use crate::report::{Figure, Scenario};

const TOPIC: &str = "bench:stream";
const CHANNELS: usize = 4;
const LAG_TARGET_MS: f64 = 50.0;

/// What one reader saw: (sequence, event time ms, receive time µs, event type).
type Seen = Vec<(i64, i64, i64, i32)>;

async fn events_after(
    raw: &DatabaseConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, i64, i32)>> {
    let b = raw.get_database_backend();
    let sql =
        "SELECT seq, at, kind FROM events WHERE seq > $1 AND topic_key = $2 ORDER BY seq LIMIT $3";
    let values: Vec<Value> = vec![after.into(), TOPIC.into(), limit.into()];
    let rows = raw
        .query_all_raw(Statement::from_sql_and_values(b, sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("", "seq")?,
                r.try_get("", "at")?,
                r.try_get("", "kind")?,
            ))
        })
        .collect()
}

/// Polls the log directly every 2 ms until `stop_at` is seen or `deadline`.
async fn raw_tail(
    raw: DatabaseConnection,
    head: i64,
    stop_at: Arc<AtomicI64>,
    deadline: Instant,
) -> Result<Seen> {
    let (mut seen, mut cursor) = (Vec::new(), head);
    while cursor < stop_at.load(Ordering::Relaxed) && Instant::now() < deadline {
        let batch = events_after(&raw, cursor, 1000).await?;
        let now = now_us();
        for (seq, at, kind) in batch {
            seen.push((seq, at, now, kind));
            cursor = seq;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(seen)
}

/// Missing or out-of-order sequences of one reader against the expected list.
fn defects(seen: &Seen, expected: &[i64]) -> u64 {
    let got: Vec<i64> = seen.iter().map(|e| e.0).collect();
    let out_of_order = got.windows(2).filter(|w| w[1] <= w[0]).count();
    let set: std::collections::HashSet<i64> = got.iter().copied().collect();
    let missing = expected.iter().filter(|s| !set.contains(s)).count();
    (out_of_order + missing) as u64
}

fn lags(seen: &[Seen]) -> Vec<Duration> {
    lags_of(seen, None)
}

/// Lags (receive − event time), sorted, of every event or of one type.
fn lags_of(seen: &[Seen], kind: Option<i32>) -> Vec<Duration> {
    let mut v: Vec<Duration> = seen
        .iter()
        .flatten()
        .filter(|e| kind.is_none_or(|k| e.3 == k))
        .map(|&(_, at, recv, _)| Duration::from_micros((recv - at * 1000).max(0) as u64))
        .collect();
    v.sort_unstable();
    v
}

fn span_rate(seen: &[Seen]) -> f64 {
    let all = seen.iter().flatten();
    let first = all.clone().map(|e| e.2).min().unwrap_or(0);
    let last = all.clone().map(|e| e.2).max().unwrap_or(0);
    all.count() as f64 / ((last - first).max(1) as f64 / 1e6)
}

/// Opens a subscription after `head` and reads it until `stop_at` or `deadline`.
async fn subscribe(
    mut client: crate::env::Rpc,
    head: i64,
    stop_at: Arc<AtomicI64>,
    deadline: Instant,
) -> Result<JoinHandle<Result<Seen>>> {
    let mut stream = client
        .stream_delivery_events(StreamDeliveryEventsRequest {
            topic_key: TOPIC.into(),
            after_sequence: head,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(tokio::spawn(async move {
        let mut seen: Seen = Vec::new();
        while seen.last().map_or(head, |e| e.0) < stop_at.load(Ordering::Relaxed)
            && Instant::now() < deadline
        {
            match tokio::time::timeout(Duration::from_millis(100), stream.message()).await {
                Err(_) => continue,
                Ok(Ok(Some(m))) => {
                    let recv = now_us();
                    let ev = m.event.context("stream message without event")?;
                    let at = ev
                        .event_time
                        .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
                    seen.push((ev.sequence, at, recv, ev.r#type));
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(anyhow::Error::from(e)),
            }
        }
        Ok(seen)
    }))
}

pub(crate) async fn run(srv: &Server, raw: &DatabaseConnection, size: &Size) -> Result<Scenario> {
    let mut s = Scenario::new("stream");
    let n = size.stream_grants;
    let subs = size.stream_subscribers;
    let tokens = issue_tokens(srv, BENCH_PAGE, "s", n);
    load::grants(
        raw,
        &load::Grants {
            page: BENCH_PAGE,
            topic_key: TOPIC,
            psid_prefix: "s",
            n,
            tokens: Some(&tokens),
            mixed_states: false,
            tags: false,
        },
    )
    .await?;
    let head: i64 = raw
        .query_one_raw(Statement::from_string(
            raw.get_database_backend(),
            "SELECT last_seq FROM event_counter WHERE id = 1".to_string(),
        ))
        .await?
        .context("event counter")?
        .try_get("", "last_seq")?;
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        channels.push(connect(srv.running.grpc_addr).await?);
    }
    let stop_at = Arc::new(AtomicI64::new(i64::MAX));
    let deadline = Instant::now() + Duration::from_secs(120 + n as u64 / 50);
    let mut readers = Vec::new();
    for k in 0..subs {
        let client = srv.client_on(channels[k % CHANNELS].clone());
        readers.push(subscribe(client, head, stop_at.clone(), deadline).await?);
    }
    let tail = tokio::spawn(raw_tail(raw.clone(), head, stop_at.clone(), deadline));

    let mut client = srv.client();
    let notification = send(&mut client, BENCH_PAGE, TOPIC).await?;
    wait_final(&mut client, &notification.notification_id, deadline)
        .await?
        .context("the streamed fan-out did not complete in time")?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expected: Vec<i64> = events_after(raw, head, i64::MAX)
        .await?
        .into_iter()
        .map(|e| e.0)
        .collect();
    stop_at.store(expected.last().copied().unwrap_or(head), Ordering::Relaxed);
    let mut seen = Vec::new();
    for r in readers {
        seen.push(r.await.context("subscriber panicked")??);
    }
    let tail = vec![tail.await.context("tail panicked")??];

    let missed: u64 = seen.iter().map(|v| defects(v, &expected)).sum();
    let complete = seen.iter().filter(|v| defects(v, &expected) == 0).count();
    let (lag, tail_lag) = (lags(&seen), lags(&tail));
    s.missed_events = Some(missed);
    s.figures.push(Figure::new(
        &format!("events delivered to {subs} subscribers"),
        "events/s",
        span_rate(&seen),
        span_rate(&tail) * subs as f64,
        "SQL tail rate × subs",
    ));
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        let fig = Figure::new(
            &format!("  delivery lag {name}"),
            "ms",
            pct_ms(&lag, q),
            pct_ms(&tail_lag, q),
            "SQL tail polling 2 ms",
        );
        s.figures.push(if q > 0.9 {
            let met = fig.value <= LAG_TARGET_MS;
            fig.target(format!("≤ {LAG_TARGET_MS} ms"), met)
        } else {
            fig
        });
    }
    s.figures.push(
        Figure::new(
            "  subscribers that saw every event in order",
            "subs",
            complete as f64,
            subs as f64,
            "subscribers",
        )
        .target("all", complete == subs),
    );
    s.notes.push(format!(
        "fan-out of {n} grants produced {} events on the topic; each of {subs} subscribers (over \
         {CHANNELS} channels) must see all of them in order: {missed} missed or out of order in all",
        expected.len()
    ));
    let by_kind: Vec<String> = [
        DeliveryEventType::Queued,
        DeliveryEventType::Sent,
        DeliveryEventType::GrantConsumed,
    ]
    .iter()
    .map(|k| {
        let k32 = *k as i32;
        format!(
            "{} {:.0}/{:.0} ms",
            k.as_str_name().trim_start_matches("DELIVERY_EVENT_TYPE_"),
            pct_ms(&lags_of(&seen, Some(k32)), 0.99),
            pct_ms(&lags_of(&tail, Some(k32)), 0.99)
        )
    })
    .collect();
    s.notes.push(format!(
        "lag p99 by event type, subscribers/SQL tail (event_time has millisecond resolution, \
         receive time microseconds): {}",
        by_kind.join(", ")
    ));
    s.notes.push(
        "event_time is stamped as the events are appended, the writing transaction's last step \
         but its commit; the lag is that commit, the sequencer's numbering transaction and its \
         NOTIFY, the process hub's one read of the numbered run (shared by every subscriber of \
         the process) and each subscriber's HTTP/2 send. The SQL tail reads the log directly \
         (numbered events only) every 2 ms"
            .into(),
    );
    Ok(s)
}
