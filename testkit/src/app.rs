//! The service in-process: a world (database, clock, Meta) that outlives servers, servers on
//! 127.0.0.1:0, and typed clients.

use std::sync::Arc;

use otn::v1::{self as pb, notification_service_client::NotificationServiceClient};
use otn_server::app::{self, Running};
use otn_server::clock::{Clock, ManualClock};
use otn_server::config::{Config, Env, Overrides, PageConfig, Secret};
use otn_simulator::{Simulator, SimulatorConfig};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::db;

/// The page every test world configures.
pub const PAGE: &str = "test-page";

/// Adds `authorization: Bearer <key>` to every call when a key is set.
#[derive(Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The interceptor for `key`.
    pub fn new(key: Option<&str>) -> Self {
        Self(key.map(|k| {
            format!("Bearer {k}")
                .parse()
                .expect("an API key is printable ASCII")
        }))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The typed gRPC client the tests use.
pub type Client = NotificationServiceClient<InterceptedService<Channel, Bearer>>;

/// What outlives one server: the database, the clock and Meta (the simulator). Restarting a
/// server on the same world keeps all three.
#[derive(Clone)]
pub struct World {
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    pub page: PageConfig,
    /// An API key with every scope on every page, created with the world.
    pub key: String,
    dir: Arc<tempfile::TempDir>,
}

/// A running server on a world, with a client.
pub struct TestApp {
    pub running: Running,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub world: World,
}

impl World {
    /// A world with a fresh database and a clock that runs from now.
    pub async fn new() -> World {
        Self::with_clock(ManualClock::new()).await
    }

    /// A world on `clock`.
    pub async fn with_clock(clock: Arc<ManualClock>) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = db::fresh_database(dir.path()).await;
        let page = PageConfig {
            page_id: PAGE.into(),
            access_token: Secret::new(format!("page-token-{}", uuid::Uuid::new_v4().simple())),
            app_secret: Secret::new("test-app-secret"),
            verify_token: Secret::new("test-verify-token"),
            region: None,
            rate_limit_per_sec: 1000,
            enabled: true,
            // Tests about something else send without a cap or quiet hours; the politeness
            // tests turn them on.
            politeness: otn_server::config::Politeness::off(),
        };
        let now = clock.clone();
        let sim = Simulator::start(
            "127.0.0.1:0".parse().expect("addr"),
            SimulatorConfig::new(Arc::new(move || now.now_ms())),
        )
        .await
        .expect("simulator");
        sim.add_page(PAGE, page.access_token.expose());
        let key = create_key(&database_url, "tests", &ALL_SCOPES, &[]).await;
        World {
            sim,
            clock,
            database_url,
            page,
            key,
            dir: Arc::new(dir),
        }
    }

    /// A new API key on this world's database, as `otn-server api-key create` makes one.
    pub async fn create_key(&self, name: &str, scopes: &[&str], pages: &[&str]) -> String {
        create_key(&self.database_url, name, scopes, pages).await
    }

    /// The configuration a test server gets: fast retries, short leases, its own files.
    pub fn config(&self) -> Config {
        let overrides = Overrides {
            grpc_addr: Some("127.0.0.1:0".into()),
            http_addr: Some("127.0.0.1:0".into()),
            database_url: Some(self.database_url.clone()),
            ..Default::default()
        };
        let mut config = Config::load(&overrides, &Env::default()).expect("config");
        config.shutdown_grace_secs = 5;
        config.graph_api_base = self.sim.base_url();
        config.graph_timeout_ms = 2_000;
        config.admin_addr = "127.0.0.1:0".parse().expect("addr");
        // The world's own sandbox state, never a file shared with other tests (on PostgreSQL
        // the default is `otn-sandbox.json` in the working directory).
        config.sandbox_state_file = Some(self.dir.path().join("sandbox.json"));
        config.pages = vec![self.page.clone()];
        config.dispatch.lease_ms = 1_000;
        config.dispatch.idle_poll_ms = 20;
        config.dispatch.backoff_base_ms = 10;
        config.dispatch.backoff_max_ms = 200;
        config.dispatch.page_pause_ms = 200;
        config
    }

    /// Makes `config` the sandbox's: no page, `sandbox` set, and its own embedded SQLite file in
    /// this world's directory (the sandbox refuses PostgreSQL and databases of real pages).
    pub fn sandbox(&self, config: &mut Config) {
        config.pages.clear();
        config.sandbox = true;
        let db = self.dir.path().join("sandbox.db");
        config.database_url = format!("sqlite://{}?mode=rwc", db.display());
    }

    /// A server with the test configuration.
    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(|_| {}).await
    }

    /// A server with the test configuration as `adjust` changes it. With `RUST_LOG` set, the
    /// servers' logs go to the test's output.
    pub async fn spawn_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = otn_server::init_telemetry(
                otn_server::config::LogFormat::Text,
                &Default::default(),
            );
        }
        let mut config = self.config();
        adjust(&mut config);
        let running = app::start(config.clone(), self.clock.clone())
            .await
            .expect("start");
        let secret = config
            .pages
            .first()
            .map(|p| p.app_secret.expose().to_string())
            .unwrap_or_default();
        self.sim.set_webhook(
            format!("http://{}/webhooks/messenger", running.http_addr),
            secret,
        );
        let url = format!("http://{}", running.grpc_addr);
        let client = connect(&url, Some(&self.key)).await;
        TestApp {
            running,
            client,
            clock: self.clock.clone(),
            world: self.clone(),
        }
    }
}

