//! The sandbox takes calls without a key, so it serves nothing but its own embedded file, and
//! its simulator posts nowhere but to otn's own webhook.

use otn_testkit::World;

#[tokio::test]
async fn the_sandbox_refuses_a_database_that_holds_real_pages() {
    let world = World::new().await;
    let mut config = world.config();
    world.sandbox(&mut config);
    // A real server used this file first.
    let real = {
        let mut c = config.clone();
        c.sandbox = false;
        c.pages = vec![world.page.clone()];
        c
    };
    let running = otn_server::app::start(real, world.clock.clone())
        .await
        .unwrap();
    running.shutdown().await;
    let err = otn_server::app::start(config, world.clock.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds real pages"), "{err:#}");
}

#[tokio::test]
async fn the_sandbox_refuses_postgresql() {
    let world = World::new().await;
    let mut config = world.config();
    world.sandbox(&mut config);
    config.database_url = "postgres://postgres@127.0.0.1:5432/otn_test".into();
    let err = otn_server::app::start(config, world.clock.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SQLite"), "{err:#}");
}

#[tokio::test]
async fn the_sandboxs_simulator_cannot_be_pointed_at_another_url() {
    let world = World::new().await;
    let mut config = world.config();
    world.sandbox(&mut config);
    let running = otn_server::app::start(config, world.clock.clone())
        .await
        .unwrap();
    let base = format!("http://{}", running.http_addr);
    let c = otn_testkit::meta::http();
    for (path, body) in [
        (
            "/_sim/webhook",
            serde_json::json!({"url": "http://169.254.169.254/latest", "app_secret": "x"}),
        ),
        (
            "/_sim/pages",
            serde_json::json!({"page_id": "p2", "access_token": "t"}),
        ),
    ] {
        let r = c
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} is served");
    }
    // The shopper's controls are there.
    let r = c.get(format!("{base}/_sim/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    running.shutdown().await;
}
