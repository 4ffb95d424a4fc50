//! The sandbox page: with no page configured, a local Messenger simulator plays Meta for a page
//! called `sandbox-page`, and its control API (`/_sim/…`) is served on the HTTP listener.

use std::net::SocketAddr;

use otn_simulator::{Simulator, SimulatorConfig};

use crate::api::webhook::WEBHOOK_PATH;
use crate::app::SANDBOX_PAGE_ID;
use crate::clock::SharedClock;
use crate::config::{Config, PageConfig, Secret};

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
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
            access_token: Secret::new(random_secret()),
            app_secret: Secret::new(random_secret()),
            verify_token: Secret::new(random_secret()),
            region: None,
            rate_limit_per_sec: 300,
        };
        let now = clock.clone();
        let sim = Simulator::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SimulatorConfig {
                webhook_url: Some(format!("http://{http_addr}{WEBHOOK_PATH}")),
                app_secret: page.app_secret.expose().to_string(),
                ..SimulatorConfig::new(std::sync::Arc::new(move || now.now_ms()))
            },
        )
        .await?;
        sim.add_page(&page.page_id, page.access_token.expose());
        tracing::warn!(
            page_id = SANDBOX_PAGE_ID,
            simulator = %sim.base_url(),
            "no page configured: serving a SANDBOX page whose Graph API is the local simulator"
        );
        config.graph_api_base = sim.base_url();
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
