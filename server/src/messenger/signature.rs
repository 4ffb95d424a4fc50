//! `X-Hub-Signature-256` verification over the raw body, in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

fn mac(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The secret among `secrets` whose signature of `body` is `header`, if any. Every secret is
/// tried, each in constant time, so the answer's timing says nothing about which one matched.
pub(crate) fn signer<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    header: Option<&str>,
    body: &[u8],
) -> Option<&'a str> {
    let given = hex::decode(header?.strip_prefix("sha256=")?.trim()).ok()?;
    let mut found = None;
    for secret in secrets {
        if bool::from(mac(secret, body).as_slice().ct_eq(&given)) {
            found = Some(secret);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        format!("sha256={}", hex::encode(mac(secret, body)))
    }

    #[test]
    fn a_signature_verifies_only_over_the_same_bytes_and_secret() {
        let body = br#"{"object":"page","entry":[]}"#;
        let sig = sign("s3cret", body);
        assert_eq!(
            signer(["other", "s3cret"], Some(&sig), body),
            Some("s3cret")
        );
        assert_eq!(signer(["other"], Some(&sig), body), None);
        assert_eq!(
            signer(
                ["s3cret"],
                Some(&sig),
                br#"{"object": "page", "entry": []}"#
            ),
            None
        );
        assert_eq!(signer(["s3cret"], None, body), None);
        assert_eq!(signer(["s3cret"], Some("sha1=abc"), body), None);
    }
}
