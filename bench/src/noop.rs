//! `noop`: grpc.health Check through the otn server's whole stack (trace layer, reflection, the NotificationService router) beside a bare tonic server serving only tonic-health.

use anyhow::{Result, bail};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::Size;
use crate::env::{Server, connect};
use crate::measure::{Run, closed_loop, paired};
use crate::report::{Figure, Scenario};

const CALLERS: usize = 32;
const TARGET: f64 = 0.7;

/// A tonic server with tonic-health only and no layers, on 127.0.0.1:0, accepting the way
/// `Server::serve` does by default (TCP_NODELAY on).
async fn bare_server(stop: CancellationToken) -> Result<std::net::SocketAddr> {
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse()?)?.with_nodelay(Some(true));
    let addr = incoming.local_addr()?;
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            crate::report::progress(&format!("bare tonic server failed: {e}"));
        }
    });
    Ok(addr)
}

/// 32 callers spread over `channels` for `size.measure`.
async fn hammer(channels: &[Channel], size: &Size) -> Result<Run> {
    let channels = channels.to_vec();
    closed_loop(CALLERS, size.measure / 2, u64::MAX, move |w, _| {
        let mut client = HealthClient::new(channels[w % channels.len()].clone());
        async move {
            let r = client
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await?
                .into_inner();
            if r.status != ServingStatus::Serving as i32 {
                bail!("health check answered {}", r.status);
            }
            Ok(())
        }
    })
    .await
}

pub(crate) async fn run(srv: &Server, size: &Size) -> Result<Scenario> {
    let mut s = Scenario::new("noop");
    let stop = CancellationToken::new();
    let bare = bare_server(stop.clone()).await?;
    for n in [1usize, 4] {
        let mut bare_ch = Vec::new();
        let mut otn_ch = Vec::new();
        for _ in 0..n {
            bare_ch.push(connect(bare).await?);
            otn_ch.push(connect(srv.running.grpc_addr).await?);
        }
        let (b, o) = paired(2, |_| hammer(&bare_ch, size), |_| hammer(&otn_ch, size)).await?;
        let what = if n == 1 {
            "1 shared channel".to_string()
        } else {
            format!("{n} channels")
        };
        s.figures.push(
            Figure::new(
                &format!("health Check, {CALLERS} callers, {what}"),
                "req/s",
                o.rate(),
                b.rate(),
                "bare tonic-health",
            )
            .min_ratio(TARGET),
        );
        s.figures.push(Figure::new(
            &format!("  p99 latency, {what}"),
            "ms",
            o.pct_ms(0.99),
            b.pct_ms(0.99),
            "bare tonic-health",
        ));
    }
    stop.cancel();
    s.notes.push(
        "the bare server accepts with tonic's default TCP_NODELAY; the otn server hands tonic its \
         own TcpListenerStream, for which tonic ignores tcp_nodelay (Nagle stays on)"
            .into(),
    );
    s.notes.push(
        "both servers, the callers and the rest of the bench share this process's runtime and the \
         machine's cores: the figure is bounded by CPU per request (HTTP/2 framing, the trace \
         layer's span, routing across three services)"
            .into(),
    );
    Ok(s)
}
