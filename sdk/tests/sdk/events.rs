//! The reconnecting event stream: across a server restart and a cut connection, every event arrives exactly once, in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{PAGE, Server};
use futures::StreamExt;
use otn_sdk::tonic::Code;
use otn_sdk::{Client, EventStream, ReconnectPolicy, RetryPolicy};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PATIENCE: Duration = Duration::from_secs(20);

fn fast_reconnects() -> ReconnectPolicy {
    ReconnectPolicy {
        backoff: RetryPolicy {
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        max_consecutive_failures: None,
    }
}

async fn take(stream: &mut EventStream, n: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    for _ in 0..n {
        let e = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .expect("no error");
        seqs.push(e.sequence);
    }
    seqs
}

async fn opt_in_people(server: &Server, client: &Client, from: usize, to: usize) {
    for i in from..to {
        server
            .opt_in(client, &format!("u{i}"), "back-in-stock:sku-1")
            .await;
    }
}

#[tokio::test]
async fn a_stream_resumes_after_a_server_restart_without_missing_or_repeating() {
    let server = Server::start().await;
    let client = server.client().await;
    opt_in_people(&server, &client, 0, 3).await;

    let watcher = Client::builder(&server.url)
        .api_key(server.app.world.key.clone())
        .connect_lazy()
        .unwrap();
    let mut stream = watcher
        .events()
        .page(PAGE)
        .reconnect(fast_reconnects())
        .subscribe();
    assert_eq!(take(&mut stream, 3).await, [1, 2, 3]);

    // A graceful shutdown ends the server's side of the stream; while it is down,
    // reconnecting fails with UNAVAILABLE; a new server on the same address and database
    // then gets the stream back, resuming after event 3.
    let (world, addr) = server.stop().await;
    let server = crate::support::Serve::serve(world, &addr.to_string()).await;
    let client = server.client().await;
    opt_in_people(&server, &client, 3, 6).await;

    assert_eq!(take(&mut stream, 3).await, [4, 5, 6]);
    assert!(stream.reconnects() >= 1);
    assert_eq!(stream.last_sequence(), 6);
}

/// A TCP proxy whose open connections can be cut.
struct Proxy {
    addr: std::net::SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let list = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                list.lock().expect("lock").push(task);
            }
        });
        Proxy {
            addr,
            conns,
            _accept: accept,
        }
    }

    /// Drops every open connection (both sockets close).
    fn cut(&self) -> usize {
        let mut conns = self.conns.lock().expect("lock");
        let n = conns.len();
        for c in conns.drain(..) {
            c.abort();
        }
        n
    }
}

#[tokio::test]
async fn a_stream_resumes_after_its_connection_is_cut() {
    let server = Server::start().await;
    let client = server.client().await;
    opt_in_people(&server, &client, 0, 2).await;
    let proxy = Proxy::start(server.app.running.grpc_addr).await;

    let watcher = Client::builder(format!("http://{}", proxy.addr))
        .api_key(server.app.world.key.clone())
        .connect()
        .await
        .unwrap();
    let mut stream = watcher
        .events()
        .after(1)
        .reconnect(fast_reconnects())
        .subscribe();
    assert_eq!(take(&mut stream, 1).await, [2]);

    assert!(proxy.cut() >= 1);
    opt_in_people(&server, &client, 2, 5).await;
    assert_eq!(take(&mut stream, 3).await, [3, 4, 5]);
    assert!(stream.reconnects() >= 1);
}

#[tokio::test]
async fn a_refusal_that_reconnecting_cannot_cure_ends_the_stream() {
    let server = Server::start().await;
    let client = server.client().await;
    let mut stream = client.events().topic("bad topic").after(-1).subscribe();
    let e = stream.next().await.unwrap().unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields: Vec<_> = e
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["topic_key", "after_sequence"]);
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn filters_reach_the_server() {
    let server = Server::start().await;
    let client = server.client().await;
    server.opt_in(&client, "a", "price-drop:sku-1").await;
    server.opt_in(&client, "b", "back-in-stock:sku-1").await;
    server.opt_in(&client, "c", "price-drop:sku-1").await;
    let mut stream = client
        .events()
        .page(PAGE)
        .topic("price-drop:sku-1")
        .subscribe();
    let seqs = take(&mut stream, 2).await;
    assert_eq!(seqs, [1, 3]);
}
