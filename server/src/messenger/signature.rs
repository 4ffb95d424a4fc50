//! `X-Hub-Signature-256` verification over the raw body, in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header value Meta would send for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body` under any of `secrets`.
pub fn verify<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    header: Option<&str>,
    body: &[u8],
) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    let mut ok = false;
    for secret in secrets {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        ok |= bool::from(expected.as_slice().ct_eq(&given));
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_over_the_same_bytes_and_secret() {
        let body = br#"{"object":"page","entry":[]}"#;
        let sig = sign("s3cret", body);
        assert!(verify(["other", "s3cret"], Some(&sig), body));
        assert!(!verify(["other"], Some(&sig), body));
        assert!(!verify(
            ["s3cret"],
            Some(&sig),
            br#"{"object": "page", "entry": []}"#
        ));
        assert!(!verify(["s3cret"], None, body));
        assert!(!verify(["s3cret"], Some("sha1=abc"), body));
    }
}
