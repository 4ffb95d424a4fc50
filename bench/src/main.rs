//! otn-bench: runs the service and the Messenger simulator in-process and prints each figure beside a baseline measured in the same run.

mod env;
mod fan_out;
mod funnel;
mod intent;
mod list;
mod load;
mod measure;
mod noop;
mod opt_in;
mod paced;
mod pgstat;
mod plans;
mod replicas;
mod report;
mod stream;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Parser;

use crate::env::{BENCH_PAGE, Db, Server};
use crate::report::{Figure, Report, Scenario};

/// Every scenario, in the order they run.
const SCENARIOS: [&str; 8] = [
    "noop",
    "record_opt_in",
    "list_eligible",
    "funnel",
    "fan_out",
    "intent",
    "stream",
    "fan_out_paced",
];

/// Benchmarks of the otn service, each figure beside a baseline measured in the same run.
#[derive(Debug, Parser)]
#[command(name = "otn-bench")]
struct Args {
    /// Full size (1M grants for ListEligible, a 100k fan-out, 100 subscribers); minutes.
    #[arg(long, conflicts_with = "smoke")]
    full: bool,
    /// Extra-small size for the smoke test (seconds, even in debug).
    #[arg(long)]
    smoke: bool,
    /// PostgreSQL server to use: a fresh database otn_bench_<uuid> is created next to the one
    /// named here and dropped afterwards. SQLite (a temporary file) without it.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run only these scenarios (repeatable or comma-separated): noop, record_opt_in,
    /// list_eligible, funnel, fan_out, intent, stream, fan_out_paced.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    scenario: Vec<String>,
    /// Dispatch concurrency of the paced run's server (the service's default when unset).
    #[arg(long, value_name = "N")]
    paced_concurrency: Option<usize>,
}

/// How big each scenario is.
#[derive(Debug, Clone)]
pub struct Size {
    pub name: &'static str,
    /// Length of one closed-loop measurement (split in alternating halves with its baseline).
    pub measure: Duration,
    pub opt_in_callers: Vec<usize>,
    pub list_grants: usize,
    pub list_samples: usize,
    pub fanout_grants: usize,
    /// Recipients of the `intent` scenario's send.
    pub intent_grants: usize,
    pub paced_pages: usize,
    pub paced_secs: f64,
    pub stream_subscribers: usize,
    pub stream_grants: usize,
    /// The `funnel` scenario's seed: (topics, days, notifications) of funnel_days.
    pub funnel: (usize, i64, usize),
}

impl Size {
    fn of(args: &Args) -> Size {
        if args.smoke {
            Size {
                name: "smoke",
                measure: Duration::from_millis(300),
                opt_in_callers: vec![1, 8, 32],
                list_grants: 2_000,
                list_samples: 10,
                fanout_grants: 200,
                intent_grants: 2_000,
                paced_pages: 3,
                paced_secs: 0.2,
                stream_subscribers: 3,
                stream_grants: 50,
                funnel: (5, 30, 20),
            }
        } else if args.full {
            Size {
                name: "full",
                measure: Duration::from_secs(6),
                opt_in_callers: vec![1, 8, 32],
                list_grants: 1_000_000,
                list_samples: 60,
                fanout_grants: 100_000,
                intent_grants: 1_000_000,
                paced_pages: 10,
                paced_secs: 20.0,
                stream_subscribers: 100,
                stream_grants: 10_000,
                // A year of 1,000 topics (12 steps a day) and 20,000 sends: 4.9M rows, the
                // counts of ~13M events.
                funnel: (1_000, 365, 20_000),
            }
        } else {
            Size {
                name: "default",
                measure: Duration::from_secs(2),
                opt_in_callers: vec![1, 8, 32],
                list_grants: 50_000,
                list_samples: 100,
                fanout_grants: 10_000,
                intent_grants: 100_000,
                paced_pages: 10,
                paced_secs: 2.0,
                stream_subscribers: 20,
                stream_grants: 1_000,
                funnel: (100, 365, 2_000),
            }
        }
    }
}

fn selected(args: &Args) -> Result<Vec<&'static str>> {
    let wanted: Vec<String> = args.scenario.iter().map(|s| s.trim().to_string()).collect();
    if let Some(bad) = wanted.iter().find(|w| !SCENARIOS.contains(&w.as_str())) {
        bail!("unknown scenario {bad}; known: {}", SCENARIOS.join(", "));
    }
    Ok(SCENARIOS
        .iter()
        .copied()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s))
        .collect())
}

fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    // The in-process server logs warnings and errors only (a line per RPC at INFO is work the
    // measurements would carry), to stderr (the table owns stdout), coloured only on a
    // terminal; RUST_LOG overrides.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .try_init();
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    init_tracing();
    let size = Size::of(&args);
    let scenarios = selected(&args)?;
    let db = Db::create(args.postgres.as_deref()).await?;
    let started = Instant::now();
    let load_before = measure::load_average();
    report::header(env::backend_name(db.backend), size.name, &load_before);
    let outcome = run_all(&db, &size, &scenarios, args.paced_concurrency).await;
    if let Err(e) = db.remove().await {
        report::progress(&format!("could not remove the bench database: {e:#}"));
    }
    let scenarios = outcome?;
    let r = Report {
        backend: env::backend_name(db_backend_of(&args)).to_string(),
        size: size.name.to_string(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_before,
        load_after: measure::load_average(),
        seconds: started.elapsed().as_secs_f64(),
        scenarios,
    };
    report::summary(&r);
    if let Some(path) = &args.json {
        report::write_json(path, &r)?;
    }
    Ok(())
}

fn db_backend_of(args: &Args) -> sea_orm::DatabaseBackend {
    match args.postgres {
        Some(_) => sea_orm::DatabaseBackend::Postgres,
        None => sea_orm::DatabaseBackend::Sqlite,
    }
}

/// Runs the scenarios in order, printing each as it finishes, then the memory table.
async fn run_all(
    db: &Db,
    size: &Size,
    scenarios: &[&str],
    paced_concurrency: Option<usize>,
) -> Result<Vec<Scenario>> {
    let (rss_start, _) = measure::memory_mb();
    // Loading, the direct SQL and the log tail need few connections (each SQLite connection
    // keeps its own page cache, which would count in the memory figures).
    let raw = env::raw_pool(db, 2).await?;
    let mut out = Vec::new();
    let main_scenarios: Vec<&str> = scenarios
        .iter()
        .copied()
        .filter(|s| *s != "fan_out_paced")
        .collect();
    if !main_scenarios.is_empty() {
        let srv = Server::start(
            &db.url,
            vec![
                env::page(BENCH_PAGE, 1_000_000),
                env::page(env::SLOW_PAGE, 1),
            ],
            Duration::ZERO,
            false,
            None,
        )
        .await?;
        let result = run_main(&srv, db, &raw, size, &main_scenarios, &mut out).await;
        srv.stop().await;
        result?;
    }
    if scenarios.contains(&"fan_out_paced") {
        report::progress("fan_out_paced");
        let t = Instant::now();
        let s = paced::run(db, size, paced_concurrency).await?;
        out.push(finish(s, t));
    }
    raw.close().await.ok();
    let memory = memory_scenario(&out, rss_start, size);
    report::scenario(&memory);
    out.push(memory);
    Ok(out)
}

async fn run_main(
    srv: &Server,
    db: &Db,
    raw: &sea_orm::DatabaseConnection,
    size: &Size,
    scenarios: &[&str],
    out: &mut Vec<Scenario>,
) -> Result<()> {
    for &name in scenarios {
        report::progress(name);
        let t = Instant::now();
        let s = match name {
            "noop" => noop::run(srv, size).await?,
            "record_opt_in" => opt_in::run(srv, db, size).await?,
            "list_eligible" => list::run(srv, db, raw, size).await?,
            "funnel" => funnel::run(srv, db, raw, size).await?,
            "fan_out" => fan_out::run(srv, raw, size).await?,
            "intent" => intent::run(srv, raw, size).await?,
            "stream" => stream::run(srv, raw, size).await?,
            other => bail!("no scenario {other}"),
        };
        out.push(finish(s, t));
    }
    Ok(())
}

/// Stamps the scenario's duration and memory, and prints it.
fn finish(mut s: Scenario, t: Instant) -> Scenario {
    s.seconds = t.elapsed().as_secs_f64();
    (s.rss_after_mb, s.peak_so_far_mb) = measure::memory_mb();
    report::scenario(&s);
    s
}

/// Peak resident memory after each scenario beside the process's RSS before any scenario ran.
fn memory_scenario(done: &[Scenario], rss_start: f64, size: &Size) -> Scenario {
    let mut m = Scenario::new("memory");
    for s in done {
        let fig = Figure::new(
            &format!("peak RSS so far, after {}", s.name),
            "MB",
            s.peak_so_far_mb,
            rss_start,
            "RSS before scenarios",
        );
        m.figures.push(if s.name == "list_eligible" {
            if size.list_grants >= 1_000_000 {
                let met = s.peak_so_far_mb < 150.0;
                fig.target("< 150 MB at 1M grants", met)
            } else {
                fig.note_target("< 150 MB at 1M (--full)")
            }
        } else {
            fig
        });
    }
    m.notes.push(
        "VmHWM (peak) cannot be reset, so each row is the peak of the whole process so far; the \
         RSS right after each scenario is in its header line. The process holds the server, the \
         simulator (its tokens and, in the paced run, every accepted message) and the load \
         generator"
            .into(),
    );
    (m.rss_after_mb, m.peak_so_far_mb) = measure::memory_mb();
    m
}
