//! The console in a real headless Chromium: sign-in with a key (a wrong one refused), a send's
//! progress reaching COMPLETED, its events in the tail, a server restart on the same port after
//! which the page's stream resumes with no gap and no repeat (checked by sequence in the page),
//! a phone-sized window, the sandbox shopper; and the screenshot in docs/console.png.

use std::time::Duration;

use otn::v1 as pb;
use otn_testkit::{World, eventually};
use serde_json::{Value, json};

use super::webdriver::Browser;

const WITHIN: Duration = Duration::from_secs(30);

/// Waits until `script` returns something truthy in the page; returns it.
async fn page_says(browser: &Browser, what: &str, script: &str, args: Value) -> Value {
    eventually(what, WITHIN, || async {
        let v = browser.exec(script, args.clone()).await;
        match v {
            Value::Null | Value::Bool(false) => Err(format!("{v}")),
            Value::String(ref s) if s.is_empty() => Err("empty".into()),
            v => Ok(v),
        }
    })
    .await
}

const ROW_STATE: &str = "const r = document.querySelector(`tr[data-notification-id=\"${arguments[0]}\"]`); \
                         return r && r.dataset.state === 'NOTIFICATION_STATE_COMPLETED';";
const TAIL_OF: &str = "return [...document.querySelectorAll('#tail-list li')] \
                       .filter(li => li.dataset.notificationId === arguments[0] && li.dataset.type === 'SENT').length;";
const SEQ_LOG: &str = "const l = document.getElementById('seq-log').dataset; \
                       return { ranges: l.ranges, repeats: Number(l.repeats) };";
const LIVE: &str = "return document.getElementById('stream-state').textContent === 'live';";

