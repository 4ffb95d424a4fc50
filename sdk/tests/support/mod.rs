//! Test harness of the SDK: a real otn server in-process (fresh SQLite database, Messenger simulator, controllable clock) on 127.0.0.1.
#![allow(dead_code)]

use std::sync::Arc;

use otn_sdk::{Client, RetryPolicy, proto as pb};
use otn_server::{
    app::{self, Running},
    clock::ManualClock,
    config::{Config, Overrides, PageConfig, Secret},
    messenger::simulator::{Simulator, SimulatorConfig},
};

pub const PAGE: &str = "test-page";

/// What outlives one server: the database, the clock and Meta (the simulator).
pub struct World {
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    pub page: PageConfig,
    _dir: tempfile::TempDir,
}

/// A running server on a world.
pub struct Server {
    pub world: World,
    pub running: Running,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("otn.db").display());
        let clock = ManualClock::new();
        let page = PageConfig {
            page_id: PAGE.into(),
            access_token: Secret::new(format!("page-token-{}", uuid::Uuid::new_v4().simple())),
            app_secret: Secret::new("test-app-secret"),
            verify_token: Secret::new("test-verify-token"),
            region: None,
            rate_limit_per_sec: 1000,
        };
        let sim = Simulator::start(
            "127.0.0.1:0".parse().expect("addr"),
            SimulatorConfig::new(clock.clone()),
        )
        .await
        .expect("simulator");
        sim.add_page(PAGE, page.access_token.expose());
        World {
            sim,
            clock,
            database_url,
            page,
            _dir: dir,
        }
    }

    /// A test server's configuration: fast dispatch, short grace, gRPC on `grpc_addr`.
    pub fn config(&self, grpc_addr: &str) -> Config {
        let overrides = Overrides {
            grpc_addr: Some(grpc_addr.into()),
            http_addr: Some("127.0.0.1:0".into()),
            database_url: Some(self.database_url.clone()),
            ..Default::default()
        };
        let mut config = Config::load(&overrides, |_| None).expect("config");
        config.shutdown_grace_secs = 5;
        config.graph_api_base = self.sim.base_url();
        config.graph_timeout_ms = 2_000;
        config.pages = vec![self.page.clone()];
        config.dispatch.lease_ms = 1_000;
        config.dispatch.idle_poll_ms = 20;
        config.dispatch.backoff_base_ms = 10;
        config.dispatch.backoff_max_ms = 200;
        config.dispatch.page_pause_ms = 200;
        config
    }

    /// Starts a server; `start` returns once it is listening.
    pub async fn serve(self, grpc_addr: &str) -> Server {
        let config = self.config(grpc_addr);
        let running = app::start(config, self.clock.clone()).await.expect("start");
        self.sim.set_webhook(
            format!("http://{}/webhooks/messenger", running.http_addr),
            self.page.app_secret.expose().to_string(),
        );
        let url = format!("http://{}", running.grpc_addr);
        Server {
            world: self,
            running,
            url,
        }
    }
}

impl Server {
    /// A fresh world and a server on a free port.
    pub async fn start() -> Server {
        World::new().await.serve("127.0.0.1:0").await
    }

    pub fn sim(&self) -> &Simulator {
        &self.world.sim
    }

    /// Shuts the server down gracefully (open streams end) and returns its world.
    pub async fn stop(self) -> (World, std::net::SocketAddr) {
        let addr = self.running.grpc_addr;
        self.running.shutdown().await;
        (self.world, addr)
    }

    /// A client with quick retries.
    pub async fn client(&self) -> Client {
        Client::builder(&self.url)
            .retry(quick_retries())
            .connect()
            .await
            .expect("connect")
    }

    /// A grant token the simulator will accept for `psid`.
    pub fn token(&self, psid: &str) -> String {
        self.sim().issue_otn_token(PAGE, psid)
    }

    /// Records a one-time grant for `psid` on `topic` with a simulator-issued token.
    pub async fn opt_in(&self, client: &Client, psid: &str, topic: &str) -> pb::Grant {
        client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: PAGE.into(),
                psid: psid.into(),
                topic_key: topic.into(),
                token: self.token(psid),
                ..Default::default()
            })
            .await
            .expect("record opt-in")
            .grant
            .expect("grant")
    }

    /// Opens `psid`'s 24-hour window, on the service and at the simulator.
    pub async fn interact(&self, client: &Client, psid: &str) {
        client
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

/// Retries with short backoffs, so tests of failure paths stay fast.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}
