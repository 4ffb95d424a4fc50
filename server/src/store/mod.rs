//! Storage behind one repository type: connection, migrations, the commit wake-up, and the
//! queries of each concern (built with sea-query, so placeholders suit each backend).

mod api_keys;
mod breaker;
pub(crate) mod bus;
mod cancel;
mod candidates;
mod clicks;
pub(crate) mod codes;
mod completion;
mod console;
mod deliveries;
mod echoes;
mod eligible;
pub(crate) mod events;
mod expiry;
mod exports;
mod funnel;
pub(crate) use funnel::step_name as funnel_step_name;
mod grant_batch;
mod grants;
pub(crate) mod listener;
mod migration;
mod notifications;
mod optins;
mod pacing;
mod planning;
mod polite;
mod receipts;
mod recipients;
mod retention;
mod schema;
mod sessions;
mod stats;
mod statuses;
#[cfg(test)]
mod tests;

use std::{sync::Arc, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use bus::EventBus;

pub(crate) use candidates::Who;
pub(crate) use console::{FailureCount, PageRow, Tally};
pub(crate) use echoes::EchoApplied;
pub(crate) use eligible::Eligible;
pub(crate) use exports::ExportRow;
pub(crate) use notifications::NewNotification;
pub(crate) use optins::{NewOptIn, OptInRow};
pub(crate) use planning::Applied;
pub(crate) use receipts::Receipt;
pub(crate) use recipients::Forgotten;

/// Lock key of the migration advisory lock on PostgreSQL ("otn-migr").
const MIGRATION_LOCK_KEY: i64 = 0x6f74_6e2d_6d69_6772;

/// The repository: every query the service makes goes through here.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    db: DatabaseConnection,
    /// Woken after every commit that appended events.
    bus: EventBus,
    backend: DatabaseBackend,
    /// SQLite has one writer; serialising write transactions in-process avoids SQLITE_BUSY
    /// on lock upgrades. Unused on PostgreSQL.
    write_lock: Arc<Mutex<()>>,
    /// Topic ids already seen (topics are never deleted).
    topic_ids: grant_batch::TopicIds,
    /// Notifications' politeness (fixed when they are made), for the claims' gate.
    polite_cache: polite::PoliteCache,
    /// When set, events are stamped by this clock as they are appended (the last step before
    /// their transaction commits), so an event's time is when it became visible, not when the
    /// work that wrote it began. Store tests leave it unset and pass every time explicitly.
    stamp: Option<crate::clock::SharedClock>,
    /// The longest write transaction committed since it was last taken, in microseconds.
    longest_write_us: Arc<std::sync::atomic::AtomicU64>,
}

/// `url` with every secret replaced by `***` (for logs and `check-config`): the password of the
/// user info (up to the last `@`, so an unescaped `@` in a password is still hidden) and the
/// values of query parameters that name a password, secret, token or key.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (location, query) = match rest.split_once('?') {
        Some((l, q)) => (l, Some(q)),
        None => (rest, None),
    };
    let mut out = format!("{scheme}://");
    match location.rsplit_once('@') {
        Some((user, host)) => {
            let name = user.split_once(':').map_or(user, |(n, _)| n);
            let hidden = if user.contains(':') { ":***" } else { "" };
            out.push_str(&format!("{name}{hidden}@{host}"));
        }
        None => out.push_str(location),
    }
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if secret_param(k) => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key"]
        .iter()
        .any(|w| n.contains(w))
}

/// Whether `database_url` names a PostgreSQL database.
pub(crate) fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

/// Opens a connection pool; a `sqlite:` URL gets WAL mode and a busy timeout.
async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    Ok(Database::connect(opts).await?)
}

