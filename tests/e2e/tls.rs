//! TLS on the gRPC listener with certificates the test makes: a key over TLS, a client
//! certificate in place of a key (mTLS), a certificate of another CA, and plaintext refused.

use otn::v1 as pb;
use otn_server::config::{ClientIdentity, TlsSettings};
use otn_testkit::tls::{Ca, connect_tls, write};
use otn_testkit::{PAGE, World};
use tonic::Code;

fn list() -> pb::ListEligibleRequest {
    pb::ListEligibleRequest {
        page_id: PAGE.into(),
        topic_key: "t".into(),
        ..Default::default()
    }
}

/// TLS settings with a server certificate of `ca` and, when `clients` is given, client
/// certificates of `ca` accepted (optionally required).
fn settings(dir: &std::path::Path, ca: &Ca, clients: Option<bool>) -> TlsSettings {
    let server = ca.server();
    TlsSettings {
        cert_file: write(dir, "server.pem", &server.cert),
        key_file: write(dir, "server.key", &server.key),
        client_ca_file: clients.map(|_| write(dir, "ca.pem", &ca.pem)),
        require_client_cert: clients.unwrap_or(false),
        clients: vec![ClientIdentity {
            common_name: "inventory".into(),
            scopes: vec!["read".into(), "send".into()],
            pages: None,
        }],
    }
}

#[tokio::test]
async fn keys_work_over_tls_and_a_plaintext_client_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("otn test CA");
    let world = World::new().await;
    let tls = settings(dir.path(), &ca, None);
    let mut tls = tls;
    tls.clients.clear();
    let app = world.spawn_with(|c| c.tls = Some(tls)).await;
    let addr = app.running.grpc_addr;
    let mut c = connect_tls(addr, &ca.pem, None, Some(&world.key))
        .await
        .expect("handshake");
    c.list_eligible(list()).await.expect("a key over TLS");
    let mut anonymous = connect_tls(addr, &ca.pem, None, None).await.unwrap();
    let err = anonymous.list_eligible(list()).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::Unauthenticated,
        "TLS is not authentication"
    );

    let other = Ca::new("someone else");
    let untrusted = connect_tls(addr, &other.pem, None, Some(&world.key)).await;
    assert!(
        untrusted.is_err(),
        "the server's certificate is not of that CA"
    );

    let plaintext = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        let mut c = pb::notification_service_client::NotificationServiceClient::new(channel);
        c.list_eligible(list()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
    .await;
    assert!(
        !matches!(plaintext, Ok(Ok(()))),
        "a plaintext client gets nothing"
    );
}

#[tokio::test]
async fn a_client_certificate_stands_for_a_key_and_another_cas_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("otn test CA");
    let world = World::new().await;
    let tls = settings(dir.path(), &ca, Some(false));
    let app = world.spawn_with(|c| c.tls = Some(tls)).await;
    let addr = app.running.grpc_addr;

    let cert = ca.client("inventory");
    let mut c = connect_tls(addr, &ca.pem, Some(&cert), None).await.unwrap();
    c.list_eligible(list())
        .await
        .expect("the certificate's scopes");
    let err = c
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "u".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "no erase scope");
    let n = c
        .send_notification(pb::SendNotificationRequest {
            request_id: "by-cert".into(),
            page_id: PAGE.into(),
            topic_key: "t".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("hi".into())),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    assert_eq!(n.created_by, "cert:inventory");

    let stranger = ca.client("stranger");
    let mut s = connect_tls(addr, &ca.pem, Some(&stranger), None)
        .await
        .unwrap();
    let err = s.list_eligible(list()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "a CN nobody configured");

    let forged = Ca::new("forger").client("inventory");
    let refused = async {
        let mut f = connect_tls(addr, &ca.pem, Some(&forged), None).await?;
        f.list_eligible(list()).await.map_err(|e| e.into())
    };
    let r: Result<_, Box<dyn std::error::Error>> = refused.await;
    assert!(r.is_err(), "a certificate of another CA is refused");
}

#[tokio::test]
async fn a_listener_that_requires_client_certificates_refuses_connections_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("otn test CA");
    let world = World::new().await;
    let tls = settings(dir.path(), &ca, Some(true));
    let app = world.spawn_with(|c| c.tls = Some(tls)).await;
    let addr = app.running.grpc_addr;
    let without = async {
        let mut c = connect_tls(addr, &ca.pem, None, Some(&world.key)).await?;
        c.list_eligible(list()).await.map_err(|e| e.into())
    };
    let r: Result<_, Box<dyn std::error::Error>> = without.await;
    assert!(r.is_err(), "no certificate, no connection");
    let mut with = connect_tls(addr, &ca.pem, Some(&ca.client("inventory")), None)
        .await
        .unwrap();
    with.list_eligible(list()).await.expect("with one");
}
