//! Test harness: `spawn_app()` gives each test a fresh database (SQLite, or PostgreSQL when
//! OTN_TEST_DATABASE_URL is set), a server on 127.0.0.1:0 with the sandbox page and its
//! simulator, a controllable clock, and a typed gRPC client.
#![allow(dead_code)]

pub mod meta;

use std::sync::Arc;

use otn::v1::notification_service_client::NotificationServiceClient;
use otn_server::{
    app::{self, Running},
    clock::ManualClock,
    config::{Config, Overrides, PageConfig, Secret},
    messenger::simulator::{Simulator, SimulatorConfig},
};
use sea_orm::ConnectionTrait;
use tonic::transport::Channel;

pub const PAGE: &str = "test-page";

/// What outlives one server: the database, the clock and Meta (the simulator). Restarting a
/// server on the same world keeps all three.
#[derive(Clone)]
pub struct World {
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    pub page: PageConfig,
    _dir: Arc<tempfile::TempDir>,
}

pub struct TestApp {
    pub running: Running,
    pub client: NotificationServiceClient<Channel>,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    pub world: World,
}

/// A fresh database URL: a new PostgreSQL database when OTN_TEST_DATABASE_URL is set, else a
/// SQLite file in `dir`.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("OTN_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => fresh_postgres(&base).await,
        _ => format!("sqlite://{}?mode=rwc", dir.join("otn.db").display()),
    }
}

