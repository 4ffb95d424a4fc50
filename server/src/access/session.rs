//! Browser sessions obtained with an API key: an opaque random id in an HttpOnly cookie, of
//! which the database keeps only the SHA-256 (as for API keys), so no reader of the database —
//! a backup, a replica — can mint one; at most [`LIFETIME_MS`] long, never past the key's own
//! expiry, and ended by revoking the key or signing out. Each session has a CSRF token derived
//! from its id, which every state-changing console request must carry.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::authn::Authenticator;
use super::caller::{Caller, Credential};
use super::scopes::Scope;
use crate::domain::notification::Actor;
use crate::error::{Error, Reason, Result};

/// The name of the session cookie.
pub(crate) const COOKIE: &str = "otn_session";

/// How long a session lasts at most (never past its key's own expiry): 12 hours.
pub(crate) const LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

/// A session just opened: the cookie's value, its CSRF token and when it expires.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) csrf: String,
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

/// The stored form of a session id.
pub(crate) fn id_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from its id (which only the browser holds, in an
/// HttpOnly cookie), so it needs no storage, and the stored hash does not reveal it.
pub(crate) fn csrf_token(token: &str) -> String {
    hex::encode(Sha256::digest(format!("otn-csrf\0{token}").as_bytes()))
}

/// Whether `given` is the CSRF token of the session `token` (constant time).
pub(crate) fn csrf_matches(token: &str, given: &str) -> bool {
    bool::from(csrf_token(token).as_bytes().ct_eq(given.as_bytes()))
}

/// A session id as presented: 64 hex digits (256 random bits); `None` otherwise.
fn well_formed(token: &str) -> Option<&str> {
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())).then_some(token)
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
    let mut id = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    let token = hex::encode(id);
    let hash = id_hash(&token);
    authn
        .store()
        .insert_session(&hash, &record.key_id, now_ms, expires_ms)
        .await?;
    let caller =
        Caller::new(Actor::named(&record.name), record.pages.clone()).with(Credential::Session {
            id_sha256: hash,
            expires_ms,
        });
    let session = Session {
        csrf: csrf_token(&token),
        token,
        expires_ms,
    };
    Ok((session, caller, record.scopes))
}

/// Ends the session `token` (sign-out): it is refused from now on, on every replica within
/// `api_key_cache_ms`.
pub(crate) async fn close(authn: &Authenticator, token: &str) -> Result<()> {
    match well_formed(token) {
        Some(t) => authn.end_session(&id_hash(t)).await,
        None => Ok(()),
    }
}

/// The caller and scopes of a session token, or UNAUTHENTICATED when it is malformed, unknown,
/// expired, or its key is unknown, revoked or expired.
pub(crate) async fn verify(
    authn: &Authenticator,
    token: &str,
    now_ms: i64,
) -> Result<(Caller, Vec<Scope>)> {
    let invalid = || Error::Unauthenticated {
        reason: Reason::ApiKeyInvalid,
        message: "the session is invalid or has expired: sign in again with an API key".into(),
    };
    let token = well_formed(token).ok_or_else(invalid)?;
    let hash = id_hash(token);
    let Some((key_id, expires_ms)) = authn.session(&hash, None).await? else {
        return Err(invalid());
    };
    match authn.key_record(&key_id, None).await? {
        Some(r) if expires_ms > now_ms && r.live(now_ms) => {
            let caller =
                Caller::new(Actor::named(&r.name), r.pages.clone()).with(Credential::Session {
                    id_sha256: hash,
                    expires_ms,
                });
            Ok((caller, r.scopes))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_reveals_neither_the_session_nor_its_csrf_token() {
        let token = "ab".repeat(32);
        let hash = id_hash(&token);
        assert_ne!(hash, token);
        assert_ne!(csrf_token(&token), hash);
        assert!(csrf_matches(&token, &csrf_token(&token)));
        assert!(!csrf_matches(&token, &csrf_token(&"cd".repeat(32))));
        assert!(!csrf_matches(&token, ""));
    }

    #[test]
    fn only_well_formed_session_ids_are_looked_up() {
        assert!(well_formed(&"0f".repeat(32)).is_some());
        for bad in [
            "",
            "x.y.z",
            &"0f".repeat(31),
            &"zz".repeat(32),
            &"0f".repeat(33),
        ] {
            assert!(well_formed(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_session_hides_its_token_from_debug() {
        let s = Session {
            token: "secret-token".into(),
            csrf: "c".into(),
            expires_ms: 1,
        };
        assert!(!format!("{s:?}").contains("secret-token"));
    }
}
