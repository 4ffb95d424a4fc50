//! API keys: `otn_<key id>_<secret>`, random; only the SHA-256 of the secret is stored, and a
//! presented secret is compared with it in constant time. Keys carry 256 random bits, so a
//! plain hash is as strong as a slow one here and costs nothing per call.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scopes::Scope;

/// A stored key: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRecord {
    pub(crate) name: String,
    pub(crate) key_id: String,
    pub(crate) secret_sha256: String,
    pub(crate) scopes: Vec<Scope>,
    /// The pages it may act on; `None`: every page.
    pub(crate) pages: Option<Vec<String>>,
    pub(crate) created_ms: i64,
    pub(crate) last_used_ms: Option<i64>,
    pub(crate) expires_ms: Option<i64>,
    pub(crate) revoked_ms: Option<i64>,
}

impl KeyRecord {
    /// Whether the key may be used at `now_ms`.
    pub(crate) fn live(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| e > now_ms)
    }
}

/// A key as presented: its id and secret.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Presented<'a> {
    pub(crate) key_id: &'a str,
    secret: &'a str,
}

/// A new random key: (the key to hand out once, its id, the SHA-256 of its secret).
pub(crate) fn generate() -> (String, String, String) {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let (id, secret) = (hex::encode(id), hex::encode(secret));
    let hash = sha256(&secret);
    (format!("otn_{id}_{secret}"), id, hash)
}

fn sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits a presented key; `None` when it is not shaped like one.
pub(crate) fn parse(key: &str) -> Option<Presented<'_>> {
    let rest = key.strip_prefix("otn_")?;
    let (key_id, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(key_id, 12) && hex(secret, 64)).then_some(Presented { key_id, secret })
}

/// Whether `presented` is the key `record` was made for (constant time over the hashes).
pub(crate) fn matches(presented: &Presented<'_>, record: &KeyRecord) -> bool {
    let given = sha256(presented.secret);
    bool::from(given.as_bytes().ct_eq(record.secret_sha256.as_bytes()))
}

/// Names are what every notification and event records as its actor: short, plain, and not
/// one of the service's own actors.
pub(crate) fn valid_name(name: &str) -> Result<(), String> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let first = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if !(1..=64).contains(&name.len()) || !plain || !first {
        return Err(format!(
            "key name {name:?}: 1 to 64 of a-z 0-9 . _ -, starting with a letter or digit"
        ));
    }
    if ["meta", "sandbox", "otn"].contains(&name) {
        return Err(format!("key name {name:?} is reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: String) -> KeyRecord {
        KeyRecord {
            name: "inventory".into(),
            key_id: "abc".into(),
            secret_sha256: hash,
            scopes: vec![Scope::Send],
            pages: None,
            created_ms: 0,
            last_used_ms: None,
            expires_ms: None,
            revoked_ms: None,
        }
    }

    #[test]
    fn a_generated_key_matches_only_its_own_record() {
        let (key, id, hash) = generate();
        let p = parse(&key).expect("well formed");
        assert_eq!(p.key_id, id);
        assert!(matches(&p, &record(hash.clone())));
        assert!(!key.contains(&hash), "the stored hash is not in the key");
        let (other, _, _) = generate();
        assert!(!matches(&parse(&other).unwrap(), &record(hash)));
        assert!(parse("not-a-real-key").is_none());
        assert!(parse("otn_zz_00").is_none());
    }

    #[test]
    fn revoked_and_expired_keys_are_not_live() {
        let mut r = record(String::new());
        assert!(r.live(10));
        r.expires_ms = Some(10);
        assert!(r.live(9) && !r.live(10));
        r.expires_ms = None;
        r.revoked_ms = Some(1);
        assert!(!r.live(0));
    }

    #[test]
    fn names_are_plain_and_not_reserved() {
        assert!(valid_name("inventory-svc.prod_1").is_ok());
        for bad in [
            "",
            "Inventory",
            "a b",
            "-x",
            "meta",
            "sandbox",
            &"x".repeat(65),
        ] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
    }
}