/// Creates a uniquely named PostgreSQL database next to the one `base` names.
pub async fn fresh_postgres(base: &str) -> String {
    let name = format!("otn_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(base)
        .await
        .expect("PostgreSQL from OTN_TEST_DATABASE_URL must be reachable");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

impl World {
    pub async fn new() -> World {
        Self::with_clock(ManualClock::new()).await
    }

    pub async fn with_clock(clock: Arc<ManualClock>) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = fresh_database(dir.path()).await;
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
            _dir: Arc::new(dir),
        }
    }

    /// The configuration a test server gets: fast retries and short leases.
    pub fn config(&self) -> Config {
        let overrides = Overrides {
            grpc_addr: Some("127.0.0.1:0".into()),
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

    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(|_| {}).await
    }

    pub async fn spawn_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
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
        let client = NotificationServiceClient::connect(format!("http://{}", running.grpc_addr))
            .await
            .expect("connect");
        TestApp {
            running,
            client,
            clock: self.clock.clone(),
            database_url: self.database_url.clone(),
            world: self.clone(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    World::new().await.spawn().await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    World::new().await.spawn_with(adjust).await
}

impl TestApp {
    pub fn sim(&self) -> &Simulator {
        &self.world.sim
    }

    /// Stops this server gracefully and starts another on the same world.
    pub async fn restart(self) -> TestApp {
        let world = self.world.clone();
        self.running.shutdown().await;
        world.spawn().await
    }

    pub fn app_secret(&self) -> String {
        self.running
            .ledger
            .pages
            .get(PAGE)
            .expect("sandbox page")
            .app_secret
            .expose()
            .to_string()
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/messenger", self.running.http_addr)
    }

    /// Records a one-time-notification grant through the gRPC API.
    pub async fn opt_in(&mut self, psid: &str, topic: &str, token: &str) -> otn::v1::Grant {
        self.client
            .record_opt_in(otn::v1::RecordOptInRequest {
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

    /// Opens the person's 24-hour window through the gRPC API.
    pub async fn interact(&mut self, psid: &str) {
        self.client
            .record_interaction(otn::v1::RecordInteractionRequest {
                page_id: PAGE.into(),
                psid: psid.into(),
                kind: otn::v1::InteractionKind::Message as i32,
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

pub fn opt_in_req(request_id: &str, psid: &str, title: &str) -> otn::v1::RequestOptInRequest {
    otn::v1::RequestOptInRequest {
        request_id: request_id.into(),
        page_id: PAGE.into(),
        psid: psid.into(),
        topic_key: "back-in-stock:sku-123".into(),
        title: title.into(),
        payload: "sku=123".into(),
    }
}

pub async fn list(
    app: &mut TestApp,
    topic: &str,
    page_size: i32,
    token: &str,
) -> otn::v1::ListEligibleResponse {
    app.client
        .list_eligible(otn::v1::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: topic.into(),
            page_size,
            page_token: token.into(),
            ..Default::default()
        })
        .await
        .expect("list eligible")
        .into_inner()
}

pub async fn list_explained(app: &mut TestApp, topic: &str) -> otn::v1::ListEligibleResponse {
    app.client
        .list_eligible(otn::v1::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: topic.into(),
            explain_exclusions: true,
            ..Default::default()
        })
        .await
        .expect("list eligible")
        .into_inner()
}

pub fn exclusion(l: &otn::v1::ListEligibleResponse, r: otn::v1::ExclusionReason) -> i64 {
    l.exclusions
        .iter()
        .find(|e| e.reason == r as i32)
        .map(|e| e.count)
        .unwrap_or(0)
}

/// Sends a notification with a text and these options.
pub async fn send(
    app: &mut TestApp,
    request_id: &str,
    topic: &str,
    options: otn::v1::SendOptions,
) -> otn::v1::Notification {
    app.client
        .send_notification(otn::v1::SendNotificationRequest {
            request_id: request_id.into(),
            page_id: PAGE.into(),
            topic_key: topic.into(),
            audience: None,
            content: Some(otn::v1::Content {
                body: Some(otn::v1::content::Body::Text(
                    "Good news: it is back in stock".into(),
                )),
            }),
            options: Some(options),
        })
        .await
        .expect("send notification")
        .into_inner()
        .notification
        .expect("notification")
}

/// Polls GetNotification until it is final (completed or cancelled), at most 60 s.
pub async fn wait_final(app: &mut TestApp, id: &str) -> otn::v1::Notification {
    use otn::v1::NotificationState as S;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n = app
            .client
            .get_notification(otn::v1::GetNotificationRequest {
                notification_id: id.into(),
            })
            .await
            .expect("get notification")
            .into_inner()
            .notification
            .expect("notification");
        if n.state == S::Completed as i32 || n.state == S::Cancelled as i32 {
            return n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "notification not final in time: {n:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Records `n` one-time grants on `topic` for people `{prefix}0000`.., with tokens the
/// simulator issued; person `i` opted in `n - i` seconds ago (lower numbers are older).
pub async fn opt_in_many(app: &TestApp, topic: &str, prefix: &str, n: usize) -> Vec<String> {
    use otn_server::clock::Clock;
    let psid = |i: usize| format!("{prefix}{i:05}");
    let tokens: Vec<String> = (0..n)
        .map(|i| app.sim().issue_otn_token(PAGE, &psid(i)))
        .collect();
    let now_s = app.clock.now_ms() / 1000;
    let mut joins = Vec::new();
    for w in 0..8 {
        let mut client = app.client.clone();
        let topic = topic.to_string();
        let tokens = tokens.clone();
        let prefix = prefix.to_string();
        joins.push(tokio::spawn(async move {
            // Stride 8 from a different start per worker: row ids do not follow opt-in times.
            for i in (w..tokens.len()).step_by(8).rev() {
                client
                    .record_opt_in(otn::v1::RecordOptInRequest {
                        page_id: PAGE.into(),
                        psid: format!("{prefix}{i:05}"),
                        topic_key: topic.clone(),
                        token: tokens[i].clone(),
                        opt_in_time: Some(prost_types::Timestamp {
                            seconds: now_s - (tokens.len() - i) as i64,
                            nanos: 0,
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("record opt-in");
            }
        }));
    }
    for j in joins {
        j.await.expect("opt-in task");
    }
    tokens
}
