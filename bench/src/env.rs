//! The bench's world: a fresh database (SQLite temp file or a new PostgreSQL database), the Messenger simulator and the otn server, all in this process, plus a raw pool on the database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use otn::v1::notification_service_client::NotificationServiceClient;
use otn_server::app::{self, Running};
use otn_server::clock::{SharedClock, SystemClock};
use otn_server::config::{Config, Env, Overrides, PageConfig, Secret};
use otn_simulator::{Simulator, SimulatorConfig};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Sends the bench's API key with every call.
#[derive(Clone)]
pub(crate) struct Key(MetadataValue<Ascii>);

impl Interceptor for Key {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A client of the bench's server, with its key.
pub(crate) type Rpc = NotificationServiceClient<InterceptedService<Channel, Key>>;

/// The page of every scenario but the paced run; its rate is high so pacing never bounds it.
pub(crate) const BENCH_PAGE: &str = "bench-page";

/// A database created for this run, removed by [`Db::remove`].
#[derive(Debug)]
pub(crate) struct Db {
    pub url: String,
    pub backend: DatabaseBackend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteDir(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Db {
    /// A SQLite file in a new temporary directory, or a new `otn_bench_<uuid>` database next
    /// to the one `postgres` names.
    pub(crate) async fn create(postgres: Option<&str>) -> Result<Db> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match postgres {
            None => {
                let dir = std::env::temp_dir().join(format!("otn-bench-{id}"));
                std::fs::create_dir_all(&dir).context("creating the temporary directory")?;
                Ok(Db {
                    url: format!("sqlite://{}?mode=rwc", dir.join("otn.db").display()),
                    backend: DatabaseBackend::Sqlite,
                    cleanup: Cleanup::SqliteDir(dir),
                })
            }
            Some(base) => {
                let name = format!("otn_bench_{id}");
                // Keep the query (e.g. `?host=/var/run/postgresql` for a Unix socket).
                let (path, query) = match base.split_once('?') {
                    Some((p, q)) => (p, format!("?{q}")),
                    None => (base, String::new()),
                };
                let Some((prefix, _)) = path.rsplit_once('/') else {
                    bail!(
                        "--postgres must name a database, e.g. postgres://postgres@127.0.0.1:5432/otn_test"
                    );
                };
                let url = format!("{prefix}/{name}{query}");
                let admin = sea_orm::Database::connect(base)
                    .await
                    .with_context(|| "connecting to --postgres".to_string())?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .context("CREATE DATABASE")?;
                admin.close().await.ok();
                Ok(Db {
                    url,
                    backend: DatabaseBackend::Postgres,
                    cleanup: Cleanup::Postgres {
                        admin_url: base.to_string(),
                        name,
                    },
                })
            }
        }
    }

    /// Drops the database (or deletes the SQLite directory).
    pub(crate) async fn remove(self) -> Result<()> {
        match self.cleanup {
            Cleanup::SqliteDir(dir) => {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
            }
            Cleanup::Postgres { admin_url, name } => {
                let admin = sea_orm::Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .context("DROP DATABASE")?;
                admin.close().await.ok();
                Ok(())
            }
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        self.backend == DatabaseBackend::Postgres
    }
}

/// A page with a fresh access token and this Send API rate.
/// A page that sends one message a second (the `intent` scenario's: its planning is timed,
/// not its dispatch).
pub(crate) const SLOW_PAGE: &str = "bench-slow-page";

pub(crate) fn page(page_id: &str, rate_limit_per_sec: u32) -> PageConfig {
    PageConfig {
        page_id: page_id.into(),
        access_token: Secret::new(format!("bench-token-{}", uuid::Uuid::new_v4().simple())),
        app_secret: Secret::new("bench-app-secret"),
        verify_token: Secret::new("bench-verify-token"),
        region: None,
        rate_limit_per_sec,
        enabled: true,
        politeness: Default::default(),
    }
}

/// An otn server and the simulator standing in for Meta, with a channel to the server.
pub(crate) struct Server {
    pub running: Running,
    pub sim: Simulator,
    pub pages: Vec<PageConfig>,
    pub channel: Channel,
    pub config: Config,
    pub key: Key,
}

impl Server {
    /// Starts a simulator (`latency`, recording accepted messages or not) and a server on
    /// `db_url` serving `pages`, with the default dispatch settings except `concurrency`.
    pub(crate) async fn start(
        db_url: &str,
        pages: Vec<PageConfig>,
        latency: Duration,
        record_messages: bool,
        concurrency: Option<usize>,
    ) -> Result<Server> {
        let clock: SharedClock = Arc::new(SystemClock);
        let sim = Simulator::start(
            "127.0.0.1:0".parse()?,
            SimulatorConfig {
                latency,
                record_messages,
                ..SimulatorConfig::new(otn_simulator::system_clock())
            },
        )
        .await
        .context("starting the simulator")?;
        for p in &pages {
            sim.add_page(&p.page_id, p.access_token.expose());
        }
        let overrides = Overrides {
            grpc_addr: Some("127.0.0.1:0".into()),
            http_addr: Some("127.0.0.1:0".into()),
            database_url: Some(db_url.to_string()),
            ..Default::default()
        };
        let mut config = Config::load(&overrides, &Env::default()).map_err(anyhow::Error::msg)?;
        config.graph_api_base = sim.base_url();
        config.admin_addr = "127.0.0.1:0".parse().expect("addr");
        config.pages = pages.clone();
        config.shutdown_grace_secs = 10;
        if let Some(c) = concurrency {
            config.dispatch.concurrency = c;
        }
        let running = app::start(config.clone(), clock)
            .await
            .context("starting the otn server")?;
        sim.set_webhook(
            format!("http://{}/webhooks/messenger", running.http_addr),
            "bench-app-secret".into(),
        );
        let channel = connect(running.grpc_addr).await?;
        let new_key = otn_server::admin::NewApiKey {
            name: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            scopes: ["read", "consent", "send", "erase"]
                .map(String::from)
                .to_vec(),
            pages: Vec::new(),
        };
        let secret = otn_server::admin::create_api_key(db_url, &new_key).await?;
        let key = Key(format!("Bearer {secret}").parse()?);
        Ok(Server {
            running,
            sim,
            pages,
            channel,
            config,
            key,
        })
    }

    /// A gRPC client on the shared channel.
    pub(crate) fn client(&self) -> Rpc {
        self.client_on(self.channel.clone())
    }

    /// A gRPC client on `channel`.
    pub(crate) fn client_on(&self, channel: Channel) -> Rpc {
        NotificationServiceClient::with_interceptor(channel, self.key.clone())
    }

    /// Stops the server and the simulator.
    pub(crate) async fn stop(self) {
        self.running.shutdown().await;
        self.sim.shutdown();
    }
}

/// A new HTTP/2 channel (its own connection) to a gRPC server on 127.0.0.1.
pub(crate) async fn connect(addr: std::net::SocketAddr) -> Result<Channel> {
    Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// The database's usual name in the table.
pub(crate) fn backend_name(b: DatabaseBackend) -> &'static str {
    match b {
        DatabaseBackend::Postgres => "postgresql",
        _ => "sqlite",
    }
}

/// A raw pool on the database, opened the way the server opens its own (WAL, synchronous
/// FULL, busy timeout on SQLite), for loading and for the baselines.
pub(crate) async fn raw_pool(db: &Db, max_connections: u32) -> Result<DatabaseConnection> {
    let mut opts = sea_orm::ConnectOptions::new(db.url.clone());
    opts.max_connections(max_connections)
        .min_connections(1)
        .sqlx_logging(false);
    if !db.is_postgres() {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    Ok(sea_orm::Database::connect(opts).await?)
}
