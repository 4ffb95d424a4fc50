//! A diagnostic twin: the running server's own NotificationService (same ledger, same trace layer) served on a listener that sets TCP_NODELAY, which `app::start` does not (tonic ignores `tcp_nodelay` for a caller-supplied incoming stream).

use anyhow::Result;
use otn::v1::notification_service_client::NotificationServiceClient;
use otn::v1::notification_service_server::NotificationServiceServer;
use otn_server::api::service::Api;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;

use crate::env::{Server, connect};

/// The twin's client; the twin stops when `stop` is cancelled.
pub async fn start(
    srv: &Server,
    stop: CancellationToken,
) -> Result<NotificationServiceClient<Channel>> {
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse()?)?.with_nodelay(Some(true));
    let addr = incoming.local_addr()?;
    let api = NotificationServiceServer::new(Api::new(srv.running.ledger.clone(), stop.clone()));
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .layer(tower_http::trace::TraceLayer::new_for_grpc())
            .add_service(api)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            crate::report::progress(&format!("nodelay twin failed: {e}"));
        }
    });
    Ok(NotificationServiceClient::new(connect(addr).await?))
}
