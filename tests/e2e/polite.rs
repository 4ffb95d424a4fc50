//! Polite by default, end to end with the server's manual clock: what the stand-in Meta
//! received, and when, under a frequency cap per person and quiet hours in the person's zone.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use otn::v1::{self as pb, DeliveryEventType, ExclusionReason};
use otn_server::clock::{Clock, ManualClock};
use otn_server::config::{Config, Politeness};
use otn_testkit::{PAGE, TestApp, World, eventually};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn polite(p: Politeness) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.pages[0].politeness = p;
        // A clock that does not run never makes a retry due: no attempt may time out.
        c.graph_timeout_ms = 10_000;
    }
}

fn excluded(n: &pb::Notification, r: ExclusionReason) -> i64 {
    n.plan
        .as_ref()
        .unwrap()
        .exclusions
        .iter()
        .find(|e| e.reason == r as i32)
        .map_or(0, |e| e.count)
}

/// What Meta accepted for `psid`, as (token, acceptance time on the service's clock).
fn accepted(app: &TestApp, psid: &str) -> Vec<(String, i64)> {
    app.sim()
        .accepted_messages()
        .into_iter()
        .filter(|m| m.recipient_psid == psid)
        .map(|m| (m.token.unwrap_or_default(), m.accepted_at_ms))
        .collect()
}

async fn accepted_count(app: &TestApp, psid: &str, n: usize) -> Vec<(String, i64)> {
    eventually(
        &format!("{n} accepted for {psid}"),
        Duration::from_secs(20),
        || async move {
            let got = accepted(app, psid);
            match got.len() == n {
                true => Ok(got),
                false => Err(format!("{got:?}")),
            }
        },
    )
    .await
}

/// Nothing more reaches Meta for `psid` for a while (the pump polls every 20 ms here).
async fn stays(app: &TestApp, psid: &str, n: usize) {
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        accepted(app, psid).len(),
        n,
        "nothing more was sent to {psid}"
    );
}

async fn grant(app: &mut TestApp, psid: &str, topic: &str) -> String {
    let token = app.sim().issue_otn_token(PAGE, psid);
    app.opt_in(psid, topic, &token).await;
    token
}

fn cap(max: u32, secs: u64) -> Politeness {
    Politeness {
        frequency_cap: max,
        frequency_window_secs: secs,
        ..Politeness::off()
    }
}

