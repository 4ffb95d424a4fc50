//! The SDK's view of the test kit: a server on a world (otn-testkit) and SDK clients of it.

use otn_sdk::{Client, RetryPolicy, proto as pb};
use otn_testkit::{TestApp, World};

pub(crate) use otn_testkit::PAGE;

/// The API key of each server URL started here (otnctl runs get it as OTN_API_KEY).
static KEYS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// The API key of the server at `url`, if one was started here.
pub(crate) fn key_for(url: &str) -> Option<String> {
    let keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    keys.iter()
        .rev()
        .find(|(u, _)| u == url)
        .map(|(_, k)| k.clone())
}

/// A running server on a world, reached by URL.
pub(crate) struct Server {
    pub app: TestApp,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// Where a world's server listened, to start another there.
pub(crate) trait Serve {
    async fn serve(self, grpc_addr: &str) -> Server;
}

impl Serve for World {
    /// Starts a server of this world on `grpc_addr`.
    async fn serve(self, grpc_addr: &str) -> Server {
        let addr = grpc_addr.to_string();
        let app = self
            .spawn_with(|c| c.grpc_addr = addr.parse().expect("addr"))
            .await;
        let url = app.url();
        let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
        keys.push((url.clone(), app.world.key.clone()));
        drop(keys);
        Server { app, url }
    }
}

impl Server {
    /// A fresh world and a server on a free port.
    pub(crate) async fn start() -> Server {
        World::new().await.serve("127.0.0.1:0").await
    }

    pub(crate) fn sim(&self) -> &otn_simulator::Simulator {
        self.app.sim()
    }

    /// Shuts the server down gracefully (open streams end) and returns its world.
    pub(crate) async fn stop(self) -> (World, std::net::SocketAddr) {
        let addr = self.app.running.grpc_addr;
        let world = self.app.world.clone();
        self.app.running.shutdown().await;
        (world, addr)
    }

    /// A client with quick retries.
    pub(crate) async fn client(&self) -> Client {
        Client::builder(&self.url)
            .api_key(self.app.world.key.clone())
            .retry(quick_retries())
            .connect()
            .await
            .expect("connect")
    }

    /// A grant token the simulator will accept for `psid`.
    pub(crate) fn token(&self, psid: &str) -> String {
        self.sim().issue_otn_token(PAGE, psid)
    }

    /// Records a one-time grant for `psid` on `topic` with a simulator-issued token.
    pub(crate) async fn opt_in(&self, client: &Client, psid: &str, topic: &str) -> pb::Grant {
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
    pub(crate) async fn interact(&self, client: &Client, psid: &str) {
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
pub(crate) fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}
