//! The sandbox page: a local Messenger simulator plays Meta for a page called `sandbox-page`
//! with fixed, documented secrets; its control API (`/_sim/…`) is served on the HTTP listener;
//! its people and tokens are kept in a file beside the database, so sandbox grants survive a
//! restart.

use std::net::SocketAddr;

use otn_simulator::{Simulator, SimulatorConfig};

use crate::api::webhook::WEBHOOK_PATH;
use crate::app::SANDBOX_PAGE_ID;
use crate::clock::SharedClock;
use crate::config::{Config, PageConfig, Secret};

/// The sandbox page's secrets: fixed and documented, so a newcomer can sign a webhook. They
/// guard nothing (the simulator sends to nobody).
pub(crate) const SANDBOX_ACCESS_TOKEN: &str = "sandbox-page-token";
pub(crate) const SANDBOX_APP_SECRET: &str = "sandbox-app-secret";
pub(crate) const SANDBOX_VERIFY_TOKEN: &str = "sandbox-verify-token";
/// The secret the sandbox page's tracked links are signed with.
pub(crate) const SANDBOX_CLICK_SECRET: &str = "sandbox-click-secret";

/// Where the sandbox keeps its simulator's state: `sandbox_state_file`, else beside a SQLite
/// database (`otn.db` → `otn.db.sandbox.json`), else — on PostgreSQL — `otn-sandbox.json` here.
/// An in-memory SQLite database keeps none: its grants die with the process, so must the
/// simulator's tokens.
fn state_file(config: &Config) -> Option<std::path::PathBuf> {
    if let Some(p) = &config.sandbox_state_file {
        return Some(p.clone());
    }
    let url = &config.database_url;
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Some("otn-sandbox.json".into());
    };
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:") && !rest.contains("mode=memory"))
        .then(|| format!("{path}.sandbox.json").into())
}

/// A running sandbox.
#[derive(Debug)]
pub(crate) struct Sandbox {
    sim: Simulator,
}

impl Sandbox {
    /// Starts the simulator, points the Graph API at it and adds the sandbox page to `config`.
    pub(crate) async fn start(
        config: &mut Config,
        clock: &SharedClock,
        http_addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let page = PageConfig {
            page_id: SANDBOX_PAGE_ID.into(),
            access_token: Secret::new(SANDBOX_ACCESS_TOKEN),
            app_secret: Secret::new(SANDBOX_APP_SECRET),
            verify_token: Secret::new(SANDBOX_VERIFY_TOKEN),
            region: None,
            rate_limit_per_sec: 300,
            enabled: true,
            // The sandbox's people are the simulator's, messaged when you say: no cap, no night.
            politeness: crate::config::Politeness::off(),
        };
        let now = clock.clone();
        let state = state_file(config);
        let sim = Simulator::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SimulatorConfig {
                webhook_url: Some(format!("http://{http_addr}{WEBHOOK_PATH}")),
                app_secret: page.app_secret.expose().to_string(),
                state_file: state.clone(),
                ..SimulatorConfig::new(std::sync::Arc::new(move || now.now_ms()))
            },
        )
        .await?;
        sim.add_page(&page.page_id, page.access_token.expose());
        tracing::warn!(
            page_id = SANDBOX_PAGE_ID,
            control = %format!("http://{http_addr}/_sim/"),
            state = %state.as_deref().map_or("(none: in-memory database)".into(), |p| p.display().to_string()),
            "SANDBOX: a local simulator plays Meta for sandbox-page (nobody real is messaged)"
        );
        config.graph_api_base = sim.base_url();
        // The sandbox page's web_url buttons go through the HTTP listener (tracked links), so
        // the whole funnel, clicks included, can be played locally.
        if config.clicks.pages.is_empty() {
            config.clicks.pages = vec![page.page_id.clone()];
            config.clicks.public_url = Some(format!("http://{http_addr}"));
            config.clicks.secret = Some(Secret::new(SANDBOX_CLICK_SECRET));
        }
        config.pages.push(page);
        Ok(Self { sim })
    }

    /// The simulator's control API, to serve on the HTTP listener.
    pub(crate) fn control_routes(&self) -> axum::Router {
        self.sim.control_router()
    }

    /// The simulator.
    pub(crate) fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Stops the simulator.
    pub(crate) async fn stop(self) {
        self.sim.shutdown();
    }
}
