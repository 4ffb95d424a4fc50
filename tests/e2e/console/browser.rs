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
                    .some(tr => tr.textContent.includes('back-in-stock:sku-1') && tr.textContent.endsWith('1'));";
    page_says(
        &browser,
        "the topic with one eligible person",
        eligible,
        json!([]),
    )
    .await;
    running.shutdown().await;
}