/// The sequences the page has seen, as `first-last` ranges, and how many came twice.
async fn seen(browser: &Browser) -> (String, i64) {
    let v = browser.exec(SEQ_LOG, json!([])).await;
    (
        v["ranges"].as_str().unwrap().to_string(),
        v["repeats"].as_i64().unwrap(),
    )
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with -- --include-ignored"]
async fn the_console_follows_a_send_and_resumes_its_stream_across_a_restart() {
    let world = World::new().await;
    let paced = |c: &mut otn_server::config::Config| c.pages[0].rate_limit_per_sec = 40;
    let mut app = world.spawn_with(paced).await;
    app.opt_in_many("back-in-stock:sku-1", "h", 40).await;
    let addr = app.running.http_addr;
    let browser = Browser::start(1280, 1000).await;
    browser.goto(&format!("http://{addr}/console/")).await;
    let signed_out = "return !document.getElementById('sign-in').hidden;";
    page_says(&browser, "the sign-in form", signed_out, json!([])).await;

    let wrong = format!("otn_0123456789ab_{}", "0".repeat(64));
    browser.type_into("#api-key", &wrong).await;
    browser.click("#sign-in-form button").await;
    let error = "return document.getElementById('sign-in-error').textContent;";
    page_says(&browser, "a wrong key refused", error, json!([])).await;
    browser
        .exec("document.getElementById('api-key').value = '';", json!([]))
        .await;
    browser.type_into("#api-key", &world.key).await;
    browser.click("#sign-in-form button").await;
    page_says(&browser, "the stream live", LIVE, json!([])).await;
    let url = browser.exec("return location.href;", json!([])).await;
    assert!(
        !url.as_str().unwrap().contains(&world.key),
        "the key is in no URL"
    );

    let n = app
        .send("browser-1", "back-in-stock:sku-1", Default::default())
        .await;
    let id = json!([n.notification_id]);
    page_says(
        &browser,
        "the send COMPLETED in the page",
        ROW_STATE,
        id.clone(),
    )
    .await;
    let sent = page_says(&browser, "its SENT events in the tail", TAIL_OF, id).await;
    assert!(sent.as_i64().unwrap() > 0);
    let head = app.running.last_event_sequence().await.unwrap();
    let through = json!([format!("-{head}")]);
    let reached =
        "return document.getElementById('seq-log').dataset.ranges.endsWith(arguments[0]);";
    page_says(&browser, "the page saw the log's head", reached, through).await;

    app.running.shutdown().await;
    let down = "return document.getElementById('stream-state').textContent !== 'live';";
    page_says(&browser, "the page noticed the restart", down, json!([])).await;
    let mut app = world
        .spawn_with(|c| {
            paced(c);
            c.http_addr = addr;
        })
        .await;
    app.opt_in_many("price-drop:sku-7", "p", 25).await;
    let n2 = app
        .send("browser-2", "price-drop:sku-7", pb::SendOptions::default())
        .await;
    app.wait_final(&n2.notification_id).await;
    let head2 = app.running.last_event_sequence().await.unwrap();
    let through = json!([format!("-{head2}")]);
    page_says(
        &browser,
        "the resumed stream reached the new head",
        reached,
        through,
    )
    .await;
    page_says(
        &browser,
        "the second send COMPLETED",
        ROW_STATE,
        json!([n2.notification_id]),
    )
    .await;
    let (ranges, repeats) = seen(&browser).await;
    assert_eq!(ranges, format!("1-{head2}"), "no gap");
    assert_eq!(repeats, 0, "no repeat");

    let details = format!("tr[data-notification-id=\"{}\"] button", n2.notification_id);
    browser.click(&details).await;
    let plan = "const d = document.getElementById('detail-plan'); \
                return !document.getElementById('detail').hidden && d.textContent.includes('25');";
    page_says(&browser, "the plan of the second send", plan, json!([])).await;
    browser.exec("window.scrollTo(0, 0);", json!([])).await;
    browser.resize(1280, 1500).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // the chart redraws each second
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    // The picture in docs/ is refreshed on request only, so a test run leaves the tree clean.
    if std::env::var_os("OTN_UPDATE_SCREENSHOT").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console.png");
        std::fs::write(&path, png).unwrap();
    }

    browser.resize(390, 844).await;
    // What sticks out past a phone's width (nothing may: the page never scrolls sideways).
    let wider = "const w = window.innerWidth; return [...document.querySelectorAll('body *')] \
                 .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll')) \
                 .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 10);";
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sticking_out = browser.exec(wider, json!([])).await;
    assert_eq!(sticking_out, json!([]), "at 390 px");
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth + 1;";
    assert_eq!(
        browser.exec(fits, json!([])).await,
        true,
        "no sideways scrolling at 390 px"
    );
    app.running.shutdown().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with -- --include-ignored"]
async fn the_sandbox_console_plays_the_shopper_without_a_key() {
    let world = World::new().await;
    let mut config = world.config();
    world.sandbox(&mut config);
    let running = otn_server::app::start(config, world.clock.clone())
        .await
        .unwrap();
    let browser = Browser::start(1280, 1000).await;
    browser
        .goto(&format!("http://{}/console/", running.http_addr))
        .await;
    page_says(&browser, "the stream live", LIVE, json!([])).await;
    let shopper = "return !document.getElementById('shopper').hidden;";
    page_says(&browser, "the shopper panel", shopper, json!([])).await;
    browser.click("button[data-sim=\"notify_me\"]").await;
    let opted_in = "return [...document.querySelectorAll('#tail-list li')] \
                    .some(li => li.dataset.type === 'OPT_IN_RECORDED');";
    page_says(&browser, "the opt-in in the tail", opted_in, json!([])).await;
    let eligible = "return [...document.querySelectorAll('#topic-rows tr')] \
                    .some(tr => tr.cells[0].textContent === 'back-in-stock:sku-1' && tr.cells[1].textContent === '1');";
    page_says(
        &browser,
        "the topic with one eligible person",
        eligible,
        json!([]),
    )
    .await;
    running.shutdown().await;
}

/// The funnel table as the page shows it: step → (count, rate).
const FUNNEL_ROWS: &str = "return Object.fromEntries([...document.querySelectorAll('#funnel-rows tr')] \
                           .map(tr => [tr.dataset.step, [tr.cells[1].textContent, tr.cells[2].textContent]]));";

/// A rate as the console prints it.
fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// Every count and rate of `f` as the console's funnel table must show them.
fn expected_rows(f: &pb::GetFunnelResponse) -> Value {
    let (c, r) = (f.counts.unwrap(), f.rates.unwrap());
    json!({
        "optInRequests": [c.opt_in_requests.to_string(), ""],
        "optIns": [c.opt_ins.to_string(), pct(r.opt_in_rate)],
        "grantsUsed": [c.grants_used.to_string(), pct(r.use_rate)],
        "sent": [c.sent.to_string(), pct(r.send_rate)],
        "delivered": [c.delivered.to_string(), pct(r.delivery_rate)],
        "read": [c.read.to_string(), pct(r.read_rate)],
        "engaged": [c.engaged.to_string(), pct(r.engagement_rate)],
        "engagedMessage": [c.engaged_message.to_string(), ""],
        "engagedPostback": [c.engaged_postback.to_string(), ""],
        "clicked": [c.clicked.to_string(), pct(r.click_rate)],
        "failed": [c.failed.to_string(), ""],
        "unconfirmed": [c.unconfirmed.to_string(), ""],
        "grantsExpired": [c.grants_expired.to_string(), ""],
        "grantsStopped": [c.grants_stopped.to_string(), ""],
        "grantsRevoked": [c.grants_revoked.to_string(), ""],
    })
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver: run with -- --include-ignored"]
async fn the_console_charts_a_topics_funnel_and_a_notifications() {
    let world = World::new().await;
    let mut app = world.spawn().await;
    let topic = "back-in-stock:sku-9";
    app.opt_in_many(topic, "f", 4).await;
    let n = app.send("funnel-1", topic, Default::default()).await;
    app.wait_final(&n.notification_id).await;
    for who in ["f00000", "f00001", "f00002"] {
        app.sim().user_reads(otn_testkit::PAGE, who).await.unwrap();
    }
    app.sim()
        .user_sends_message(otn_testkit::PAGE, "f00000", "Thanks!")
        .await
        .unwrap();
    let topic_req = pb::GetFunnelRequest {
        page_id: otn_testkit::PAGE.into(),
        topic_key: topic.into(),
        ..Default::default()
    };
    let mut c = app.client.clone();
    let f = eventually("the reads and the reply counted", WITHIN, || {
        let (mut c, req) = (c.clone(), topic_req.clone());
        async move {
            let f = c
                .get_funnel(req)
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            let k = f.counts.unwrap();
            match (k.read, k.engaged) {
                (3, 1) => Ok(f),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;

    let browser = Browser::start(1280, 1000).await;
    browser
        .goto(&format!("http://{}/console/", app.running.http_addr))
        .await;
    browser.type_into("#api-key", &world.key).await;
    browser.click("#sign-in-form button").await;
    page_says(&browser, "the stream live", LIVE, json!([])).await;
    let button = format!("#topic-rows tr[data-topic=\"{topic}\"] button");
    page_says(
        &browser,
        "the topic listed",
        "return !!document.querySelector(arguments[0]);",
        json!([button]),
    )
    .await;
    // The topics table is redrawn as events arrive: click by script, not by a held element.
    let click = "document.querySelector(arguments[0]).click();";
    browser.exec(click, json!([button])).await;
    let shown = "return document.getElementById('funnel').dataset.funnel === arguments[0];";
    let whose = format!("{}/{topic}", otn_testkit::PAGE);
    page_says(&browser, "the topic's funnel", shown, json!([whose])).await;
    let rows = browser.exec(FUNNEL_ROWS, json!([])).await;
    let want = expected_rows(&f);
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&rows[k], v, "the console's {k}: {rows}");
    }
    assert_eq!(rows["sent"][0], "4");
    assert_eq!(rows["delivered"][1], "75.0%", "a read counts as delivered");
    // The chart: one bar per step, as wide as its count, and a description that says it.
    let bars = "return [...document.querySelectorAll('#funnel-svg rect')] \
                .map(r => [r.dataset.step, Number(r.getAttribute('width'))]);";
    let bars = browser.exec(bars, json!([])).await;
    let bars = bars.as_array().unwrap();
    assert_eq!(bars.len(), 7, "{bars:?}");
    let width = |step: &str| {
        bars.iter()
            .find(|b| b[0] == step)
            .and_then(|b| b[1].as_f64())
            .unwrap()
    };
    assert!(width("sent") > width("read") && width("read") > width("engaged"));
    let desc = browser
        .exec(
            "return document.getElementById('funnel-desc').textContent;",
            json!([]),
        )
        .await;
    assert!(desc.as_str().unwrap().contains("sent 4"), "{desc}");
    let days = browser
        .exec(
            "return document.getElementById('funnel-days-desc').textContent;",
            json!([]),
        )
        .await;
    assert!(
        days.as_str().unwrap().contains("sent 4, read 3, engaged 1"),
        "{days}"
    );
    if let Some(path) = std::env::var_os("OTN_FUNNEL_SCREENSHOT") {
        browser
            .exec(
                "document.getElementById('funnel').scrollIntoView();",
                json!([]),
            )
            .await;
        std::fs::write(path, browser.screenshot().await).unwrap();
    }

    // The notification's funnel, from its details, and its export link.
    let details = format!("tr[data-notification-id=\"{}\"] button", n.notification_id);
    browser.exec(click, json!([details])).await;
    let href = "return !document.getElementById('detail').hidden && \
                document.getElementById('export-csv').getAttribute('href');";
    let href = page_says(&browser, "the export link", href, json!([])).await;
    assert_eq!(
        href,
        format!(
            "/v1/console/notifications/{}/deliveries?format=csv",
            n.notification_id
        )
    );
    browser.click("#detail-funnel").await;
    page_says(
        &browser,
        "the notification's funnel",
        shown,
        json!([n.notification_id]),
    )
    .await;
    let nf = c
        .get_funnel(pb::GetFunnelRequest {
            notification_id: n.notification_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rows = browser.exec(FUNNEL_ROWS, json!([])).await;
    for (k, v) in expected_rows(&nf).as_object().unwrap() {
        assert_eq!(&rows[k], v, "the console's {k} of the notification: {rows}");
    }
    assert_eq!(rows["optIns"][0], "0");
    app.running.shutdown().await;
}