impl Store {
    /// Connects to `url` (sqlite:… or postgres://…).
    pub(crate) async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let db = connect(url, max_connections).await?;
        let backend = db.get_database_backend();
        Ok(Self {
            db,
            backend,
            bus: EventBus::new(),
            write_lock: Arc::new(Mutex::new(())),
            topic_ids: Default::default(),
            polite_cache: Default::default(),
            stamp: None,
            longest_write_us: Default::default(),
        })
    }

    /// This store, stamping appended events with `clock` (see [`Store::stamp`]).
    pub(crate) fn stamping(mut self, clock: crate::clock::SharedClock) -> Self {
        self.stamp = Some(clock);
        self
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock, held on a dedicated
    /// one-connection pool, makes replicas that start together migrate one at a time.
    ///
    /// SQLite is the embedded, single-server backend: migrations are serialised within the
    /// process only.
    pub(crate) async fn migrate(url: &str) -> Result<()> {
        static SQLITE_MIGRATIONS: Mutex<()> = Mutex::const_new(());
        let _local = match url.starts_with("sqlite:") {
            true => Some(SQLITE_MIGRATIONS.lock().await),
            false => None,
        };
        let db = connect(url, 1).await?;
        let pg = db.get_database_backend() == DatabaseBackend::Postgres;
        let lock = |f: &str| {
            Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                format!("SELECT {f}($1)"),
                [MIGRATION_LOCK_KEY.into()],
            )
        };
        if pg {
            db.execute_raw(lock("pg_advisory_lock")).await?;
        }
        let result = migration::Migrator::up(&db, None).await;
        if pg {
            db.execute_raw(lock("pg_advisory_unlock")).await?;
        }
        db.close().await?;
        Ok(result?)
    }

    /// The migrations not yet applied (for readiness).
    pub(crate) async fn pending_migrations(&self) -> Result<usize> {
        Ok(migration::Migrator::get_pending_migrations(&self.db)
            .await?
            .len())
    }

    /// The connection pool.
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The commit wake-up of this process.
    pub(crate) fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Whether this is PostgreSQL (several replicas may share it).
    pub(crate) fn is_postgres(&self) -> bool {
        self.backend == DatabaseBackend::Postgres
    }

    /// Begins a write transaction (serialised in-process on SQLite, and `BEGIN IMMEDIATE`
    /// there, so a transaction that reads before it writes never has to upgrade its lock when
    /// another process shares the file). Keep it short and never hold it across a network call.
    pub(crate) async fn write(&self) -> Result<WriteTxn<'_>> {
        let (guard, txn) = match self.backend {
            DatabaseBackend::Sqlite => {
                let guard = self.write_lock.lock().await;
                let options = TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                };
                (Some(guard), self.db.begin_with_options(options).await?)
            }
            _ => (None, self.db.begin().await?),
        };
        Ok(WriteTxn {
            txn,
            bus: self.bus.clone(),
            started: std::time::Instant::now(),
            longest_us: self.longest_write_us.clone(),
            events: Vec::new(),
            events_at: i64::MIN,
            postgres: self.is_postgres(),
            stamp: self.stamp.clone(),
            _guard: guard,
        })
    }

    /// The longest write transaction committed since the last call (begin to commit, the wait
    /// for SQLite's writer lock excluded), and starts measuring again.
    pub(crate) fn take_longest_write(&self) -> Duration {
        let us = self
            .longest_write_us
            .swap(0, std::sync::atomic::Ordering::Relaxed);
        Duration::from_micros(us)
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        self.db.clone().close().await.ok();
    }

    /// Checks the database answers.
    pub(crate) async fn ping(&self) -> Result<()> {
        Ok(self.db.ping().await?)
    }
}

/// A write transaction and, on SQLite, the in-process writer lock.
pub(crate) struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    bus: EventBus,
    /// When it began, and where the longest one is kept.
    started: std::time::Instant,
    longest_us: Arc<std::sync::atomic::AtomicU64>,
    /// Events appended by this transaction, numbered and inserted as its last step
    /// (`events::flush`); subscribers are woken after the commit.
    events: Vec<crate::domain::event::NewEvent>,
    /// The latest time an append gave for its events.
    events_at: i64,
    /// Whether the transaction is on PostgreSQL (appends also NOTIFY other replicas).
    postgres: bool,
    /// The store's event stamp clock.
    stamp: Option<crate::clock::SharedClock>,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    /// The transaction, to run statements in.
    pub(crate) fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Numbers and inserts the appended events (the log's one serialised step), commits, then
    /// wakes this process's subscribers and pumps if events were appended.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let flushed = events::flush(&mut self).await?;
        self.txn.commit().await?;
        funnel::counted(&flushed.tally);
        let took = self.started.elapsed();
        crate::ops::metrics::write_transaction(took.as_secs_f64());
        self.longest_us.fetch_max(
            took.as_micros() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        if flushed.head.is_some() {
            self.bus.committed.wake();
        }
        Ok(())
    }
}

/// The `id` column of a row returned by `RETURNING id`.
fn returned_id(row: Option<sea_orm::QueryResult>, what: &str) -> Result<i64> {
    row.ok_or_else(|| Error::Internal(format!("{what} returned nothing")))?
        .try_get("", "id")
        .map_err(Error::from)
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn a_url_loses_its_password_wherever_it_is() {
        for (url, shown) in [
            ("postgres://otn:hunter2@db/otn", "postgres://otn:***@db/otn"),
            (
                "postgres://u:p@ss@host:5432/db",
                "postgres://u:***@host:5432/db",
            ),
            ("postgres://u:pa/ss@host/db", "postgres://u:***@host/db"),
            (
                "postgres://db/otn?user=otn&password=hunter2&sslmode=require",
                "postgres://db/otn?user=otn&password=***&sslmode=require",
            ),
            (
                "postgres://db/otn?sslpassword=x&sslkey=/k",
                "postgres://db/otn?sslpassword=***&sslkey=***",
            ),
            ("sqlite://otn.db?mode=rwc", "sqlite://otn.db?mode=rwc"),
            ("postgres://otn@db/otn", "postgres://otn@db/otn"),
        ] {
            let r = redact_url(url);
            assert_eq!(r, shown, "{url}");
            assert!(!r.contains("hunter2") && !r.contains("p@ss"), "{r}");
        }
    }
}
