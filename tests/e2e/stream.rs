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

#[tokio::test]
async fn a_stream_that_asks_for_batches_gets_the_same_events_in_fewer_messages() {
    use otn::v1::StreamDeliveryEventsRequest as Req;
    let mut app = otn_testkit::spawn_app().await;
    app.opt_in_many("topic-batch", "b", 60).await;
    let n = app.send("batched", "topic-batch", Default::default()).await;
    app.wait_final(&n.notification_id).await;
    let head = app.running.last_event_sequence().await.unwrap();
    let read = |max: u32| {
        let mut client = app.client.clone();
        async move {
            let mut s = client
                .stream_delivery_events(Req {
                    max_events_per_message: max,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let (mut seqs, mut messages) = (Vec::new(), 0);
            while seqs.last().is_none_or(|s| *s < head) {
                let m = tokio::time::timeout(PATIENCE, s.message())
                    .await
                    .expect("in time")
                    .unwrap()
                    .expect("a message");
                messages += 1;
                match max {
                    0 | 1 => {
                        assert!(m.events.is_empty(), "old clients read `event`");
                        seqs.push(m.event.expect("event").sequence);
                    }
                    _ => {
                        assert!(m.event.is_none() && m.events.len() <= max as usize);
                        seqs.extend(m.events.iter().map(|e| e.sequence));
                    }
                }
            }
            (seqs, messages)
        }
    };
    let (one, one_messages) = read(0).await;
    let (many, many_messages) = read(100).await;
    assert_eq!(
        one,
        (1..=head).collect::<Vec<_>>(),
        "every event, in order, once"
    );
    assert_eq!(many, one, "the same events");
    assert_eq!(one_messages, head as usize);
    assert!(
        many_messages < one_messages / 4,
        "{many_messages} messages for {head} events"
    );
    let err = app
        .client
        .stream_delivery_events(Req {
            max_events_per_message: 501,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        otn_testkit::violated_fields(&err),
        ["max_events_per_message"]
    );
}
