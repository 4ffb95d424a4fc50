//! Operations as an SRE meets them in one process: the admin listener's probes, retention
//! deleting exactly what is older than its age, and a stream resume from a pruned sequence
//! refused with the documented error.

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::{World, reason};

/// The `oldest_sequence` an OUT_OF_RANGE refusal names.
fn oldest_of(s: &tonic::Status) -> i64 {
    use tonic_types::StatusExt;
    s.get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get("oldest_sequence").cloned())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn http() -> reqwest::Client {
    otn_testkit::meta::http()
}

#[tokio::test]
async fn the_admin_listener_answers_probes_and_serves_metrics() {
    let app = World::new().await.spawn().await;
    let admin = format!("http://{}", app.running.admin_addr);
    let get = |path: &str| http().get(format!("{admin}{path}")).send();
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE"), "Prometheus text: {metrics}");
    // The webhook listener has the probes too, never the metrics.
    let web = format!("http://{}", app.running.http_addr);
    let r = http().get(format!("{web}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = http().get(format!("{web}/metrics")).send().await.unwrap();
    assert_eq!(m.status(), 404, "metrics stay off the public listener");
    let token = app.running.shutdown_token();
    token.cancel();
    let draining = get("/readyz").await;
    assert!(draining.is_err() || draining.unwrap().status() == 503);
}

#[tokio::test]
async fn retention_deletes_what_is_older_than_its_age_and_a_pruned_resume_is_refused() {
    let world = World::new().await;
    let mut app = world
        .spawn_with(|c| {
            c.retention.interval_secs = 1;
            c.retention.batch = 2;
        })
        .await;
    app.opt_in_many("t", "old", 3).await;
    let n = app.send("old-send", "t", pb::SendOptions::default()).await;
    app.wait_final(&n.notification_id).await;
    let head = otn_testkit::eventually("events numbered", Duration::from_secs(10), || async {
        match app.running.last_event_sequence().await {
            Ok(h) if h >= 12 => Ok(h),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // 91 days later (by default events are kept 30 days, finished notifications 90, dead
    // grants 400).
    app.clock.advance(chrono::Duration::days(91));
    app.opt_in_many("t", "new", 1).await;
    let mut c = app.client.clone();
    otn_testkit::eventually(
        "the old notification deleted",
        Duration::from_secs(20),
        || {
            let mut c = c.clone();
            let id = n.notification_id.clone();
            async move {
                match c
                    .get_notification(pb::GetNotificationRequest {
                        notification_id: id,
                    })
                    .await
                {
                    Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await;
    let refused =
        otn_testkit::eventually("the old events deleted", Duration::from_secs(20), || {
            let mut c = c.clone();
            async move {
                let req = pb::StreamDeliveryEventsRequest {
                    after_sequence: 1,
                    ..Default::default()
                };
                match c.stream_delivery_events(req).await {
                    Err(s) if s.code() == tonic::Code::OutOfRange && oldest_of(&s) > head => Ok(s),
                    Err(s) => Err(format!("{s:?}")),
                    Ok(_) => Err("still served".into()),
                }
            }
        })
        .await;
    assert_eq!(reason(&refused), "SEQUENCE_PRUNED");
    let oldest = oldest_of(&refused);
    assert_eq!(
        oldest,
        head + 1,
        "every event of the old send went, none of the new"
    );

    // What is younger than its age stays: the late opt-in and its event.
    let mut stream = c
        .stream_delivery_events(pb::StreamDeliveryEventsRequest {
            after_sequence: oldest - 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .event
        .unwrap();
    assert_eq!(first.psid, "new00000");
    let l = app.eligible("t").await;
    assert_eq!(otn_testkit::meta::psids(&l), ["new00000"]);
    // The consumed grants are kept (400 days) until no delivery refers to them: explained.
    assert_eq!(
        otn_testkit::meta::excluded(&l, pb::ExclusionReason::Consumed),
        3
    );
}
