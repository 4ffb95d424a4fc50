//! End-to-end tests of the server's skeleton: health, reflection, and the contract's RPCs.

use otn_testkit::spawn_app;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn channel(addr: std::net::SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
}

#[tokio::test]
async fn health_reports_serving_overall_and_for_the_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(channel(app.running.grpc_addr).await.unwrap());
    for service in ["", "otn.v1.NotificationService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
}

#[tokio::test]
async fn reflection_lists_the_service() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(channel(app.running.grpc_addr).await.unwrap());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"otn.v1.NotificationService"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn shutdown_flips_health_and_stops_serving() {
    let app = spawn_app().await;
    let addr = app.running.grpc_addr;
    app.running.shutdown().await;
    assert!(channel(addr).await.is_err());
}

#[tokio::test]
async fn the_sandbox_asked_for_sends_through_the_local_simulator_without_a_key() {
    use otn::v1 as pb;
    let world = otn_testkit::World::new().await;
    let mut config = world.config();
    world.sandbox(&mut config);
    config.graph_api_base = "http://127.0.0.1:9".into();
    let running = otn_server::app::start(config, world.clock.clone())
        .await
        .unwrap();
    let sim = running.sandbox().cloned().expect("sandbox simulator");
    let page = otn_server::app::SANDBOX_PAGE_ID;
    let mut client = pb::notification_service_client::NotificationServiceClient::new(
        channel(running.grpc_addr).await.unwrap(),
    );
    let token = sim.issue_otn_token(page, "shopper");
    client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: page.into(),
            psid: "shopper".into(),
            topic_key: "back-in-stock:sku-1".into(),
            token: token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let n = client
        .send_notification(pb::SendNotificationRequest {
            request_id: "sandbox".into(),
            page_id: page.into(),
            topic_key: "back-in-stock:sku-1".into(),
            content: Some(pb::Content {
                body: Some(pb::content::Body::Text("It is back".into())),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notification
        .unwrap();
    otn_testkit::eventually(
        "sandbox send accepted",
        std::time::Duration::from_secs(20),
        || async {
            match sim.accepted_for_token(&token) {
                0 => Err(format!("{n:?}")),
                _ => Ok(()),
            }
        },
    )
    .await;
    assert_eq!(sim.accepted_for_token(&token), 1);
    running.shutdown().await;
}