#[tokio::test]
async fn a_second_send_inside_the_cap_waits_with_its_grant_reserved_then_goes() {
    let clock = ManualClock::frozen(Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap());
    let world = World::with_clock(clock.clone()).await;
    let mut app = world.spawn_with(polite(cap(1, 3600))).await;
    let t0 = clock.now_ms();
    let size_s = grant(&mut app, "ann", "back-in-stock:s").await;
    let size_m = grant(&mut app, "ann", "back-in-stock:m").await;

    let first = app
        .send("restock-s", "back-in-stock:s", Default::default())
        .await;
    assert_eq!(first.plan.as_ref().unwrap().deferred_by_frequency_cap, 0);
    accepted_count(&app, "ann", 1).await;
    let second = app
        .send("restock-m", "back-in-stock:m", Default::default())
        .await;
    let plan = second.plan.as_ref().unwrap();
    assert_eq!(
        (plan.grant_sends, plan.deferred_by_frequency_cap),
        (1, 1),
        "counted as a send, and as deferred"
    );
    assert_eq!(plan.frequency_cap.unwrap().max_notifications, 1);
    stays(&app, "ann", 1).await;
    // The grant is held for the deferred delivery, not given back nor spent.
    let eligible = app.eligible("back-in-stock:m").await;
    assert_eq!(eligible.total_size, 0);
    assert_eq!(
        otn_testkit::meta::excluded(&eligible, ExclusionReason::Reserved),
        1
    );
    // The decision is in the log: queued, then deferred until the hour is over, by the cap.
    let evs = app.events_of(&second.notification_id).await;
    let deferred = evs
        .iter()
        .find(|e| e.r#type == DeliveryEventType::Deferred as i32)
        .expect("a DEFERRED event");
    assert_eq!(deferred.rule, "polite.frequency_cap.1/3600s");
    let not_before = otn_testkit::meta::ms(deferred.not_before_time.as_ref().unwrap());
    assert_eq!(not_before, t0 + HOUR);

    clock.advance(chrono::Duration::minutes(59));
    stays(&app, "ann", 1).await;
    clock.advance(chrono::Duration::minutes(1));
    let got = accepted_count(&app, "ann", 2).await;
    assert_eq!(got[0].0, size_s);
    assert_eq!(got[1].0, size_m);
    assert!(got[1].1 >= t0 + HOUR, "sent when the cap allowed it");
    let done = app.wait_final(&second.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 1);
}

#[tokio::test]
async fn sends_planned_together_go_one_per_window_and_a_send_may_exclude_instead() {
    let clock = ManualClock::frozen(Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap());
    let world = World::with_clock(clock.clone()).await;
    let mut app = world.spawn_with(polite(cap(2, 86_400))).await;
    let t0 = clock.now_ms();
    for size in ["s", "m", "l", "xl"] {
        grant(&mut app, "bo", &format!("back-in-stock:{size}")).await;
    }
    // Three restocks in one go, before anything is sent: two go, the third waits a day.
    let mut ids = Vec::new();
    for size in ["s", "m", "l"] {
        let n = app
            .send(
                &format!("r-{size}"),
                &format!("back-in-stock:{size}"),
                Default::default(),
            )
            .await;
        ids.push((
            n.notification_id.clone(),
            n.plan.unwrap().deferred_by_frequency_cap,
        ));
    }
    assert_eq!(
        ids.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
        [0, 0, 1],
        "the third is over the cap of two"
    );
    accepted_count(&app, "bo", 2).await;
    stays(&app, "bo", 2).await;
    // A send that would rather leave people out than make them wait: excluded, grant kept.
    let skip = app
        .send(
            "r-xl",
            "back-in-stock:xl",
            pb::SendOptions {
                over_cap: pb::OverCapAction::Exclude as i32,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(excluded(&skip, ExclusionReason::FrequencyCap), 1);
    assert_eq!(skip.plan.as_ref().unwrap().grant_sends, 0);
    assert_eq!(app.eligible("back-in-stock:xl").await.total_size, 1);
    // A send may lift the cap (max 0): it goes at once.
    grant(&mut app, "bo", "price-drop:xl").await;
    let urgent = app
        .send(
            "p-xl",
            "price-drop:xl",
            pb::SendOptions {
                frequency_cap: Some(pb::FrequencyCap {
                    max_notifications: 0,
                    window_seconds: 0,
                }),
                ..Default::default()
            },
        )
        .await;
    assert!(urgent.plan.as_ref().unwrap().frequency_cap.is_none());
    accepted_count(&app, "bo", 3).await;

    clock.advance(chrono::Duration::hours(24));
    let got = accepted_count(&app, "bo", 4).await;
    assert!(got[3].1 >= t0 + 24 * HOUR);
    for (id, _) in &ids {
        app.wait_final(id).await;
    }
}

async fn zone(app: &mut TestApp, psid: &str, zone: &str) -> pb::Recipient {
    app.client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: psid.into(),
            time_zone: Some(zone.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap()
}

/// A clock that runs at real speed from `at` (sends keep their real spacing on it).
fn running_from(at: chrono::DateTime<Utc>) -> std::sync::Arc<ManualClock> {
    let clock = ManualClock::new();
    clock.advance(chrono::Duration::milliseconds(
        at.timestamp_millis() - clock.now_ms(),
    ));
    clock
}

#[tokio::test]
async fn a_restock_at_night_goes_at_each_persons_morning_at_the_pages_rate() {
    // 21:00 UTC: 22:00 in Berlin (the page's zone), 16:00 in New York, 06:00 in Tokyo.
    let night = Utc.with_ymd_and_hms(2026, 12, 7, 21, 0, 0).unwrap();
    let clock = running_from(night);
    let world = World::with_clock(clock.clone()).await;
    let rate = 4;
    let mut app = world
        .spawn_with(|c| {
            c.pages[0].rate_limit_per_sec = rate;
            c.pages[0].politeness = Politeness {
                quiet_hours: "21:00-08:00".into(),
                time_zone: Some("Europe/Berlin".into()),
                ..Politeness::off()
            };
            c.graph_timeout_ms = 10_000;
        })
        .await;
    let topic = "back-in-stock:sku-7";
    let berliners: Vec<String> = (0..8).map(|i| format!("be{i}")).collect();
    for p in &berliners {
        grant(&mut app, p, topic).await;
    }
    grant(&mut app, "nyc", topic).await;
    grant(&mut app, "tyo", topic).await;
    assert_eq!(
        zone(&mut app, "nyc", "America/New_York").await.time_zone,
        "America/New_York"
    );
    zone(&mut app, "tyo", "Asia/Tokyo").await;
    let listed = app.eligible(topic).await;
    let tyo = otn_testkit::meta::of(&listed, "tyo")
        .recipient
        .as_ref()
        .unwrap();
    assert_eq!(
        tyo.time_zone, "Asia/Tokyo",
        "ListEligible shows the zone too"
    );

    let n = app.send("restock-7", topic, Default::default()).await;
    let plan = n.plan.clone().unwrap();
    assert_eq!((plan.grant_sends, plan.deferred_by_quiet_hours), (10, 9));
    let q = plan.quiet_hours.unwrap();
    assert_eq!((q.start.as_str(), q.end.as_str()), ("21:00", "08:00"));
    assert!(!plan.quiet_hours_ignored);
    // New York's afternoon: at once. Nobody else.
    accepted_count(&app, "nyc", 1).await;
    stays(&app, "tyo", 0).await;
    assert!(berliners.iter().all(|p| accepted(&app, p).is_empty()));
    let evs = app.events_of(&n.notification_id).await;
    let tyo = evs
        .iter()
        .find(|e| e.r#type == DeliveryEventType::Deferred as i32 && e.psid == "tyo")
        .unwrap();
    assert_eq!(tyo.rule, "polite.quiet_hours.21:00-08:00@Asia/Tokyo");
    let tokyo_morning = Utc
        .with_ymd_and_hms(2026, 12, 7, 23, 0, 0)
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        otn_testkit::meta::ms(tyo.not_before_time.as_ref().unwrap()),
        tokyo_morning
    );

    // A time-critical alert opts out, and its plan says so.
    grant(&mut app, "be0", "recall:lot-9").await;
    let alert = app
        .send(
            "recall-9",
            "recall:lot-9",
            pb::SendOptions {
                ignore_quiet_hours: true,
                ..Default::default()
            },
        )
        .await;
    let plan = alert.plan.unwrap();
    assert!(plan.quiet_hours_ignored && plan.quiet_hours.is_none());
    assert_eq!(plan.deferred_by_quiet_hours, 0);
    accepted_count(&app, "be0", 1).await;

    // 08:00 in Tokyo.
    clock.advance(chrono::Duration::hours(2));
    let got = accepted_count(&app, "tyo", 1).await;
    assert!(got[0].1 >= tokyo_morning);
    assert!(
        berliners
            .iter()
            .skip(1)
            .all(|p| accepted(&app, p).is_empty())
    );

    // 08:00 in Berlin: every Berliner, from then on, at the page's rate (not all at once).
    let berlin_morning = Utc
        .with_ymd_and_hms(2026, 12, 8, 7, 0, 0)
        .unwrap()
        .timestamp_millis();
    clock.advance(chrono::Duration::milliseconds(
        berlin_morning - clock.now_ms(),
    ));
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 10);
    let mut times: Vec<i64> = berliners
        .iter()
        .flat_map(|p| accepted(&app, p))
        .filter(|(tok, _)| !tok.is_empty())
        .map(|(_, at)| at)
        .filter(|at| *at >= berlin_morning)
        .collect();
    times.sort_unstable();
    assert_eq!(times.len(), 8, "each Berliner once, in the morning");
    let spread = times[7] - times[0];
    assert!(
        spread >= 7 * 1000 / rate as i64 * 9 / 10,
        "spread at {rate}/s, not released at once: {times:?}"
    );
    assert!(
        otn_simulator::busiest_window(&times, 1000) <= rate as usize + 1,
        "{times:?}"
    );
}

#[tokio::test]
async fn the_zone_of_a_marketing_opt_in_is_kept_and_update_recipient_overrides_it() {
    let mut app = World::new().await.spawn().await;
    let now = app.clock.now_ms();
    let mut ev = otn_testkit::meta::marketing_optin("mia", now, "deals:weekly", "mm-tok-1");
    ev["optin"]["notification_messages_timezone"] = "Asia/Tokyo".into();
    let status =
        otn_testkit::meta::post_signed(&app, otn_testkit::meta::body_of(now, vec![ev])).await;
    assert_eq!(status, 200);
    let seen = app
        .client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "mia".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    assert_eq!(seen.time_zone, "Asia/Tokyo");
    assert_eq!(
        zone(&mut app, "mia", "Europe/Lisbon").await.time_zone,
        "Europe/Lisbon"
    );
    assert_eq!(
        zone(&mut app, "mia", "").await.time_zone,
        "Asia/Tokyo",
        "cleared: the opt-in's again"
    );
    let bad = app
        .client
        .update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "mia".into(),
            time_zone: Some("Mars/Olympus_Mons".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(otn_testkit::violated_fields(&bad), ["time_zone"]);
}

fn breaker(threshold: u32) -> Politeness {
    Politeness {
        breaker_threshold: threshold,
        breaker_window_secs: 3600,
        ..Politeness::off()
    }
}

async fn metrics(app: &TestApp) -> String {
    otn_testkit::meta::http()
        .get(format!("http://{}/metrics", app.running.admin_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn stop(app: &TestApp, psid: &str, token: &str, at: i64) {
    let ev = otn_testkit::meta::marketing_status(psid, at, token, true);
    let body = otn_testkit::meta::body_of(at, vec![ev]);
    assert_eq!(otn_testkit::meta::post_signed(app, body).await, 200);
}

async fn resume(app: &mut TestApp) -> pb::ResumePageResponse {
    app.client
        .resume_page(pb::ResumePageRequest {
            page_id: PAGE.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Metrics are one registry per test process, shared by the tests running beside this one on
/// the same page name: their names are checked here, their values through the behaviour.
async fn metrics_name(app: &TestApp, needle: &str) {
    let m = metrics(app).await;
    assert!(m.contains(needle), "{needle} in {m}");
}

/// The page's pause as an open notification shows it: a send scheduled an hour ahead to `psid`.
async fn probe(app: &mut TestApp, psid: &str) -> String {
    grant(app, psid, "probe:pause").await;
    let at = app.clock.now_ms() + HOUR;
    let n = app
        .send(
            "probe",
            "probe:pause",
            pb::SendOptions {
                scheduled_time: Some(prost_types::Timestamp {
                    seconds: at / 1000,
                    nanos: 0,
                }),
                ..Default::default()
            },
        )
        .await;
    n.notification_id
}

#[tokio::test]
async fn a_flood_of_stops_pauses_the_pages_sends_until_an_operator_resumes_them() {
    let mut app = World::new().await.spawn_with(polite(breaker(3))).await;
    let now = app.clock.now_ms();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let psid = format!("mm{i}");
        let token = app.sim().issue_marketing_token(PAGE, &psid);
        app.client
            .record_opt_in(pb::RecordOptInRequest {
                page_id: PAGE.into(),
                psid: psid.clone(),
                topic_key: "deals:weekly".into(),
                kind: pb::GrantKind::MarketingMessages as i32,
                token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        tokens.push((psid, token));
    }
    grant(&mut app, "ann", "back-in-stock:x1").await;
    grant(&mut app, "bo", "back-in-stock:x2").await;
    grant(&mut app, "cy", "back-in-stock:x2").await;
    // Two STOPs, and the second one again (Meta redelivers): two signals, under the threshold,
    // so a send still goes.
    stop(&app, &tokens[0].0, &tokens[0].1, now).await;
    stop(&app, &tokens[1].0, &tokens[1].1, now + 1).await;
    stop(&app, &tokens[1].0, &tokens[1].1, now + 1).await;
    let before = app
        .send("restock-x1", "back-in-stock:x1", Default::default())
        .await;
    assert!(before.paused_reason.is_empty());
    accepted_count(&app, "ann", 1).await;
    metrics_name(
        &app,
        "otn_negative_signals_total{page_id=\"test-page\",kind=\"stop\"}",
    )
    .await;
    // The third trips the breaker: every replica's pump holds the page's sends.
    stop(&app, &tokens[2].0, &tokens[2].1, now + 2).await;
    metrics_name(&app, "otn_breaker_tripped{page_id=\"test-page\"}").await;

    let n = app
        .send("restock-x2", "back-in-stock:x2", Default::default())
        .await;
    assert_eq!(n.plan.as_ref().unwrap().grant_sends, 2, "planned as ever");
    assert_eq!(n.paused_reason, "negative_feedback");
    stays(&app, "bo", 0).await;
    assert!(accepted(&app, "cy").is_empty());
    let seen = app.notification(&n.notification_id).await;
    assert_eq!(
        seen.paused_reason, "negative_feedback",
        "GetNotification says why"
    );
    assert_eq!(seen.counts.unwrap().queued, 2);

    // An operator resumes: the queued deliveries go, and the count starts again.
    let r = resume(&mut app).await;
    assert!(r.resumed && r.paused_reason.is_empty());
    let done = app.wait_final(&n.notification_id).await;
    assert_eq!(done.counts.unwrap().sent, 2);
    assert!(done.paused_reason.is_empty());
    assert!(!resume(&mut app).await.resumed, "nothing to resume");
}

#[tokio::test]
async fn people_blocking_the_page_trip_the_breaker_too() {
    let mut app = World::new().await.spawn_with(polite(breaker(3))).await;
    for p in ["b1", "b2", "b3", "b4"] {
        grant(&mut app, p, "back-in-stock:y").await;
    }
    // Meta refuses three sends: the person blocked the page (200/1545041).
    app.sim().inject(vec![
        otn_simulator::Fault::BlockedPage,
        otn_simulator::Fault::BlockedPage,
        otn_simulator::Fault::BlockedPage,
    ]);
    let first = app
        .send(
            "restock-y",
            "back-in-stock:y",
            pb::SendOptions {
                max_recipients: 3,
                ..Default::default()
            },
        )
        .await;
    let done = app.wait_final(&first.notification_id).await;
    assert_eq!(done.counts.unwrap().failed, 3);
    // The blocks are counted beside the outcomes: the page is paused once they are.
    let probe = probe(&mut app, "b5").await;
    let client = app.client.clone();
    eventually("the breaker tripped", Duration::from_secs(10), || {
        let mut client = client.clone();
        let probe = probe.clone();
        async move {
            let n = client
                .get_notification(pb::GetNotificationRequest {
                    notification_id: probe,
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner()
                .notification
                .ok_or("no notification")?;
            match n.paused_reason.as_str() {
                "negative_feedback" => Ok(()),
                other => Err(format!("paused: {other:?}")),
            }
        }
    })
    .await;
    metrics_name(
        &app,
        "otn_negative_signals_total{page_id=\"test-page\",kind=\"block\"}",
    )
    .await;
    let next = app
        .send("restock-y2", "back-in-stock:y", Default::default())
        .await;
    assert_eq!(next.paused_reason, "negative_feedback");
    stays(&app, "b4", 0).await;
}
