//! Who is calling, as authentication found out: the name recorded as the actor, and the pages
//! their key or certificate may act on.

use tonic::Request;

use crate::domain::event::EventFilter;
use crate::domain::notification::Actor;
use crate::error::{Error, Reason, Result};

/// What a caller proved who they are with, so a long call (an event stream) can check again
/// that it still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// An API key, by id.
    Key(String),
    /// A console session of a key, by the SHA-256 of its id.
    Session { id_sha256: String, expires_ms: i64 },
    /// A verified client certificate (valid for the connection's life).
    Certificate,
    /// Nobody: the sandbox.
    Sandbox,
}

/// The caller of one RPC, put in the request's extensions by the authentication layer.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    actor: Actor,
    /// The pages the caller may act on; `None`: every page.
    pages: Option<Vec<String>>,
    credential: Credential,
}

impl Caller {
    /// A caller named `actor`, limited to `pages` when given (no credential: the sandbox's).
    pub(crate) fn new(actor: Actor, pages: Option<Vec<String>>) -> Self {
        Self {
            actor,
            pages,
            credential: Credential::Sandbox,
        }
    }

    /// This caller, proved by `credential`.
    pub(crate) fn with(mut self, credential: Credential) -> Self {
        self.credential = credential;
        self
    }

    /// What the caller proved who they are with.
    pub(crate) fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The caller of `req`, as the authorisation layer put it there. Without one (a call that
    /// somehow bypassed the layer) the caller may act on no page at all.
    pub(crate) fn of<T>(req: &Request<T>) -> Self {
        req.extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(|| Self::new(Actor::named("unauthenticated"), Some(Vec::new())))
    }

    /// Who the caller is.
    pub(crate) fn actor(&self) -> &Actor {
        &self.actor
    }

    /// PERMISSION_DENIED unless the caller may act on `page_id`.
    pub(crate) fn may_act_on(&self, page_id: &str) -> Result<()> {
        match &self.pages {
            Some(pages) if !pages.iter().any(|p| p == page_id) => Err(Error::PermissionDenied {
                reason: Reason::PageNotAllowed,
                message: format!("this API key may not act on page {page_id}"),
                metadata: vec![("page_id".into(), page_id.to_string())],
            }),
            _ => Ok(()),
        }
    }

    /// `hidden()` unless the caller may act on `page_id`: a resource named by its id on a page
    /// the caller may not see answers exactly as one that does not exist (AIP-211), so ids
    /// tell nothing about other pages.
    pub(crate) fn may_see(&self, page_id: &str, hidden: impl FnOnce() -> Error) -> Result<()> {
        self.may_act_on(page_id).map_err(|_| hidden())
    }

    /// Limits an event filter to the caller's pages; asking for another page is refused.
    pub(crate) fn restrict(&self, mut filter: EventFilter) -> Result<EventFilter> {
        let Some(allowed) = &self.pages else {
            return Ok(filter);
        };
        filter.page_ids = Some(match filter.page_ids.take() {
            None => allowed.clone(),
            Some(asked) => {
                for p in &asked {
                    self.may_act_on(p)?;
                }
                asked
            }
        });
        Ok(filter)
    }
}
