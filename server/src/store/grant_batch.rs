//! Recording many opt-ins in one transaction with multi-row statements (group commit): the
//! people, the topics (cached: topics are never deleted), the grants, the early STOPs and the
//! events, about six round trips for the whole batch. The idempotency and conflict rules are
//! those of one opt-in: a token already recorded for the same person, page, topic and kind is a
//! replay, for anyone else a conflict.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::codes::Code;
use super::schema::{Erasures, Grants, Recipients, TokenStatuses, Topics};
use super::{Store, events};
use crate::domain::erasure;
use crate::domain::event::NewEvent;
use crate::domain::grant::{GrantView, NewGrant};
use crate::domain::notification::Actor;
use crate::domain::vocab::{EventKind, GrantState};
use crate::error::{Error, Reason, Result};

/// Topic row ids by (page, key). Topics are never deleted, so an id once known stays right.
#[derive(Debug, Default, Clone)]
pub(crate) struct TopicIds(Arc<Mutex<HashMap<(String, String), i64>>>);

impl TopicIds {
    fn get(&self, page: &str, key: &str) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(page.to_string(), key.to_string())).copied()
    }

    fn put(&self, page: String, key: String, id: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert((page, key), id);
    }
}

/// What one opt-in of a batch became.
pub(crate) type Recorded = Result<(GrantView, bool)>;

fn conflict() -> Error {
    Error::AlreadyExists {
        reason: Reason::TokenConflict,
        message: "this token is already recorded for another person, page, topic or kind".into(),
    }
}

fn forgotten_error() -> Error {
    Error::precondition(
        Reason::RecipientForgotten,
        "this person was forgotten (ForgetRecipient) after this opt-in was made",
    )
}

/// A token recorded before: a replay when it is the same consent, else a conflict.
pub(super) fn replay_or_conflict(existing: GrantView, g: &NewGrant) -> Recorded {
    let same = existing.page_id == g.page_id.as_str()
        && existing.psid == g.psid.as_str()
        && existing.topic_key == g.topic_key.as_str()
        && existing.kind == g.kind;
    match same {
        true => Ok((existing, true)),
        false => Err(conflict()),
    }
}

impl Store {
    async fn people(
        &self,
        txn: &DatabaseTransaction,
        batch: &[(NewGrant, Actor)],
        now_ms: i64,
    ) -> Result<HashMap<(String, String), i64>> {
        let mut seen = HashSet::new();
        let mut insert = Query::insert();
        insert
            .into_table(Recipients::Table)
            .columns([Recipients::PageId, Recipients::Psid, Recipients::CreatedAt])
            .on_conflict(
                OnConflict::columns([Recipients::PageId, Recipients::Psid])
                    .update_column(Recipients::PageId)
                    .to_owned(),
            )
            .returning(Query::returning().columns([
                Recipients::Id,
                Recipients::PageId,
                Recipients::Psid,
            ]));
        for (g, _) in batch {
            if seen.insert((g.page_id.as_str(), g.psid.as_str())) {
                insert.values_panic([
                    g.page_id.as_str().into(),
                    g.psid.as_str().into(),
                    now_ms.into(),
                ]);
            }
        }
        let mut ids = HashMap::new();
        for r in txn.query_all(&insert).await? {
            let key = (r.try_get("", "page_id")?, r.try_get("", "psid")?);
            ids.insert(key, r.try_get("", "id")?);
        }
        Ok(ids)
    }

    async fn topics(
        &self,
        txn: &DatabaseTransaction,
        batch: &[(NewGrant, Actor)],
        now_ms: i64,
    ) -> Result<HashMap<(String, String), i64>> {
        let mut ids = HashMap::new();
        let mut missing = HashMap::new();
        for (g, _) in batch {
            let (page, key) = (g.page_id.as_str(), g.topic_key.as_str());
            match self.topic_ids.get(page, key) {
                Some(id) => {
                    ids.insert((page.to_string(), key.to_string()), id);
                }
                None => {
                    missing.insert((page.to_string(), key.to_string()), g.topic_title.clone());
                }
            }
        }
        if missing.is_empty() {
            return Ok(ids);
        }
        // DO NOTHING takes no row lock on a topic that exists: opt-ins of one topic do not
        // queue on each other.
        let mut insert = Query::insert();
        insert
            .into_table(Topics::Table)
            .columns([
                Topics::PageId,
                Topics::TopicKey,
                Topics::Title,
                Topics::CreatedAt,
            ])
            .on_conflict(
                OnConflict::columns([Topics::PageId, Topics::TopicKey])
                    .do_nothing()
                    .to_owned(),
            );
        for ((page, key), title) in &missing {
            insert.values_panic([
                page.clone().into(),
                key.clone().into(),
                title.as_str().into(),
                now_ms.into(),
            ]);
        }
        txn.execute(&insert).await?;
        let keys: Vec<String> = missing.keys().map(|(_, k)| k.clone()).collect();
        let pages: Vec<String> = missing.keys().map(|(p, _)| p.clone()).collect();
        let read = Query::select()
            .columns([Topics::Id, Topics::PageId, Topics::TopicKey])
            .from(Topics::Table)
            .and_where(Expr::col(Topics::PageId).is_in(pages))
            .and_where(Expr::col(Topics::TopicKey).is_in(keys))
            .to_owned();
        for r in txn.query_all(&read).await? {
            let (page, key): (String, String) =
                (r.try_get("", "page_id")?, r.try_get("", "topic_key")?);
            let id: i64 = r.try_get("", "id")?;
            ids.insert((page, key), id);
        }
        Ok(ids)
    }