/// Every scope an API key can have.
pub const ALL_SCOPES: [&str; 4] = ["read", "consent", "send", "erase"];

/// Creates an API key named `name` on the database at `database_url`.
pub async fn create_key(database_url: &str, name: &str, scopes: &[&str], pages: &[&str]) -> String {
    let key = otn_server::admin::NewApiKey {
        name: name.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        pages: pages.iter().map(|p| p.to_string()).collect(),
    };
    otn_server::admin::create_api_key(database_url, &key)
        .await
        .expect("create an API key")
}

/// A client of the server at `url`, sending `key` when given.
pub async fn connect(url: &str, key: Option<&str>) -> Client {
    let channel = Channel::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    NotificationServiceClient::with_interceptor(channel, Bearer::new(key))
}

/// A fresh world and a server on it.
pub async fn spawn_app() -> TestApp {
    World::new().await.spawn().await
}

/// A fresh world and a server on it, configured by `adjust`.
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    World::new().await.spawn_with(adjust).await
}

impl TestApp {
    /// Meta, as the simulator plays it.
    pub fn sim(&self) -> &Simulator {
        &self.world.sim
    }

    /// Stops this server gracefully and starts another on the same world.
    pub async fn restart(self) -> TestApp {
        let world = self.world.clone();
        self.running.shutdown().await;
        world.spawn().await
    }

    /// The app secret that signs the test page's webhooks.
    pub fn app_secret(&self) -> String {
        self.running.app_secret(PAGE).expect("test page")
    }

    /// The webhook URL of this server.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/messenger", self.running.http_addr)
    }

    /// The gRPC URL of this server.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.grpc_addr)
    }

    /// Records a one-time-notification grant through the gRPC API.
    pub async fn opt_in(&mut self, psid: &str, topic: &str, token: &str) -> pb::Grant {
        self.client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: PAGE.into(),
                psid: psid.into(),
                topic_key: topic.into(),
                token: token.into(),
                ..Default::default()
            })
            .await
            .expect("record opt-in")
            .into_inner()
            .grant
            .expect("grant")
    }

    /// Opens the person's 24-hour window through the gRPC API and at the simulator.
    pub async fn interact(&mut self, psid: &str) {
        self.client
            .record_interaction(pb::RecordInteractionRequest {
                page_id: PAGE.into(),
                psid: psid.into(),
                kind: pb::InteractionKind::Message as i32,
                ..Default::default()
            })
            .await
            .expect("record interaction");
        self.sim().open_window(PAGE, psid);
    }
}

/// The field names of an INVALID_ARGUMENT status's BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The ErrorInfo reason of a status.
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
