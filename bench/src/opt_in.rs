//! `record_opt_in`: RecordOptIn through gRPC at 1, 8 and 32 callers beside single-row durable INSERTs (one per transaction) into a similar table of the same database at the same concurrency.

use std::sync::Arc;

use anyhow::{Context, Result};
use otn::v1::RecordOptInRequest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use tokio_util::sync::CancellationToken;

use crate::Size;
use crate::env::{BENCH_PAGE, Db, Server};
use crate::measure::{Run, closed_loop, cpu_secs, machine_busy_secs, paired};
use crate::pgstat;
use crate::report::{Figure, Scenario};

const TARGET: f64 = 0.8;
const TOPIC: &str = "bench:opt-in";

async fn create_table(raw: &DatabaseConnection, db: &Db) -> Result<()> {
    let pk = if db.is_postgres() {
        "BIGSERIAL PRIMARY KEY"
    } else {
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    };
    raw.execute_unprepared(&format!(
        "CREATE TABLE bench_raw_inserts (id {pk}, page_id TEXT NOT NULL, psid TEXT NOT NULL, \
         token TEXT NOT NULL, payload TEXT NOT NULL, opted_in_at BIGINT NOT NULL, \
         created_at BIGINT NOT NULL)"
    ))
    .await?;
    raw.execute_unprepared(
        "CREATE UNIQUE INDEX bench_raw_inserts_token ON bench_raw_inserts (token)",
    )
    .await?;
    Ok(())
}

/// Single-row INSERTs in autocommit (one durable transaction each). On SQLite the writers are
/// serialised in-process, as the server serialises its own (SQLite has one writer; without it
/// the busy handler's sleeps, not the disk, would bound the rate).
async fn raw_inserts(
    raw: &DatabaseConnection,
    db: &Db,
    callers: usize,
    round: usize,
    size: &Size,
) -> Result<Run> {
    let raw = raw.clone();
    let backend = raw.get_database_backend();
    let sql =
        "INSERT INTO bench_raw_inserts (page_id, psid, token, payload, opted_in_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
            .to_string();
    let lock = (!db.is_postgres()).then(|| Arc::new(tokio::sync::Mutex::new(())));
    closed_loop(callers, size.measure / 2, u64::MAX, move |w, i| {
        let raw = raw.clone();
        let sql = sql.clone();
        let lock = lock.clone();
        async move {
            let now = crate::measure::now_ms();
            let values: Vec<Value> = vec![
                BENCH_PAGE.into(),
                format!("raw{callers}x{w}x{i}r{round}").into(),
                format!("raw-token-{callers}-{w}-{i}-{round}").into(),
                "".into(),
                now.into(),
                now.into(),
            ];
            let _guard = match &lock {
                Some(l) => Some(l.lock().await),
                None => None,
            };
            raw.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
                .await?;
            Ok(())
        }
    })
    .await
}

async fn rpc_opt_ins(srv: &Server, callers: usize, round: usize, size: &Size) -> Result<Run> {
    let client = srv.client();
    closed_loop(callers, size.measure / 2, u64::MAX, move |w, i| {
        let mut client = client.clone();
        async move {
            client
                .record_opt_in(RecordOptInRequest {
                    page_id: BENCH_PAGE.into(),
                    psid: format!("oi{callers}x{w}x{i}r{round}"),
                    topic_key: TOPIC.into(),
                    token: format!("opt-in-token-{callers}-{w}-{i}-{round}"),
                    ..Default::default()
                })
                .await?;
            Ok(())
        }
    })
    .await
}

pub(crate) async fn run(srv: &Server, db: &Db, size: &Size) -> Result<Scenario> {
    let mut s = Scenario::new("record_opt_in");
    // As many connections as the server's pool, for this scenario only.
    let pool = crate::env::raw_pool(db, srv.config.database_max_connections).await?;
    let result = measure(srv, db, &pool, size, &mut s).await;
    pool.close().await.ok();
    result?;
    Ok(s)
}

