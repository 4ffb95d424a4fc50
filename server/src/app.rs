//! Build, serve, drain: binds the gRPC and HTTP listeners, wires every room, and shuts down
//! cleanly (health NOT_SERVING, cancel, drain under a timeout).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use otn::v1::notification_service_server::NotificationServiceServer;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::access::Authenticator;
use crate::api::{
    console::{self, Console},
    grpc::{
        Api, Authorized,
        framed::{self, FramedStream},
    },
    links, listen, webhook,
};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::dispatch::{DispatchConfig, Dispatcher};
use crate::domain::links::Links;
use crate::domain::policy::Policy;
use crate::events::{Events, hub::Hub, sequencer};
use crate::messenger::{errors::Classifier, graph::GraphClient};
use crate::ops;
use crate::service::{Consent, Deps, Insights, Pages, Planner, Sending};
use crate::store::{Store, listener};

/// Transactions recording opt-ins at once on PostgreSQL (each takes whatever has queued).
const OPT_IN_WRITERS: usize = 2;

/// The sandbox page's id, used when no page is configured.
pub const SANDBOX_PAGE_ID: &str = "sandbox-page";

/// A running service.
pub struct Running {
    /// Where gRPC is served.
    pub grpc_addr: SocketAddr,
    /// Where the webhook (and health) is served.
    pub http_addr: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub admin_addr: SocketAddr,
    deps: Arc<Deps>,
    #[cfg(feature = "sandbox")]
    sandbox: Option<crate::sandbox::Sandbox>,
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

/// Binds both listeners, migrates the database, and starts serving.
pub async fn start(mut config: Config, clock: SharedClock) -> anyhow::Result<Running> {
    let policy = match &config.policy_file {
        Some(path) => Policy::parse(&std::fs::read_to_string(path)?).map_err(anyhow::Error::msg)?,
        None => Policy::builtin(),
    };
    crate::ops::metrics::install();
    crate::ops::metrics::register();
    crate::tls::install_provider();
    listen::fit_file_limit(
        config.listeners.max_connections()
            + u64::from(config.database_max_connections)
            + listen::FD_RESERVE,
    )?;
    let grpc_listener = TcpListener::bind(config.grpc_addr).await?;
    let http_listener = TcpListener::bind(config.http_addr).await?;
    let admin_listener = TcpListener::bind(config.admin_addr).await?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let sandboxed = config.runs_sandbox().map_err(anyhow::Error::msg)?;
    #[cfg(feature = "sandbox")]
    let sandbox = match sandboxed {
        true => Some(crate::sandbox::Sandbox::start(&mut config, &clock, http_addr).await?),
        false => None,
    };
    if config.pages.is_empty() {
        anyhow::bail!("the sandbox was asked for, but this build has none (feature `sandbox`)");
    }

    crate::ops::metrics::register_pages(config.pages.iter().map(|p| p.page_id.as_str()));
    Store::migrate(&config.database_url).await?;
    let store = Store::open(&config.database_url, config.database_max_connections)
        .await?
        .stamping(clock.clone());
    let page_rows: Vec<(String, Option<String>)> = config
        .pages
        .iter()
        .map(|p| (p.page_id.clone(), p.region.clone()))
        .collect();
    if sandboxed {
        let foreign: Vec<String> = store
            .known_page_ids()
            .await?
            .into_iter()
            .filter(|p| p != SANDBOX_PAGE_ID)
            .collect();
        anyhow::ensure!(
            foreign.is_empty(),
            "the sandbox refuses this database: it holds real pages ({}), and the sandbox \
             accepts calls without an API key",
            foreign.join(", ")
        );
    }
    store.ensure_pages(&page_rows, clock.now_ms()).await?;
    let graph = GraphClient::new(
        &config.graph_api_base,
        &config.graph_api_version,
        config.graph_timeout(),
    )
    .map_err(anyhow::Error::msg)?;
    let classifier = Classifier::new(
        config.messenger.spent_token_subcodes.clone(),
        config.messenger.invalid_token_subcodes.clone(),
    );
    let pages = Arc::new(Pages::new(config.pages.clone()));
    let links = match (&config.clicks.public_url, &config.clicks.secret) {
        (Some(url), Some(secret)) if !config.clicks.pages.is_empty() => Some(Links::new(
            url,
            secret.expose(),
            config.clicks.pages.clone(),
        )),
        _ => None,
    };
    let deps = Deps::new(
        store.clone(),
        clock.clone(),
        Arc::new(policy),
        graph,
        classifier,
        pages,
        links,
    );
    let consent = Consent::new(deps.clone(), clock.clone(), OPT_IN_WRITERS);
    let planner = Planner::new(
        deps.clone(),
        Duration::from_millis(config.dispatch.inline_planning_ms),
    );
    let sending = Sending::new(deps.clone(), planner.clone());
    let shutdown = CancellationToken::new();
    let (hub, hub_task) = Hub::start(store.clone(), shutdown.clone()).await?;
    let events = Events::new(store.clone(), hub);

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<NotificationServiceServer<Api>>().await;
    // Reflection v1 and v1alpha (older tools speak only v1alpha), with the google.rpc detail
    // types, so a generic client can decode error details from reflection alone.
    let descriptors = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(otn::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(otn::WELL_KNOWN_DESCRIPTOR_SET)
    };
    let reflection = descriptors().build_v1()?;
    let reflection_alpha = descriptors().build_v1alpha()?;
    let authn = Authenticator::new(
        store.clone(),
        clock.clone(),
        sandboxed,
        config.tls.as_ref().map_or(&[][..], |t| &t.clients[..]),
        Duration::from_millis(config.api_key_cache_ms),
    )
    .map_err(anyhow::Error::msg)?;
    let authn = Arc::new(authn);
    let api = NotificationServiceServer::new(Api::new(
        consent.clone(),
        sending.clone(),
        events.clone(),
        authn.clone(),
        shutdown.clone(),
    ))
    .max_decoding_message_size(otn::limits::REQUEST_BYTES_MAX);
    if sandboxed {
        tracing::warn!(
            "sandbox: calls without an API key are accepted (the simulator sends to nobody)"
        );
    }
    // StreamDeliveryEvents is served pre-encoded (`framed`): its route takes the method over
    // from the generated service, behind the same authorisation layer.
    let framed = Authorized::new(
        FramedStream::new(
            consent.clone(),
            events.clone(),
            authn.clone(),
            shutdown.clone(),
        ),
        authn.clone(),
    );
    let grpc_routes: tonic::service::Routes = tonic::service::Routes::new(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(Authorized::new(api, authn.clone()))
        .into_axum_router()
        .route_service(
            framed::PATH,
            tower::ServiceExt::map_request(framed, |req: http::Request<axum::body::Body>| {
                req.map(tonic::body::Body::new)
            }),
        )
        .into();
    let grpc_routes = grpc_routes.prepare();
    // Spans continue the caller's trace; failures are logged once, at the right level, by the
    // authorisation layer's RPC line.
    let grpc_service = tower::ServiceBuilder::new()
        .layer(
            tower_http::trace::TraceLayer::new_for_grpc()
                .make_span_with(|req: &http::Request<_>| crate::telemetry::request_span(req))
                .on_failure(()),
        )
        .service(grpc_routes);
    let grpc_tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    let console = Console::new(
        authn,
        events,
        sending,
        consent.clone(),
        shutdown.clone(),
        sandboxed,
    );
    let router = webhook::router(consent)
        .merge(links::router(Insights::new(deps.clone())))
        .merge(console::router(console))
        .merge(ops::admin::probes(store.clone(), shutdown.clone()))
        .layer(axum::extract::DefaultBodyLimit::max(
            config.webhook_body_limit,
        ));
    #[cfg(feature = "sandbox")]
    let router = match &sandbox {
        Some(s) => router.merge(s.control_routes()),
        None => router,
    };
    let admin_router = ops::admin::router(store.clone(), shutdown.clone());
    let limits = &config.listeners;
    let serve = |name, http2_only, limits: &crate::config::ListenerLimits| listen::Listener {
        name,
        http2_only,
        limits: limits.clone(),
    };
    let grpc = listen::serve(
        serve("grpc", true, &limits.grpc),
        grpc_listener,
        grpc_tls,
        grpc_service,
        shutdown.clone(),
    );
    let http = listen::serve(
        serve("http", false, &limits.http),
        http_listener,
        None,
        router,
        shutdown.clone(),
    );
    let admin = listen::serve(
        serve("admin", false, &limits.admin),
        admin_listener,
        None,
        admin_router,
        shutdown.clone(),
    );
    let mut tasks = vec![tokio::spawn(grpc), tokio::spawn(admin), tokio::spawn(http)];
    tasks.push(hub_task);
    tasks.push(sequencer::spawn(store.clone(), clock, shutdown.clone()));
    tasks.extend(listener::spawn(
        config.database_url.clone(),
        store.bus().clone(),
        shutdown.clone(),
    ));
    tasks.push(
        Dispatcher::new(deps.clone(), DispatchConfig::from(&config.dispatch))
            .spawn(shutdown.clone()),
    );
    tasks.push(planner.spawn(shutdown.clone()));
    tasks.push(ops::sampler::spawn(deps.clone(), shutdown.clone()));
    tasks.push(ops::summary::spawn(
        Duration::from_secs(config.telemetry.log_summary_secs),
        shutdown.clone(),
    ));
    tasks.push(ops::expiry::spawn(
        Insights::new(deps.clone()),
        shutdown.clone(),
    ));
    tasks.extend(ops::retention::spawn(
        deps.clone(),
        config.retention.clone(),
        shutdown.clone(),
    ));
    tasks.extend(ops::reload::spawn(
        deps.clone(),
        config.reload_from.clone(),
        shutdown.clone(),
    ));
    let tls = config.tls.is_some();
    tracing::info!(%grpc_addr, %http_addr, %admin_addr, tls, "otn serving");
    Ok(Running {
        grpc_addr,
        http_addr,
        admin_addr,
        deps,
        #[cfg(feature = "sandbox")]
        sandbox,
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
        self.deps.store().close().await;
        #[cfg(feature = "sandbox")]
        if let Some(s) = self.sandbox {
            s.stop().await;
        }
        tracing::info!("otn stopped");
    }

    /// A token cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The sandbox's Messenger simulator, when the server runs the sandbox page.
    #[cfg(feature = "sandbox")]
    pub fn sandbox(&self) -> Option<&otn_simulator::Simulator> {
        self.sandbox
            .as_ref()
            .map(crate::sandbox::Sandbox::simulator)
    }

    /// The head of the event log: every event of an acknowledged action is at or below it
    /// (events are numbered as their transaction commits).
    pub async fn last_event_sequence(&self) -> anyhow::Result<i64> {
        Ok(self.deps.store().last_event_seq().await?)
    }

    /// The longest write transaction committed since the last call (for the bench).
    pub fn take_longest_write(&self) -> Duration {
        self.deps.store().take_longest_write()
    }

    /// Runs the expiry sweep now (as its task does every minute): active grants past their
    /// expiry become EXPIRED, each with a GRANT_EXPIRED event. Returns how many.
    pub async fn expire_grants(&self) -> anyhow::Result<u64> {
        Ok(Insights::new(self.deps.clone()).expire_grants().await?)
    }

    /// The app secret of a configured page (tests sign webhooks with it).
    pub fn app_secret(&self, page_id: &str) -> Option<String> {
        let page = self.deps.pages().get(page_id).ok()?;
        Some(page.app_secret.expose().to_string())
    }
}
