//! Storage behind one repository type: connection, migrations, and the queries of each concern.

pub mod cancel;
pub mod completion;
pub mod deliveries;
pub mod eligible;
pub mod entities;
pub mod events;
pub mod grants;
pub mod ledger;
pub mod migration;
pub mod notifications;
pub mod optins;
pub mod receipts;
pub mod sql;

use std::{sync::Arc, time::Duration};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, Statement, TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, MutexGuard};

use crate::error::Result;
use crate::events::bus::EventBus;

/// Lock key of the migration advisory lock on PostgreSQL ("otn-migr").
const MIGRATION_LOCK_KEY: i64 = 0x6f74_6e2d_6d69_6772;

/// The repository: every query the service makes goes through here.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// Woken after every commit that appended events.
    pub bus: EventBus,
    backend: DatabaseBackend,
    /// SQLite has one writer; serialising write transactions in-process avoids SQLITE_BUSY
    /// on lock upgrades. Unused on PostgreSQL.
    write_lock: Arc<Mutex<()>>,
}

/// Opens a connection pool; a `sqlite:` URL gets WAL mode and a busy timeout.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
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
    pub async fn open(url: &str, max_connections: u32) -> Result<Self> {
        let db = connect(url, max_connections).await?;
        Ok(Self::from_connection(db))
    }

    /// Wraps an open connection.
    pub fn from_connection(db: DatabaseConnection) -> Self {
        let backend = db.get_database_backend();
        Self {
            db,
            backend,
            bus: EventBus::new(),
            write_lock: Arc::new(Mutex::new(())),
        }
    }

    /// Applies pending migrations. On PostgreSQL an advisory lock, held on a dedicated
    /// one-connection pool, makes replicas that start together migrate one at a time.
    ///
    /// SQLite is the embedded, single-server backend: migrations are serialised within the
    /// process only.
    pub async fn migrate(url: &str) -> Result<()> {
        static SQLITE_MIGRATIONS: Mutex<()> = Mutex::const_new(());
        let _local = match url.starts_with("sqlite:") {
            true => Some(SQLITE_MIGRATIONS.lock().await),
            false => None,
        };
        let db = connect(url, 1).await?;
        let pg = db.get_database_backend() == DatabaseBackend::Postgres;
        if pg {
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
        }
        let result = migration::Migrator::up(&db, None).await;
        if pg {
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_unlock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
        }
        db.close().await?;
        Ok(result?)
    }

    /// The connection pool.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Which database this is.
    pub fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    /// Begins a write transaction (serialised in-process on SQLite). Keep it short and never
    /// hold it across a network call.
    pub async fn write(&self) -> Result<WriteTxn<'_>> {
        let guard = match self.backend {
            DatabaseBackend::Sqlite => Some(self.write_lock.lock().await),
            _ => None,
        };
        let txn = self.db.begin().await?;
        Ok(WriteTxn {
            txn,
            bus: self.bus.clone(),
            appended: false,
            _guard: guard,
        })
    }

    /// Builds a statement for this backend from SQL written with `?` placeholders.
    pub fn stmt(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend, placeholders(self.backend, sql), values)
    }
}

/// A write transaction and, on SQLite, the in-process writer lock.
pub struct WriteTxn<'a> {
    pub txn: DatabaseTransaction,
    bus: EventBus,
    /// Set by `events::append`: subscribers are woken after the commit.
    pub(crate) appended: bool,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl WriteTxn<'_> {
    /// Commits, then wakes event subscribers if events were appended.
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        if self.appended {
            self.bus.wake();
        }
        Ok(())
    }
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL.
pub fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `?, ?, ?` for a list of `n` values (at least one).
pub fn marks(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}
