//! The politeness gate of a claim: a page's due queued deliveries are looked at once more when
//! they are claimed, under the page row's lock (so claims of one page, on any replica, take
//! turns and no two let one person past their cap). A delivery whose person is at the cap
//! (their notifications sent in the window, and those being sent right now, this claim's
//! included) or inside their quiet hours is not claimed: its not-before time moves to when it
//! may go, and a DEFERRED event says why. The rest are claimed as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::codes::Code;
use super::deliveries::{event_of, returning};
use super::notifications::polite_of;
use super::schema::{Deliveries, Notifications};
use super::{Store, WriteTxn, events};
use crate::domain::polite::{Gate, Polite};
use crate::domain::vocab::{DeliveryState, EventKind};
use crate::error::Result;

/// Notifications' politeness, which never changes once a notification is made: read once per
/// process (bounded; cleared when full).
#[derive(Debug, Clone, Default)]
pub(crate) struct PoliteCache(Arc<Mutex<HashMap<String, Arc<Polite>>>>);

const CACHE_MAX: usize = 10_000;

impl PoliteCache {
    fn get(&self, id: &str) -> Option<Arc<Polite>> {
        self.0.lock().ok()?.get(id).cloned()
    }

    fn put(&self, id: String, p: Polite) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= CACHE_MAX {
                m.clear();
            }
            m.insert(id, Arc::new(p));
        }
    }
}

#[derive(FromQueryResult)]
struct DueRow {
    id: i64,
    psid: String,
    notification_id: String,
    quiet_zone: Option<String>,
}

impl Store {
    /// The politeness of these notifications.
    async fn polite_of(
        &self,
        w: &WriteTxn<'_>,
        ids: &[&str],
    ) -> Result<HashMap<String, Arc<Polite>>> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            match self.polite_cache.get(id) {
                Some(p) => {
                    out.insert(id.to_string(), p);
                }
                None => missing.push(id.to_string()),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let q = Query::select()
            .columns([Notifications::Id, Notifications::Polite])
            .from(Notifications::Table)
            .and_where(Expr::col(Notifications::Id).is_in(missing))
            .to_owned();
        for r in w.txn().query_all(&q).await? {
            let id: String = r.try_get("", "id")?;
            let p = polite_of(r.try_get::<Option<String>>("", "polite")?.as_deref());
            self.polite_cache.put(id.clone(), p.clone());
            out.insert(id, Arc::new(p));
        }
        Ok(out)
    }

