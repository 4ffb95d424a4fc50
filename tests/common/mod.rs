//! Test harness: `spawn_app()` gives each test a fresh database (SQLite, or PostgreSQL when
//! OTN_TEST_DATABASE_URL is set), a server on 127.0.0.1:0 with the sandbox page and its
//! simulator, a controllable clock, and a typed gRPC client.
#![allow(dead_code)]

pub mod meta;

use std::sync::Arc;

use otn::v1::notification_service_client::NotificationServiceClient;
use otn_server::{
    app::{self, Running, SANDBOX_PAGE_ID},
    clock::ManualClock,
    config::{Config, Overrides},
    messenger::simulator::Simulator,
};
use sea_orm::ConnectionTrait;
use tonic::transport::Channel;

pub const PAGE: &str = SANDBOX_PAGE_ID;

pub struct TestApp {
    pub running: Running,
    pub client: NotificationServiceClient<Channel>,
    pub clock: Arc<ManualClock>,
    pub database_url: String,
    _dir: tempfile::TempDir,
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

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = fresh_database(dir.path()).await;
    let overrides = Overrides {
        grpc_addr: Some("127.0.0.1:0".into()),
        http_addr: Some("127.0.0.1:0".into()),
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let mut config = Config::load(&overrides, |_| None).expect("config");
    config.shutdown_grace_secs = 2;
    adjust(&mut config);
    let clock = ManualClock::new();
    let running = app::start(config, clock.clone()).await.expect("start");
    let client = NotificationServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .expect("connect");
    TestApp {
        running,
        client,
        clock,
        database_url,
        _dir: dir,
    }
}

impl TestApp {
    pub fn sim(&self) -> &Simulator {
        self.running.simulator.as_ref().expect("sandbox simulator")
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
