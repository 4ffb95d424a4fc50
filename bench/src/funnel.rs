//! `funnel`: GetFunnel (a topic over 30 and 366 days, one notification) beside its one
//! statement run directly, on a `funnel_days` table seeded at the size a year of a busy page
//! leaves. The funnel never reads the events or the grants (its counts are kept as events are
//! appended), so what sets its cost is the size of `funnel_days`, seeded here row by row:
//! `topics × days × steps` topic rows plus `notifications × days × steps` notification rows.
//! Seeding 10M events and 1M grants through the service would take far longer than the
//! measurement and change nothing it reads.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use otn::v1::GetFunnelRequest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

use crate::Size;
use crate::env::{BENCH_PAGE, Db, Server};
use crate::measure::pct_ms;
use crate::plans;
use crate::report::{Figure, Scenario};

/// Steps counted per topic and day (of the 18: the chain, the engagement kinds, failures and
/// the grants' ends).
const TOPIC_STEPS: i64 = 12;
/// Steps counted per notification and day.
const NOTIFICATION_STEPS: i64 = 9;
/// Days a notification goes on being counted (reads and replies trickle in).
const NOTIFICATION_DAYS: i64 = 3;
/// Rows per INSERT statement, and statements per transaction.
const ROWS_PER_INSERT: usize = 1000;
const INSERTS_PER_TXN: usize = 50;
const DAY_MS: i64 = 86_400_000;

/// What the seed holds.
struct Seeded {
    rows: u64,
    seconds: f64,
    events: u64,
    today: i64,
}

/// The id of seeded notification `n` (UUID-shaped, as the service issues them).
fn notification_id(n: usize) -> String {
    format!("00000000-0000-7000-8000-{n:012x}")
}

fn topic_key(t: usize) -> String {
    format!("bench:funnel:{t:05}")
}

/// Rows waiting to be written, as multi-row INSERTs grouped in transactions.
#[derive(Default)]
struct Batch {
    rows: Vec<String>,
    statements: Vec<String>,
    total: u64,
    events: u64,
}

impl Batch {
    fn add(&mut self, row: String, events: u64) {
        self.rows.push(row);
        self.total += 1;
        self.events += events;
        if self.rows.len() == ROWS_PER_INSERT {
            self.close_statement();
        }
    }

    fn close_statement(&mut self) {
        if !self.rows.is_empty() {
            self.statements.push(format!(
                "INSERT INTO funnel_days (page_id, topic_key, notification_id, day, step, n) \
                 VALUES {}",
                self.rows.join(",")
            ));
            self.rows.clear();
        }
    }

