//! Tracked links: on a page with click tracking, each `web_url` button of a delivery's message
//! points at otn's HTTP listener (`<public_url>/l/<delivery>/<button>/<signature>`) instead of
//! the shop; otn records the click and redirects to the URL the send named. The signature is an
//! HMAC of the delivery and the button under a key derived from the server's link secret and
//! the page, so a link cannot be made for another delivery, button or page, and the target is
//! read from the stored notification, never from the link: there is no open redirect.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The path prefix of tracked links on the HTTP listener.
pub(crate) const LINK_PREFIX: &str = "/l/";

/// Bytes of the HMAC kept in a link (128 bits).
const SIGNATURE_BYTES: usize = 16;

/// The link maker and checker of a server: its public URL, secret, and tracked pages.
#[derive(Clone)]
pub(crate) struct Links {
    public_url: String,
    secret: Vec<u8>,
    pages: Vec<String>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("public_url", &self.public_url)
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts a key of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

impl Links {
    /// Links to `public_url` (no trailing slash needed), signed with `secret`, for `pages`.
    pub(crate) fn new(public_url: &str, secret: &str, pages: Vec<String>) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            secret: secret.as_bytes().to_vec(),
            pages,
        }
    }

    /// Whether the page's links are tracked.
    pub(crate) fn tracks(&self, page_id: &str) -> bool {
        self.pages.iter().any(|p| p == page_id)
    }

    fn signature(&self, page_id: &str, delivery_id: i64, button: usize) -> Vec<u8> {
        let key = mac(&self.secret, format!("otn-links/v1/{page_id}").as_bytes());
        let mut s = mac(&key, format!("{delivery_id}/{button}").as_bytes());
        s.truncate(SIGNATURE_BYTES);
        s
    }

    /// The tracked link of button `button` (0-based) of the delivery.
    pub(crate) fn link(&self, page_id: &str, delivery_id: i64, button: usize) -> String {
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.signature(
            page_id,
            delivery_id,
            button,
        ));
        format!(
            "{}{LINK_PREFIX}{delivery_id}/{button}/{sig}",
            self.public_url
        )
    }

    /// Whether `sig` is the signature of the delivery's button on the page (constant time).
    pub(crate) fn verify(&self, page_id: &str, delivery_id: i64, button: usize, sig: &str) -> bool {
        let Ok(given) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let want = self.signature(page_id, delivery_id, button);
        given.len() == want.len() && subtle::ConstantTimeEq::ct_eq(&given[..], &want[..]).into()
    }

    /// Rewrites the `web_url` buttons of a Send API `message` into the delivery's tracked
    /// links, when its page is tracked. Returns how many buttons it rewrote.
    pub(crate) fn rewrite(&self, message: &mut Value, page_id: &str, delivery_id: i64) -> usize {
        if !self.tracks(page_id) {
            return 0;
        }
        let Some(buttons) = message
            .pointer_mut("/attachment/payload/buttons")
            .and_then(Value::as_array_mut)
        else {
            return 0;
        };
        let mut n = 0;
        for (i, b) in buttons.iter_mut().enumerate() {
            if b.get("type").and_then(Value::as_str) == Some("web_url") {
                b["url"] = Value::String(self.link(page_id, delivery_id, i));
                n += 1;
            }
        }
        n
    }
}

/// The URL of `web_url` button `button` in a stored notification message (Meta's `message`
/// JSON, as the send named it).
pub(crate) fn target_of(message: &str, button: usize) -> Option<String> {
    let v: Value = serde_json::from_str(message).ok()?;
    let b = v.pointer("/attachment/payload/buttons")?.get(button)?;
    if b.get("type").and_then(Value::as_str) != Some("web_url") {
        return None;
    }
    let url = b.get("url")?.as_str()?;
    (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn links() -> Links {
        Links::new("https://otn.shop.example/", "s3cret", vec!["p1".into()])
    }

    fn sig_of(link: &str) -> &str {
        link.rsplit('/').next().unwrap()
    }

    #[test]
    fn a_link_verifies_for_its_delivery_button_and_page_only() {
        let l = links();
        let link = l.link("p1", 42, 1);
        assert!(
            link.starts_with("https://otn.shop.example/l/42/1/"),
            "{link}"
        );
        let sig = sig_of(&link);
        assert!(l.verify("p1", 42, 1, sig));
        assert!(!l.verify("p1", 43, 1, sig));
        assert!(!l.verify("p1", 42, 0, sig));
        assert!(!l.verify("p2", 42, 1, sig));
        assert!(!l.verify("p1", 42, 1, "AAAA"));
        assert!(!l.verify("p1", 42, 1, "not base64!"));
        let other = Links::new("https://otn.shop.example", "other", vec!["p1".into()]);
        assert!(!other.verify("p1", 42, 1, sig));
    }

    #[test]
    fn only_web_url_buttons_of_tracked_pages_are_rewritten() {
        let l = links();
        let mut m = json!({ "attachment": { "type": "template", "payload": {
            "template_type": "button", "text": "Back!", "buttons": [
                { "type": "postback", "title": "Stop", "payload": "STOP" },
                { "type": "web_url", "title": "Buy", "url": "https://shop.example/sl13" },
            ] } } });
        let stored = m.to_string();
        assert_eq!(l.rewrite(&mut m.clone(), "p2", 7), 0);
        assert_eq!(l.rewrite(&mut m, "p1", 7), 1);
        let b = &m["attachment"]["payload"]["buttons"];
        assert_eq!(b[0]["payload"], "STOP");
        let url = b[1]["url"].as_str().unwrap();
        assert!(l.verify("p1", 7, 1, sig_of(url)), "{url}");
        assert_eq!(
            target_of(&stored, 1).as_deref(),
            Some("https://shop.example/sl13")
        );
        assert_eq!(target_of(&stored, 0), None);
        assert_eq!(target_of(&stored, 2), None);
        assert_eq!(l.rewrite(&mut json!({ "text": "hi" }), "p1", 7), 0);
    }
}