    /// The opt-ins of `batch` made before their person was forgotten (by index).
    async fn forgotten(
        &self,
        txn: &DatabaseTransaction,
        batch: &[(NewGrant, Actor)],
    ) -> Result<HashSet<usize>> {
        let keys: HashSet<&str> = batch
            .iter()
            .filter_map(|(g, _)| g.erasure_key.as_deref())
            .collect();
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        let pages: HashSet<&str> = batch.iter().map(|(g, _)| g.page_id.as_str()).collect();
        let q = Query::select()
            .columns([Erasures::PageId, Erasures::PersonHmac, Erasures::ErasedAt])
            .from(Erasures::Table)
            .and_where(Expr::col(Erasures::PageId).is_in(pages))
            .and_where(Expr::col(Erasures::PersonHmac).is_in(keys))
            .to_owned();
        let mut erased: HashMap<(String, String), i64> = HashMap::new();
        for r in txn.query_all(&q).await? {
            let key = (r.try_get("", "page_id")?, r.try_get("", "person_hmac")?);
            erased.insert(key, r.try_get("", "erased_at")?);
        }
        Ok(batch
            .iter()
            .enumerate()
            .filter(|(_, (g, _))| {
                g.erasure_key.as_ref().is_some_and(|k| {
                    erased
                        .get(&(g.page_id.to_string(), k.clone()))
                        .is_some_and(|at| erasure::forgotten(g.opted_in_ms, *at))
                })
            })
            .map(|(i, _)| i)
            .collect())
    }

