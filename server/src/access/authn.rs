//! Authentication of one call: the bearer API key (looked up by id, cached for a few seconds so
//! a revocation reaches every replica that soon), or a verified client certificate, or — only
//! in the sandbox — nobody; then the scope the method needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::caller::Caller;
use super::keys::{self, KeyRecord};
use super::scopes::Scope;
use crate::clock::SharedClock;
use crate::config::ClientIdentity;
use crate::domain::notification::Actor;
use crate::error::{Error, Reason, Result};
use crate::store::Store;

/// Cached lookups kept at most (cleared when full; bad keys cannot grow it without bound).
const CACHE_MAX: usize = 10_000;

/// Who a client certificate is.
#[derive(Debug, Clone)]
struct CertCaller {
    scopes: Vec<Scope>,
    pages: Option<Vec<String>>,
}

/// The authenticator of one process.
#[derive(Debug)]
pub(crate) struct Authenticator {
    store: Store,
    clock: SharedClock,
    sandbox: bool,
    certs: HashMap<String, CertCaller>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Option<KeyRecord>, Instant)>>,
}

fn unauthenticated(reason: Reason, message: &str) -> Error {
    Error::Unauthenticated {
        reason,
        message: message.into(),
    }
}

impl Authenticator {
    /// Keys from `store`, trusted for `ttl` between lookups; client certificates by common
    /// name; unauthenticated calls accepted only when `sandbox`.
    pub(crate) fn new(
        store: Store,
        clock: SharedClock,
        sandbox: bool,
        identities: &[ClientIdentity],
        ttl: Duration,
    ) -> std::result::Result<Self, String> {
        let mut certs = HashMap::new();
        for id in identities {
            let scopes = id
                .scopes
                .iter()
                .map(|s| Scope::parse(s))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| format!("configuration: tls client {}: {e}", id.common_name))?;
            let caller = CertCaller {
                scopes,
                pages: id.pages.clone(),
            };
            certs.insert(id.common_name.clone(), caller);
        }
        Ok(Self {
            store,
            clock,
            sandbox,
            certs,
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The caller of a call to `method` with this `authorization` header value and verified
    /// client certificate common name, if it may make that call.
    pub(crate) async fn authorize(
        &self,
        method: &str,
        authorization: Option<&str>,
        cert_cn: Option<&str>,
    ) -> Result<Caller> {
        // Who first: a call without a key is UNAUTHENTICATED whatever it asks for.
        let (caller, scopes) = self.authenticate(authorization, cert_cn).await?;
        let Some(scope) = super::scopes::scope_of(method) else {
            return Err(Error::Unimplemented(
                "NotificationService has no such method".into(),
            ));
        };
        if !scopes.contains(&scope) {
            return Err(Error::PermissionDenied {
                reason: Reason::ScopeMissing,
                message: format!("{method} needs the {} scope", scope.as_str()),
                metadata: vec![("scope".into(), scope.as_str().into())],
            });
        }
        Ok(caller)
    }

    /// The caller and scopes of a call: its bearer API key, else its client certificate, else
    /// — only in the sandbox — nobody. (The console's HTTP endpoints use it too.)
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&str>,
        cert_cn: Option<&str>,
    ) -> Result<(Caller, Vec<Scope>)> {
        if let Some(value) = authorization {
            let record = self.bearer_key(value).await?;
            let caller = Caller::new(Actor::named(&record.name), record.pages.clone());
            return Ok((caller, record.scopes));
        }
        if let Some(cn) = cert_cn
            && let Some(c) = self.certs.get(cn)
        {
            let caller = Caller::new(Actor::named(format!("cert:{cn}")), c.pages.clone());
            return Ok((caller, c.scopes.clone()));
        }
        if self.sandbox {
            return Ok((Caller::new(Actor::sandbox(), None), Scope::ALL.to_vec()));
        }
        Err(unauthenticated(
            Reason::ApiKeyMissing,
            "no API key: send 'authorization: Bearer <API key>' (create one with otn-server api-key create)",
        ))
    }

    /// The live key of an `authorization: Bearer <API key>` value, or UNAUTHENTICATED.
    pub(crate) async fn bearer_key(&self, authorization: &str) -> Result<KeyRecord> {
        let key = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                unauthenticated(
                    Reason::ApiKeyInvalid,
                    "authorization must be 'Bearer <API key>'",
                )
            })?;
        self.key(key).await
    }

    /// The stored key with id `key_id`, live or not, trusted for the cache's time.
    pub(crate) async fn key_record(&self, key_id: &str) -> Result<Option<KeyRecord>> {
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(key_id)
                .filter(|(_, at)| at.elapsed() < self.ttl)
                .map(|(r, _)| r.clone())
        };
        if let Some(r) = cached {
            return Ok(r);
        }
        let r = self.store.api_key(key_id).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key_id.to_string(), (r.clone(), Instant::now()));
        if r.is_some() {
            self.touch(key_id);
        }
        Ok(r)
    }

    /// The live key `key`, or UNAUTHENTICATED.
    async fn key(&self, key: &str) -> Result<KeyRecord> {
        let invalid =
            || unauthenticated(Reason::ApiKeyInvalid, "the API key is unknown or revoked");
        let presented = keys::parse(key).ok_or_else(invalid)?;
        let record = self.key_record(presented.key_id).await?;
        match record {
            Some(r) if keys::matches(&presented, &r) && r.live(self.clock.now_ms()) => Ok(r),
            _ => Err(invalid()),
        }
    }

    /// Notes the key's use in the background (never on the call's path).
    fn touch(&self, key_id: &str) {
        let (store, id, now) = (self.store.clone(), key_id.to_string(), self.clock.now_ms());
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(&id, now).await {
                tracing::debug!(error = %e, "could not note an API key's last use");
            }
        });
    }
}
