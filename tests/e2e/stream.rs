//! StreamDeliveryEvents as a caller sees it.

use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_rpc_names_bad_fields_streams_events_and_ends_unavailable_at_shutdown() {
    use otn::v1::{DeliveryEventType, StreamDeliveryEventsRequest as Req};
    let mut app = otn_testkit::spawn_app().await;
    let bad = Req {
        after_sequence: -1,
        ..Default::default()
    };
    let err = app.client.stream_delivery_events(bad).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(otn_testkit::violated_fields(&err), ["after_sequence"]);
    let req = Req {
        page_id: otn_testkit::PAGE.into(),
        ..Default::default()
    };
    let mut s = app
        .client
        .stream_delivery_events(req)
        .await
        .unwrap()
        .into_inner();
    app.opt_in("u1", "topic-a", "tok-1").await;
    let got = tokio::time::timeout(PATIENCE, s.message())
        .await
        .expect("in time");
    let e = got.unwrap().expect("an event").event.expect("event");
    assert_eq!(e.r#type, DeliveryEventType::OptInRecorded as i32);
    assert_eq!((e.psid.as_str(), e.topic_key.as_str()), ("u1", "topic-a"));
    app.running.shutdown().await;
    let end = tokio::time::timeout(PATIENCE, s.message())
        .await
        .expect("in time");
    // Not a clean end, which a caller would take for the end of the log: UNAVAILABLE says
    // "resume elsewhere".
    let err = end.expect_err("the stream ends with a status");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert_eq!(otn_testkit::reason(&err), "SHUTTING_DOWN");
}