    /// Picks up to `want` of the page's due queued deliveries (skipping those another claim
    /// holds), defers those the politeness gate holds back at `now_ms`, and returns the ids
    /// left to claim, in due order.
    pub(super) async fn gate_due(
        &self,
        w: &mut WriteTxn<'_>,
        page_id: &str,
        want: u64,
        now_ms: i64,
    ) -> Result<Vec<i64>> {
        let pick = Query::select()
            .columns([
                Deliveries::Id,
                Deliveries::Psid,
                Deliveries::NotificationId,
                Deliveries::QuietZone,
            ])
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::PageId).eq(page_id))
            // A literal, so the partial due index serves every run of it.
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.literal()))
            .and_where(Expr::col(Deliveries::NextAttemptAt).lte(now_ms))
            .order_by(Deliveries::NextAttemptAt, Order::Asc)
            .order_by(Deliveries::Id, Order::Asc)
            .limit(want)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let due = DueRow::find_by_statement(self.db().get_database_backend().build(&pick))
            .all(w.txn())
            .await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<&str> = due.iter().map(|d| d.notification_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let polite = self.polite_of(w, &ids).await?;
        let rules = |d: &DueRow| polite.get(&d.notification_id).filter(|p| p.active());
        if !due.iter().any(|d| rules(d).is_some()) {
            return Ok(due.iter().map(|d| d.id).collect());
        }
        // What the caps count: sends in the longest window of this batch, and sends in flight.
        let longest = due
            .iter()
            .filter_map(|d| rules(d).and_then(|p| p.cap))
            .map(|c| c.window_ms)
            .max();
        let mut times: HashMap<String, Vec<i64>> = HashMap::new();
        if let Some(window) = longest {
            let mut psids: Vec<String> = due
                .iter()
                .filter(|d| rules(d).is_some_and(|p| p.cap.is_some()))
                .map(|d| d.psid.clone())
                .collect();
            psids.sort_unstable();
            psids.dedup();
            // In flight first: one that finishes between the two reads is counted twice (a
            // delivery waits a little longer), never missed.
            let sending = Query::select()
                .column(Deliveries::Psid)
                .from(Deliveries::Table)
                .and_where(Expr::col(Deliveries::PageId).eq(page_id))
                .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Sending.literal()))
                .to_owned();
            for r in w.txn().query_all(&sending).await? {
                let psid: String = r.try_get("", "psid")?;
                if psids.binary_search(&psid).is_ok() {
                    times.entry(psid).or_default().push(now_ms);
                }
            }
            for part in psids.chunks(500) {
                let sent = Query::select()
                    .columns([Deliveries::Psid, Deliveries::SentAt])
                    .from(Deliveries::Table)
                    .and_where(Expr::col(Deliveries::PageId).eq(page_id))
                    .and_where(Expr::col(Deliveries::Psid).is_in(part.iter().cloned()))
                    .and_where(Expr::col(Deliveries::SentAt).gt(now_ms - window))
                    .to_owned();
                for r in w.txn().query_all(&sent).await? {
                    times
                        .entry(r.try_get("", "psid")?)
                        .or_default()
                        .push(r.try_get("", "sent_at")?);
                }
            }
        }
        let mut claim = Vec::with_capacity(due.len());
        let mut held: Vec<(i64, i64, String)> = Vec::new();
        for d in &due {
            let Some(p) = rules(d) else {
                claim.push(d.id);
                continue;
            };
            let mine = times.entry(d.psid.clone()).or_default();
            let seen: Vec<i64> = match p.cap {
                Some(cap) => mine
                    .iter()
                    .copied()
                    .filter(|t| *t > now_ms - cap.window_ms)
                    .collect(),
                None => Vec::new(),
            };
            match p.not_before(d.quiet_zone.as_deref(), &seen, now_ms) {
                Gate::Defer(x) => held.push((d.id, x.until_ms, x.rule)),
                _ => {
                    // Claimed now: the person's next delivery in this batch counts it.
                    mine.push(now_ms);
                    claim.push(d.id);
                }
            }
        }
        if !held.is_empty() {
            self.defer(w, &held, now_ms).await?;
        }
        Ok(claim)
    }

    /// Moves the not-before time of queued deliveries `(id, until, rule)` and appends their
    /// DEFERRED events.
    async fn defer(
        &self,
        w: &mut WriteTxn<'_>,
        held: &[(i64, i64, String)],
        now_ms: i64,
    ) -> Result<()> {
        let mut case = sea_orm::sea_query::CaseStatement::new();
        for (id, until, _) in held {
            case = case.case(
                Expr::col(Deliveries::Id).eq(*id),
                Expr::val(Value::from(*until)),
            );
        }
        let update = Query::update()
            .table(Deliveries::Table)
            .value(Deliveries::NextAttemptAt, case)
            .and_where(Expr::col(Deliveries::Id).is_in(held.iter().map(|h| h.0)))
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
            .returning(returning())
            .to_owned();
        let by_id: HashMap<i64, (i64, &str)> = held
            .iter()
            .map(|(id, until, rule)| (*id, (*until, rule.as_str())))
            .collect();
        let mut evs = Vec::with_capacity(held.len());
        for r in w.txn().query_all(&update).await? {
            let mut ev = event_of(&r, EventKind::Deferred)?;
            if let Some((until, rule)) = ev.delivery_id.and_then(|i| by_id.get(&i)) {
                ev.rule = Some(rule.to_string());
                ev.not_before_ms = Some(*until);
            }
            evs.push(ev);
        }
        events::append(w, evs, now_ms).await?;
        Ok(())
    }
}