async fn measure(
    srv: &Server,
    db: &Db,
    raw: &DatabaseConnection,
    size: &Size,
    s: &mut Scenario,
) -> Result<()> {
    create_table(raw, db).await?;
    let most = size.opt_in_callers.iter().copied().max().unwrap_or(1);
    for &callers in &size.opt_in_callers {
        let stop = CancellationToken::new();
        let sampler = (db.is_postgres() && callers == most)
            .then(|| pgstat::sample(raw.clone(), stop.clone(), pgstat::LOCK_WAITS));
        // CPU of this process and of the whole machine during the RPC halves only.
        let cpu = std::cell::Cell::new((0.0f64, 0.0f64, 0.0f64));
        let raw_cpu = std::cell::Cell::new((0.0f64, 0.0f64));
        let measured = paired(
            2,
            |round| {
                let raw_cpu = &raw_cpu;
                async move {
                    let (p0, m0) = (cpu_secs(), machine_busy_secs());
                    let run = raw_inserts(raw, db, callers, round, size).await;
                    let (p, m) = raw_cpu.get();
                    raw_cpu.set((p + cpu_secs() - p0, m + machine_busy_secs() - m0));
                    run
                }
            },
            |round| {
                let cpu = &cpu;
                async move {
                    let (p0, m0, t0) = (cpu_secs(), machine_busy_secs(), std::time::Instant::now());
                    let run = rpc_opt_ins(srv, callers, round, size).await;
                    let (p, m, t) = cpu.get();
                    cpu.set((
                        p + cpu_secs() - p0,
                        m + machine_busy_secs() - m0,
                        t + t0.elapsed().as_secs_f64(),
                    ));
                    run
                }
            },
        )
        .await;
        stop.cancel();
        if let Some(sampler) = sampler {
            let waits = sampler.await.context("lock sampler panicked")??;
            s.notes.push(format!(
                "lock waits sampled every 20 ms during the {callers}-caller runs ({} samples; mean \
                 backends waiting per sample, by statement): {}",
                waits.samples,
                waits.describe()
            ));
        }
        let (b, f) = measured?;
        if callers == most {
            let (p, m, t) = cpu.get();
            let n = f.ops.max(1) as f64;
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
            s.notes.push(format!(
                "CPU during the {callers}-caller RecordOptIn halves: the machine {:.0}% busy \
                 ({m:.1} of {:.1} core-s); this process (callers, gRPC both ends, the server) \
                 {:.0} µs per opt-in, the rest of the machine (the database) {:.0} µs; during \
                 the baseline halves, the database {:.0} µs per INSERT",
                m / (cores * t).max(1e-9) * 100.0,
                cores * t,
                p / n * 1e6,
                (m - p).max(0.0) / n * 1e6,
                (raw_cpu.get().1 - raw_cpu.get().0).max(0.0) / b.ops.max(1) as f64 * 1e6,
            ));
        }
        let fig = Figure::new(
            &format!("RecordOptIn, {callers} callers"),
            "opt-ins/s",
            f.rate(),
            b.rate(),
            "raw 1-row INSERT txn",
        );
        let (p99, raw99) = (f.pct_ms(0.99), b.pct_ms(0.99));
        s.figures.push(if callers == 32 {
            let label = if db.is_postgres() {
                format!("≥ {TARGET} × baseline")
            } else {
                format!("≥ {TARGET} × (PG target)")
            };
            let met = fig.ratio >= TARGET;
            fig.target(label, met)
        } else {
            fig
        });
        s.figures.push(Figure::new(
            &format!("  p50 latency, {callers} callers"),
            "ms",
            f.pct_ms(0.5),
            b.pct_ms(0.5),
            "raw 1-row INSERT txn",
        ));
        let p99_fig = Figure::new(
            &format!("  p99 latency, {callers} callers"),
            "ms",
            p99,
            raw99,
            "raw 1-row INSERT txn",
        );
        s.figures.push(match callers == 32 {
            true => p99_fig.target("≤ 3 × baseline", p99 <= 3.0 * raw99),
            false => p99_fig,
        });
    }
    s.notes.push(
        "RecordOptIn goes through the group-commit writers: concurrent opt-ins share one \
         transaction of multi-row statements (people, grants, early STOPs, events; topics \
         cached) and each caller is answered after that commit; the baseline is one INSERT and \
         one durable commit per caller, with no gRPC"
            .into(),
    );
    if !db.is_postgres() {
        s.notes.push(
            "SQLite: one writer at a time (the server's in-process write lock; the baseline \
             takes a lock the same way), so each commit's fsync is serial and concurrency adds \
             latency, not throughput"
                .into(),
        );
    }
    Ok(())
}
