//! Just enough W3C WebDriver to drive Debian's headless Chromium: chromedriver started by the
//! test on a port it picks itself, one session, navigation, script, keys, clicks, screenshots.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium behind its chromedriver; both end when this is dropped.
pub(crate) struct Browser {
    driver: Child,
    base: String,
    port: u16,
    session: String,
    http: reqwest::Client,
}

/// Starts chromedriver on a port of its own choosing (`--port=0`) and reads it from its
/// greeting. Fails the test when chromedriver or chromium is missing.
fn start_driver() -> (Child, u16) {
    let mut child = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("chromedriver could not be started ({e}): run .ci/install-browser.sh")
        });
    let out = child.stdout.take().expect("chromedriver stdout");
    let mut lines = BufReader::new(out).lines();
    let port = loop {
        let line = match lines.next() {
            Some(Ok(l)) => l,
            _ => panic!("chromedriver exited before it said its port"),
        };
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').trim().parse().expect("a port");
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

/// chromedriver's JSON answer to `req`.
async fn answer(req: reqwest::RequestBuilder) -> Value {
    let resp = req.send().await.expect("chromedriver answers");
    resp.json().await.expect("chromedriver answers JSON")
}

impl Browser {
    /// A new headless session, `width` × `height` CSS pixels.
    pub(crate) async fn start(width: u32, height: u32) -> Browser {
        let (driver, port) = start_driver();
        let base = format!("http://127.0.0.1:{port}");
        let http = otn_testkit::meta::http();
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}")],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options } } });
        let resp = answer(http.post(format!("{base}/session")).json(&caps)).await;
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session (is chromium installed?): {resp}"))
            .to_string();
        Browser {
            driver,
            base,
            port,
            session,
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = answer(req).await;
        if resp["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", resp["value"]);
        }
        resp["value"].clone()
    }

    /// Opens `url`.
    pub(crate) async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; its return value.
    pub(crate) async fn exec(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.call(reqwest::Method::POST, "/execute/sync", body)
            .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found[ELEMENT].as_str().expect("an element").to_string()
    }

    /// Types `text` into the element `css`.
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        let path = format!("/element/{id}/value");
        self.call(reqwest::Method::POST, &path, json!({ "text": text }))
            .await;
    }

    /// Clicks the element `css`.
    pub(crate) async fn click(&self, css: &str) {
        let id = self.element(css).await;
        let path = format!("/element/{id}/click");
        self.call(reqwest::Method::POST, &path, json!({})).await;
    }

    /// Resizes the window.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.call(reqwest::Method::POST, "/window/rect", rect).await;
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let b64 = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("a PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (and so Chromium) even when the test panicked, then the driver.
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            if s.write_all(req.as_bytes()).is_ok() {
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