    /// Records a batch of opt-ins in one transaction; one answer per opt-in, in order. An
    /// opt-in made before its person was forgotten is answered RECIPIENT_FORGOTTEN and leaves
    /// no trace (not even the person's row).
    pub(crate) async fn record_grants(
        &self,
        all: &[(NewGrant, Actor)],
        now_ms: i64,
    ) -> Result<Vec<Recorded>> {
        let mut w = self.write().await?;
        let forgotten = self.forgotten(w.txn(), all).await?;
        let live: Vec<(NewGrant, Actor)>;
        let batch = match forgotten.is_empty() {
            true => all,
            false => {
                live = all
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !forgotten.contains(i))
                    .map(|(_, x)| x.clone())
                    .collect();
                &live[..]
            }
        };
        if batch.is_empty() {
            return Ok(all.iter().map(|_| Err(forgotten_error())).collect());
        }
        let people = self.people(w.txn(), batch, now_ms).await?;
        let topics = self.topics(w.txn(), batch, now_ms).await?;
        let mut insert = Query::insert();
        insert
            .into_table(Grants::Table)
            .columns([
                Grants::PageId,
                Grants::RecipientId,
                Grants::TopicId,
                Grants::Kind,
                Grants::Token,
                Grants::Payload,
                Grants::OptedInAt,
                Grants::ExpiresAt,
                Grants::State,
                Grants::StateChangedAt,
                Grants::CreatedAt,
            ])
            .on_conflict(OnConflict::column(Grants::Token).do_nothing().to_owned())
            .returning(Query::returning().columns([Grants::Id, Grants::Token]));
        let key = |g: &NewGrant| (g.page_id.to_string(), g.psid.to_string());
        let topic = |g: &NewGrant| (g.page_id.to_string(), g.topic_key.to_string());
        for (g, _) in batch {
            let (Some(rid), Some(tid)) = (people.get(&key(g)), topics.get(&topic(g))) else {
                return Err(Error::Internal(
                    "a person or topic of the batch vanished".into(),
                ));
            };
            insert.values_panic([
                g.page_id.as_str().into(),
                (*rid).into(),
                (*tid).into(),
                g.kind.code().into(),
                g.token.expose().into(),
                g.payload.clone().into(),
                g.opted_in_ms.into(),
                g.expires_ms.into(),
                GrantState::Active.code().into(),
                g.opted_in_ms.into(),
                now_ms.into(),
            ]);
        }
        let mut new: HashMap<String, i64> = HashMap::new();
        for r in w.txn().query_all(&insert).await? {
            new.insert(r.try_get("", "token")?, r.try_get("", "id")?);
        }
        let stopped = self.early_stops(w.txn(), &new).await?;
        let mut evs = Vec::new();
        let mut claimed: HashSet<&str> = HashSet::new();
        for (g, actor) in batch {
            let token = g.token.expose();
            if let Some(id) = new.get(token).filter(|_| claimed.insert(token)) {
                let mut ev = NewEvent::new(EventKind::OptInRecorded, g.page_id.as_str());
                ev.topic_key = Some(g.topic_key.to_string());
                ev.psid = Some(g.psid.to_string());
                ev.grant_id = Some(*id);
                ev.actor = Some(actor.as_str().to_string());
                evs.push(ev);
            }
        }
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        // Only committed topics are cached: a topic this transaction inserted is gone if it
        // rolled back, and another writer must not reference it before then.
        for ((page, key), id) in topics {
            self.topic_ids.put(page, key, id);
        }
        // Answers: new grants from what was written, the others from what the database holds.
        let mut answered: HashSet<&str> = HashSet::new();
        let mut out = Vec::with_capacity(all.len());
        for (i, (g, _)) in all.iter().enumerate() {
            if forgotten.contains(&i) {
                out.push(Err(forgotten_error()));
                continue;
            }
            let token = g.token.expose();
            match new.get(token) {
                Some(id) if answered.insert(token) => {
                    let state = match stopped.get(id) {
                        Some(_) => GrantState::Stopped,
                        None => GrantState::Active,
                    };
                    out.push(Ok((
                        GrantView {
                            id: *id,
                            page_id: g.page_id.to_string(),
                            psid: g.psid.to_string(),
                            topic_key: g.topic_key.to_string(),
                            kind: g.kind,
                            payload: g.payload.clone(),
                            opted_in_ms: g.opted_in_ms,
                            expires_ms: g.expires_ms,
                            state,
                            state_changed_ms: stopped.get(id).copied().unwrap_or(g.opted_in_ms),
                            revoked_by: None,
                        },
                        false,
                    )));
                }
                _ => out.push(match self.grant_by_token(token).await? {
                    Some(existing) => replay_or_conflict(existing, g),
                    None => Err(Error::Aborted("grant recorded concurrently; retry".into())),
                }),
            }
        }
        Ok(out)
    }

    /// Applies STOPs that arrived before their opt-ins to the grants just recorded (`token` →
    /// id); returns the stopped ones with the time of their STOP.
    async fn early_stops(
        &self,
        txn: &DatabaseTransaction,
        new: &HashMap<String, i64>,
    ) -> Result<HashMap<i64, i64>> {
        if new.is_empty() {
            return Ok(HashMap::new());
        }
        let ts = Alias::new("ts");
        let status = |col: TokenStatuses| {
            Query::select()
                .column((ts.clone(), col))
                .from_as(TokenStatuses::Table, ts.clone())
                .and_where(
                    Expr::col((ts.clone(), TokenStatuses::Token))
                        .equals((Grants::Table, Grants::Token)),
                )
                .and_where(
                    Expr::col((ts.clone(), TokenStatuses::PageId))
                        .equals((Grants::Table, Grants::PageId)),
                )
                .and_where(Expr::col((ts.clone(), TokenStatuses::Stopped)).eq(1))
                .and_where(
                    Expr::col((ts.clone(), TokenStatuses::At))
                        .gte(Expr::col((Grants::Table, Grants::OptedInAt))),
                )
                .to_owned()
        };
        let at = || sea_orm::sea_query::SubQueryStatement::from(status(TokenStatuses::At));
        let stmt = Query::update()
            .table(Grants::Table)
            .value(Grants::State, GrantState::Stopped.code())
            .value(Grants::StateChangedAt, at())
            .value(Grants::StatusAt, at())
            .value(Grants::MetaStopped, 1)
            .and_where(Expr::col(Grants::Id).is_in(new.values().copied()))
            .and_where(Expr::exists(status(TokenStatuses::Token)))
            .returning(Query::returning().columns([Grants::Id, Grants::StateChangedAt]))
            .to_owned();
        let mut out = HashMap::new();
        for r in txn.query_all(&stmt).await? {
            out.insert(r.try_get("", "id")?, r.try_get("", "state_changed_at")?);
        }
        Ok(out)
    }
}
