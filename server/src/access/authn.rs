//! Authentication of one call: the bearer API key (looked up by id, cached for a few seconds so
//! a revocation reaches every replica that soon), or a verified client certificate, or — only
//! in the sandbox — nobody; then the scope the method needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::caller::{Caller, Credential};
use super::keys::{self, KeyRecord};
use super::scopes::Scope;
use crate::clock::SharedClock;
use crate::config::ClientIdentity;
use crate::domain::notification::Actor;
use crate::error::{Error, Reason, Result};
use crate::store::Store;

/// Cached lookups kept at most, per cache.
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
    cache: Cache<KeyRecord>,
    sessions: Cache<(String, i64)>,
}

/// Lookups by id, each trusted for a while; at most [`CACHE_MAX`] (cleared when full, so bad
/// ids cannot grow it without bound).
#[derive(Debug)]
struct Cache<T>(Mutex<HashMap<String, (Option<T>, Instant)>>);

impl<T: Clone> Cache<T> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn get(&self, id: &str, max_age: Duration) -> Option<Option<T>> {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(id)
            .filter(|(_, at)| at.elapsed() < max_age)
            .map(|(r, _)| r.clone())
    }

    fn put(&self, id: &str, value: Option<T>) {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(id.to_string(), (value, Instant::now()));
    }

    fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
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
            cache: Cache::new(),
            sessions: Cache::new(),
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
            let caller = Caller::new(Actor::named(&record.name), record.pages.clone())
                .with(Credential::Key(record.key_id.clone()));
            return Ok((caller, record.scopes));
        }
        if let Some(cn) = cert_cn
            && let Some(c) = self.certs.get(cn)
        {
            let caller = Caller::new(Actor::named(format!("cert:{cn}")), c.pages.clone())
                .with(Credential::Certificate);
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

    /// The stored key with id `key_id`, live or not, as looked up at most `max_age` ago
    /// (default: `api_key_cache_ms`).
    pub(crate) async fn key_record(
        &self,
        key_id: &str,
        max_age: Option<Duration>,
    ) -> Result<Option<KeyRecord>> {
        if let Some(r) = self.cache.get(key_id, max_age.unwrap_or(self.ttl)) {
            return Ok(r);
        }
        let r = self.store.api_key(key_id).await?;
        self.cache.put(key_id, r.clone());
        if r.is_some() {
            self.touch(key_id);
        }
        Ok(r)
    }

    /// The key id and expiry of the console session whose id hashes to `id_sha256`, as looked
    /// up at most `max_age` ago (default: `api_key_cache_ms`).
    pub(crate) async fn session(
        &self,
        id_sha256: &str,
        max_age: Option<Duration>,
    ) -> Result<Option<(String, i64)>> {
        if let Some(s) = self.sessions.get(id_sha256, max_age.unwrap_or(self.ttl)) {
            return Ok(s);
        }
        let s = self.store.session(id_sha256).await?;
        self.sessions.put(id_sha256, s.clone());
        Ok(s)
    }

    /// Ends a console session (other replicas refuse it within `api_key_cache_ms`).
    pub(crate) async fn end_session(&self, id_sha256: &str) -> Result<()> {
        self.store.delete_session(id_sha256).await?;
        self.sessions.forget(id_sha256);
        Ok(())
    }

    /// Whether `credential` still holds now: its key is live, its session open. A caller that
    /// keeps a call open (an event stream) is checked with this every half `api_key_cache_ms`,
    /// with lookups at most that old, so a revocation ends it within `api_key_cache_ms`.
    pub(crate) async fn still_valid(&self, credential: &Credential) -> Result<bool> {
        let max_age = Some(self.recheck_every());
        let now = self.clock.now_ms();
        Ok(match credential {
            Credential::Key(id) => self
                .key_record(id, max_age)
                .await?
                .is_some_and(|r| r.live(now)),
            Credential::Session {
                id_sha256,
                expires_ms,
            } => {
                let key = match self.session(id_sha256, max_age).await? {
                    Some((key, _)) if *expires_ms > now => key,
                    _ => return Ok(false),
                };
                self.key_record(&key, max_age)
                    .await?
                    .is_some_and(|r| r.live(now))
            }
            Credential::Certificate | Credential::Sandbox => true,
        })
    }

    /// How often an open call checks that its caller's credential still holds.
    pub(crate) fn recheck_every(&self) -> Duration {
        (self.ttl / 2).max(Duration::from_millis(10))
    }

    /// The store the keys and sessions are in.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The live key `key`, or UNAUTHENTICATED.
    async fn key(&self, key: &str) -> Result<KeyRecord> {
        let invalid =
            || unauthenticated(Reason::ApiKeyInvalid, "the API key is unknown or revoked");
        let presented = keys::parse(key).ok_or_else(invalid)?;
        let record = self.key_record(presented.key_id, None).await?;
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
