//! PostgreSQL evidence of what bounds a figure: sampled lock waits (pg_stat_activity) and commit counts (pg_stat_database).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the sampler saw: how many samples were taken, and per statement (its first words) how
/// many backends matched, summed over the samples.
#[derive(Debug, Default)]
pub(crate) struct Samples {
    pub samples: u64,
    pub waiting: HashMap<String, u64>,
}

impl Samples {
    /// "statement: mean waiting backends per sample", most waited first.
    pub(crate) fn describe(&self) -> String {
        let mut v: Vec<_> = self.waiting.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        let parts: Vec<String> = v
            .iter()
            .map(|(q, n)| format!("`{q}…` {:.1}", **n as f64 / self.samples.max(1) as f64))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Backends waiting for a lock.
pub(crate) const LOCK_WAITS: &str = "wait_event_type = 'Lock'";
/// Backends running a statement or inside a transaction (waiting for their client).
pub(crate) const BUSY: &str = "state <> 'idle'";

/// Samples every 20 ms (at most 10 minutes) the statements of this database's other backends
/// that match `condition` ([`LOCK_WAITS`] or [`BUSY`]); a backend idle inside a transaction is
/// listed under its last statement, prefixed with its state.
pub(crate) fn sample(
    raw: DatabaseConnection,
    stop: CancellationToken,
    condition: &'static str,
) -> JoinHandle<Result<Samples>> {
    tokio::spawn(async move {
        let mut w = Samples::default();
        let deadline = Instant::now() + Duration::from_secs(600);
        while !stop.is_cancelled() && Instant::now() < deadline {
            let rows = raw
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    format!(
                        "SELECT CASE WHEN state = 'active' THEN '' ELSE state || ': ' END \
                         || left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS q \
                         FROM pg_stat_activity WHERE datname = current_database() \
                         AND pid <> pg_backend_pid() AND {condition}"
                    ),
                ))
                .await?;
            w.samples += 1;
            for r in rows {
                *w.waiting.entry(r.try_get::<String>("", "q")?).or_default() += 1;
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        Ok(w)
    })
}

/// Row versions written per table so far (inserted, updated, deleted), from
/// `pg_stat_user_tables`. The counters are flushed by each backend within a second of its
/// transactions: wait that long after the work before the second reading.
pub(crate) async fn row_versions(raw: &DatabaseConnection) -> Result<HashMap<String, i64>> {
    let rows = raw
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables",
        ))
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(
            r.try_get::<String>("", "relname")?,
            r.try_get::<i64>("", "n")?,
        );
    }
    Ok(out)
}

/// Row versions written per table between two readings, largest first (tables that wrote none
/// left out).
pub(crate) fn written(
    before: &HashMap<String, i64>,
    after: &HashMap<String, i64>,
) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = after
        .iter()
        .map(|(t, n)| (t.clone(), n - before.get(t).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}
