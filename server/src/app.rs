//! Build, serve, drain: binds the gRPC and webhook listeners, wires every part, and shuts down
//! cleanly (health NOT_SERVING, cancel, drain under a timeout).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use otn::v1::notification_service_server::NotificationServiceServer;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

use crate::api::service::Api;
use crate::clock::SharedClock;
use crate::config::{Config, PageConfig, Secret};
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::domain::policy::Policy;
use crate::events;
use crate::ledger::{Ledger, Pages};
use crate::messenger::{graph::GraphClient, http, simulator};
use crate::store::Store;

/// The sandbox page's id, used when no page is configured.
pub const SANDBOX_PAGE_ID: &str = "sandbox-page";

/// A running service.
pub struct Running {
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub ledger: Ledger,
    /// The local simulator behind the sandbox page, when no page is configured.
    pub simulator: Option<simulator::Simulator>,
    shutdown: CancellationToken,
    health: tonic_health::server::HealthReporter,
    tasks: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .finish_non_exhaustive()
    }
}

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// Binds both listeners, migrates the database, and starts serving.
pub async fn start(mut config: Config, clock: SharedClock) -> anyhow::Result<Running> {
    let policy = match &config.policy_file {
        Some(path) => Policy::parse(&std::fs::read_to_string(path)?).map_err(anyhow::Error::msg)?,
        None => Policy::builtin(),
    };
    let grpc_listener = TcpListener::bind(config.grpc_addr).await?;
    let http_listener = TcpListener::bind(config.http_addr).await?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;

    let mut sim = None;
    if config.pages.is_empty() {
        let page = PageConfig {
            page_id: SANDBOX_PAGE_ID.into(),
            access_token: Secret::new(random_secret()),
            app_secret: Secret::new(random_secret()),
            verify_token: Secret::new(random_secret()),
            region: None,
            rate_limit_per_sec: 300,
        };
        let s = simulator::Simulator::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            simulator::SimulatorConfig {
                clock: clock.clone(),
                webhook_url: Some(format!("http://{http_addr}{}", http::WEBHOOK_PATH)),
                app_secret: page.app_secret.expose().to_string(),
                ..simulator::SimulatorConfig::new(clock.clone())
            },
        )
        .await?;
        s.add_page(&page.page_id, page.access_token.expose());
        tracing::warn!(
            page_id = SANDBOX_PAGE_ID,
            simulator = %s.base_url(),
            "no page configured: serving a SANDBOX page whose Graph API is the local simulator"
        );
        config.graph_api_base = s.base_url();
        config.pages.push(page);
        sim = Some(s);
    }

    Store::migrate(&config.database_url).await?;
    let store = Store::open(&config.database_url, config.database_max_connections).await?;
    let pages: Vec<(String, Option<String>)> = config
        .pages
        .iter()
        .map(|p| (p.page_id.clone(), p.region.clone()))
        .collect();
    store.ensure_pages(&pages, clock.now_ms()).await?;
    let graph = GraphClient::new(
        &config.graph_api_base,
        &config.graph_api_version,
        config.graph_timeout(),
    )
    .map_err(anyhow::Error::msg)?;
    let ledger = Ledger::new(
        store,
        clock,
        Arc::new(policy),
        graph,
        Arc::new(Pages::new(config.pages.clone())),
    );

    let shutdown = CancellationToken::new();
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<NotificationServiceServer<Api>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(otn::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let api = NotificationServiceServer::new(Api::new(ledger.clone(), shutdown.clone()));
    let grpc = tonic::transport::Server::builder()
        .layer(tower_http::trace::TraceLayer::new_for_grpc())
        .add_service(health_service)
        .add_service(reflection)
        .add_service(api)
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(grpc_listener),
            shutdown.clone().cancelled_owned(),
        );
    let webhook = axum::serve(
        http_listener,
        http::router(ledger.clone(), config.webhook_body_limit),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let mut tasks = vec![
        tokio::spawn(async move {
            if let Err(e) = grpc.await {
                tracing::error!(error = %e, "gRPC server failed");
            }
        }),
        tokio::spawn(async move {
            if let Err(e) = webhook.await {
                tracing::error!(error = %e, "webhook server failed");
            }
        }),
    ];
    tasks.extend(events::listener::spawn(
        config.database_url.clone(),
        ledger.store.bus.clone(),
        shutdown.clone(),
    ));
    tasks.push(
        Dispatcher::new(ledger.clone(), DispatchConfig::from(&config.dispatch))
            .spawn(shutdown.clone()),
    );
    tracing::info!(%grpc_addr, %http_addr, "otn serving");
    Ok(Running {
        grpc_addr,
        http_addr,
        ledger,
        simulator: sim,
        shutdown,
        health,
        tasks,
        grace: Duration::from_secs(config.shutdown_grace_secs),
    })
}

impl Running {
    /// Stops: health NOT_SERVING, cancel streams and workers, drain under the grace timeout.
    pub async fn shutdown(self) {
        self.health
            .set_not_serving::<NotificationServiceServer<Api>>()
            .await;
        self.shutdown.cancel();
        let drain = futures::future::join_all(self.tasks);
        if tokio::time::timeout(self.grace, drain).await.is_err() {
            tracing::warn!("shutdown grace period passed; stopping anyway");
        }
        self.ledger.store.db().clone().close().await.ok();
        tracing::info!("otn stopped");
    }

    /// A token cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}