    /// Writes the statements in one transaction once there are enough (all of them when `all`).
    async fn write(&mut self, raw: &DatabaseConnection, all: bool) -> Result<()> {
        if all {
            self.close_statement();
        }
        if self.statements.is_empty() || (!all && self.statements.len() < INSERTS_PER_TXN) {
            return Ok(());
        }
        let txn = raw.begin().await?;
        for sql in self.statements.drain(..) {
            txn.execute_unprepared(&sql).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// Seeds `topics` topics over `days` days and `notifications` notifications, each row counting
/// a few events (their sum is the number of events such a log would have held).
async fn seed(
    raw: &DatabaseConnection,
    topics: usize,
    days: i64,
    notifications: usize,
) -> Result<Seeded> {
    let t = Instant::now();
    let today = crate::measure::now_ms().div_euclid(DAY_MS);
    let mut b = Batch::default();
    for topic in 0..topics {
        let key = topic_key(topic);
        for d in 0..days {
            for step in 1..=TOPIC_STEPS {
                let n = 1 + ((topic as i64 * 7 + d * 3 + step) % 5) as u64;
                b.add(
                    format!("('{BENCH_PAGE}','{key}','',{},{step},{n})", today - d),
                    n,
                );
            }
            b.write(raw, false).await?;
        }
    }
    for n in 0..notifications {
        let key = topic_key(n % topics.max(1));
        let first = today - (n as i64 % days.max(1));
        for d in 0..NOTIFICATION_DAYS {
            for step in 1..=NOTIFICATION_STEPS {
                let count = 1 + (n as i64 + step) % 40;
                b.add(
                    format!(
                        "('{BENCH_PAGE}','{key}','{}',{},{step},{count})",
                        notification_id(n),
                        first + d
                    ),
                    0,
                );
            }
        }
        b.write(raw, false).await?;
    }
    b.write(raw, true).await?;
    if raw.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        raw.execute_unprepared("ANALYZE funnel_days").await?;
    }
    Ok(Seeded {
        rows: b.total,
        seconds: t.elapsed().as_secs_f64(),
        events: b.events,
        today,
    })
}

/// The statement GetFunnel runs for a topic (as `store/funnel.rs` builds it).
const TOPIC_SQL: &str = "SELECT day, step, n FROM funnel_days WHERE page_id = $1 AND topic_key = $2 \
                         AND notification_id = '' AND day >= $3 AND day <= $4 ORDER BY day ASC";
/// The statements GetFunnel runs for a notification.
const COUNTED_SQL: &str = "SELECT page_id, topic_key, day FROM funnel_days WHERE notification_id = $1 \
                           AND notification_id <> '' ORDER BY day ASC LIMIT 1";
const NOTIFICATION_SQL: &str = "SELECT day, step, n FROM funnel_days WHERE notification_id = $1 \
                                AND notification_id <> '' AND day >= $2 AND day <= $3 ORDER BY day ASC";

fn stmt(raw: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(raw.get_database_backend(), sql, values)
}

fn date(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Alternates the direct statement(s) and the RPC `samples` times each; (rpc, direct) sorted.
async fn alternate(
    srv: &Server,
    raw: &DatabaseConnection,
    samples: usize,
    req: impl Fn(usize) -> (GetFunnelRequest, Vec<Statement>),
    expect_sent: i64,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut client = srv.client();
    let (mut rpc, mut direct) = (Vec::new(), Vec::new());
    for i in 0..samples {
        let (r, statements) = req(i);
        let t = Instant::now();
        for s in statements {
            raw.query_all_raw(s).await?;
        }
        direct.push(t.elapsed());
        let t = Instant::now();
        let f = client.get_funnel(r).await?.into_inner();
        rpc.push(t.elapsed());
        let sent = f.counts.map(|c| c.sent).unwrap_or(-1);
        if expect_sent >= 0 && sent < expect_sent {
            bail!("GetFunnel counted {sent} sent, the seed holds at least {expect_sent}");
        }
    }
    rpc.sort_unstable();
    direct.sort_unstable();
    Ok((rpc, direct))
}

fn figures(s: &mut Scenario, what: &str, rpc: &[Duration], direct: &[Duration]) {
    s.figures.push(Figure::new(
        &format!("{what}, p50"),
        "ms",
        pct_ms(rpc, 0.5),
        pct_ms(direct, 0.5),
        "same SQL, direct",
    ));
    let (p99, raw99) = (pct_ms(rpc, 0.99), pct_ms(direct, 0.99));
    s.figures.push(
        Figure::new(
            &format!("{what}, p99"),
            "ms",
            p99,
            raw99,
            "same SQL, direct",
        )
        .target("p99 ≤ 50 ms", p99 <= 50.0),
    );
}

pub(crate) async fn run(
    srv: &Server,
    db: &Db,
    raw: &DatabaseConnection,
    size: &Size,
) -> Result<Scenario> {
    let mut s = Scenario::new("funnel");
    let (topics, days, notifications) = size.funnel;
    let seeded = seed(raw, topics, days, notifications).await?;
    s.notes.push(format!(
        "seeded funnel_days with {} rows ({topics} topics × {days} days × {TOPIC_STEPS} steps, \
         {notifications} notifications × {NOTIFICATION_DAYS} days × {NOTIFICATION_STEPS} steps), \
         the counts of {} events, in {:.1} s; the events and grants themselves are not loaded: \
         GetFunnel never reads them",
        seeded.rows, seeded.events, seeded.seconds
    ));
    let samples = size.list_samples.max(10);
    let today = seeded.today;
    let spread = topics.max(1);
    for span in [30i64, 366] {
        let (rpc, direct) = alternate(
            srv,
            raw,
            samples,
            |i| {
                let key = topic_key((i * 7919) % spread);
                let first = today - span + 1;
                (
                    GetFunnelRequest {
                        page_id: BENCH_PAGE.into(),
                        topic_key: key.clone(),
                        start_date: date(first),
                        end_date: date(today),
                        ..Default::default()
                    },
                    vec![stmt(
                        raw,
                        TOPIC_SQL,
                        vec![BENCH_PAGE.into(), key.into(), first.into(), today.into()],
                    )],
                )
            },
            1,
        )
        .await?;
        figures(
            &mut s,
            &format!("GetFunnel, a topic over {span} days"),
            &rpc,
            &direct,
        );
    }
    if notifications > 0 {
        let (rpc, direct) = alternate(
            srv,
            raw,
            samples,
            |i| {
                let id = notification_id((i * 104_729) % notifications);
                (
                    GetFunnelRequest {
                        notification_id: id.clone(),
                        ..Default::default()
                    },
                    vec![
                        stmt(raw, COUNTED_SQL, vec![id.clone().into()]),
                        stmt(
                            raw,
                            NOTIFICATION_SQL,
                            vec![id.into(), (today - 366).into(), today.into()],
                        ),
                    ],
                )
            },
            -1,
        )
        .await?;
        figures(&mut s, "GetFunnel, one notification", &rpc, &direct);
    }
    let first = today - 365;
    s.explain.push(
        plans::explain(
            raw,
            db,
            "funnel of a topic (366 days)",
            TOPIC_SQL,
            vec![
                BENCH_PAGE.into(),
                topic_key(0).into(),
                first.into(),
                today.into(),
            ],
        )
        .await?,
    );
    s.notes.push(
        "a topic's funnel reads at most 366 × 18 rows through the primary key (page, topic, \
         notification '', day, step), whatever the table holds; a notification's, its own rows \
         through funnel_days_notification"
            .into(),
    );
    Ok(s)
}
