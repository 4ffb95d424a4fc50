//! Browser sessions obtained with an API key: a token `key_id.expiry_ms.hex(HMAC-SHA256)`
//! keyed by the key record's stored secret hash, so any replica verifies it by looking the key
//! up, no server secret is shared, and revoking the key ends its sessions.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::authn::Authenticator;
use super::caller::Caller;
use super::keys::KeyRecord;
use super::scopes::Scope;
use crate::domain::notification::Actor;
use crate::error::{Error, Reason, Result};

/// The name of the session cookie.
pub(crate) const COOKIE: &str = "otn_session";

/// How long a session lasts at most (never past its key's own expiry).
pub(crate) const LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

/// A session just opened: the cookie's value and when it expires.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) expires_ms: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

fn mac(record: &KeyRecord, expiry_ms: i64) -> Hmac<Sha256> {
    // An HMAC takes a key of any length: the stored hex digest is used as it is.
    let mut mac = Hmac::<Sha256>::new_from_slice(record.secret_sha256.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("{}|{expiry_ms}", record.key_id).as_bytes());
    mac
}

/// The token of a session of `record`'s key that expires at `expiry_ms`.
fn sign(record: &KeyRecord, expiry_ms: i64) -> String {
    let tag = hex::encode(mac(record, expiry_ms).finalize().into_bytes());
    format!("{}.{expiry_ms}.{tag}", record.key_id)
}

/// A token as presented: key id, expiry and tag; `None` when it is not shaped like one.
fn parse(token: &str) -> Option<(&str, i64, Vec<u8>)> {
    let mut parts = token.split('.');
    let (id, expiry, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let plain =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.next().is_some() || !plain(id) || tag.len() != 64 {
        return None;
    }
    Some((id, expiry.parse().ok()?, hex::decode(tag).ok()?))
}

/// Whether `tag` is the signature of a session of `record` expiring at `expiry_ms` that is
/// still valid at `now_ms` (constant time over the tag).
fn valid(record: &KeyRecord, expiry_ms: i64, tag: &[u8], now_ms: i64) -> bool {
    let signed = mac(record, expiry_ms).verify_slice(tag).is_ok();
    signed && expiry_ms > now_ms && record.live(now_ms)
}

fn caller_of(record: &KeyRecord) -> (Caller, Vec<Scope>) {
    let caller = Caller::new(Actor::named(&record.name), record.pages.clone());
    (caller, record.scopes.clone())
}

/// Opens a session with the API key of an `authorization: Bearer <API key>` value.
pub(crate) async fn open(
    authn: &Authenticator,
    authorization: &str,
    now_ms: i64,
) -> Result<(Session, Caller, Vec<Scope>)> {
    let record = authn.bearer_key(authorization).await?;
    let expires_ms = record
        .expires_ms
        .map_or(now_ms + LIFETIME_MS, |e| e.min(now_ms + LIFETIME_MS));
    let session = Session {
        token: sign(&record, expires_ms),
        expires_ms,
    };
    let (caller, scopes) = caller_of(&record);
    Ok((session, caller, scopes))
}

/// The caller and scopes of a session token, or UNAUTHENTICATED when it is malformed,
/// forged, expired, or its key is unknown, revoked or expired.
pub(crate) async fn verify(
    authn: &Authenticator,
    token: &str,
    now_ms: i64,
) -> Result<(Caller, Vec<Scope>)> {
    let invalid = || Error::Unauthenticated {
        reason: Reason::ApiKeyInvalid,
        message: "the session is invalid or has expired: sign in again with an API key".into(),
    };
    let (key_id, expiry_ms, tag) = parse(token).ok_or_else(invalid)?;
    match authn.key_record(key_id).await? {
        Some(r) if valid(&r, expiry_ms, &tag, now_ms) => Ok(caller_of(&r)),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> KeyRecord {
        KeyRecord {
            name: "dashboard".into(),
            key_id: "0123456789ab".into(),
            secret_sha256: "ab".repeat(32),
            scopes: vec![Scope::Read],
            pages: None,
            created_ms: 0,
            last_used_ms: None,
            expires_ms: None,
            revoked_ms: None,
        }
    }

    fn check(r: &KeyRecord, token: &str, now: i64) -> bool {
        parse(token).is_some_and(|(id, exp, tag)| id == r.key_id && valid(r, exp, &tag, now))
    }

    #[test]
    fn a_signed_session_is_valid_until_it_expires() {
        let r = record();
        let token = sign(&r, 1_000);
        assert!(token.starts_with("0123456789ab.1000."));
        assert!(check(&r, &token, 999));
        assert!(!check(&r, &token, 1_000), "expired at its expiry");
    }

    #[test]
    fn a_tampered_or_foreign_session_is_refused() {
        let r = record();
        let token = sign(&r, 5_000);
        let longer = token.replace(".5000.", ".9000.");
        assert!(!check(&r, &longer, 0), "expiry changed");
        let other = KeyRecord {
            secret_sha256: "cd".repeat(32),
            ..record()
        };
        assert!(!check(&other, &token, 0), "another secret");
        for bad in ["", "x.y.z", "0123456789ab.5000", &format!("{token}.x")] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn revoking_the_key_ends_its_sessions() {
        let mut r = record();
        let token = sign(&r, 5_000);
        r.revoked_ms = Some(1);
        assert!(!check(&r, &token, 2));
        let mut r = record();
        r.expires_ms = Some(100);
        assert!(!check(&r, &sign(&r, 5_000), 200), "the key expired");
    }

    #[test]
    fn a_session_hides_its_token_from_debug() {
        let s = Session {
            token: "secret-token".into(),
            expires_ms: 1,
        };
        assert!(!format!("{s:?}").contains("secret-token"));
    }
}
