//! Recording send outcomes in batches: one transaction updates many deliveries, their grants,
//! their notifications' pending counts, the receipts and echoes that came first, and appends
//! their events.
//!
//! Correct with any number of replicas recording at once:
//! - an outcome applies only to the claim it was decided for (the delivery still SENDING, with
//!   the same attempt count): a claim another worker took over after its lease lapsed changes
//!   nothing, so each delivery becomes final exactly once;
//! - a notification's `pending` count goes down by the deliveries this transaction made final,
//!   under the notification row's lock, and the transaction that takes it to zero completes it:
//!   exactly once, whichever replica records the last outcome;
//! - receipts, echoes and sends of a person meet on the person's row: this transaction holds it
//!   shared from its start, a receipt or an echo holds it exclusively, so whichever commits
//!   second sees the other (an echo kept while an attempt was in flight is read here).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, LockType, Order, Query, UpdateStatement};
use sea_orm::{ConnectionTrait, Value};

use super::codes::{Code, values};
use super::schema::{Deliveries, Grants, Notifications, Recipients};
use super::{Store, WriteTxn, events};
use crate::domain::event::{Failure, NewEvent};
use crate::domain::evidence::{Echo, wants_echo, with_echo};
use crate::domain::outcome::{self, Claimed, Completed, GrantMove, Outcome};
use crate::domain::vocab::{DeliveryState, EventKind, GrantState, NotificationState};
use crate::error::Result;

/// `CASE id WHEN … THEN … END` over `(id, value)` pairs.
fn by_id(pairs: &[(i64, Value)]) -> Expr {
    let mut case = CaseStatement::new();
    for (id, v) in pairs {
        case = case.case(Expr::col(Deliveries::Id).eq(*id), Expr::val(v.clone()));
    }
    case.into()
}

fn event(c: &Claimed, kind: EventKind) -> NewEvent {
    let mut ev = NewEvent::new(kind, c.page_id.clone());
    ev.topic_key = Some(c.topic_key.clone());
    ev.notification_id = Some(c.notification_id.clone());
    ev.delivery_id = Some(c.id);
    ev.psid = Some(c.psid.clone());
    ev.grant_id = c.grant.as_ref().map(|g| g.id);
    ev.path = Some(c.path);
    ev.rule = Some(c.rule.clone());
    ev.actor = Some(c.actor.clone()).filter(|a| !a.is_empty());
    ev
}

fn json(f: &Failure) -> Value {
    Value::from(serde_json::to_string(f).ok())
}

/// Runs `update … WHERE id IN (ids) AND state = SENDING AND attempts = <the claim's>
/// RETURNING id` for `claims` (id, attempts) and adds the ids it changed to `changed`.
async fn update_claimed(
    w: &WriteTxn<'_>,
    mut update: UpdateStatement,
    claims: &[(i64, i32)],
    changed: &mut HashSet<i64>,
) -> Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let attempts: Vec<(i64, Value)> = claims.iter().map(|(i, a)| (*i, (*a).into())).collect();
    update
        .value(Deliveries::LeaseUntil, Expr::null())
        .and_where(Expr::col(Deliveries::Id).is_in(claims.iter().map(|(i, _)| *i)))
        .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Sending.code()))
        .and_where(Expr::col(Deliveries::Attempts).eq(by_id(&attempts)))
        .returning_col(Deliveries::Id);
    for row in w.txn().query_all(&update).await? {
        changed.insert(row.try_get("", "id")?);
    }
    Ok(())
}

fn deliveries(state: DeliveryState) -> UpdateStatement {
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, state.code())
        .to_owned()
}

/// Holds the rows of `people` shared until the transaction ends, in id order (receipts take
/// them exclusively; see the module comment). SQLite's single writer needs no row lock.
pub(super) async fn hold_people(w: &WriteTxn<'_>, people: &[i64]) -> Result<()> {
    if !w.postgres || people.is_empty() {
        return Ok(());
    }
    let lock = Query::select()
        .column(Recipients::Id)
        .from(Recipients::Table)
        .and_where(Expr::col(Recipients::Id).is_in(people.iter().copied()))
        .order_by(Recipients::Id, Order::Asc)
        .lock(LockType::Share)
        .to_owned();
    w.txn().query_all(&lock).await?;
    Ok(())
}

/// Lowers each notification's pending count by the deliveries of it this transaction made
/// final, completing those that reach zero.
pub(super) async fn settle(
    w: &WriteTxn<'_>,
    finals: &BTreeMap<String, i64>,
    now_ms: i64,
) -> Result<()> {
    let open = values(&[NotificationState::Scheduled, NotificationState::Dispatching]);
    for (id, n) in finals {
        // Complete only once planning is over: until then more deliveries may come.
        let done = || {
            Expr::col(Notifications::Pending)
                .sub(*n)
                .lte(0)
                .and(Expr::col(Notifications::State).is_in(open.clone()))
                .and(Expr::col(Notifications::Planning).eq(0))
        };
        let s = Query::update()
            .table(Notifications::Table)
            .value(
                Notifications::Pending,
                Expr::col(Notifications::Pending).sub(*n),
            )
            .value(
                Notifications::State,
                Expr::case(done(), NotificationState::Completed.code())
                    .finally(Expr::col(Notifications::State)),
            )
            .value(
                Notifications::CompletedAt,
                Expr::case(done(), now_ms).finally(Expr::col(Notifications::CompletedAt)),
            )
            .and_where(Expr::col(Notifications::Id).eq(id.clone()))
            .to_owned();
        w.txn().execute(&s).await?;
    }
    Ok(())
}

/// Moves the grants `ids` that are in state `from` to `to` (ACTIVE: given back, or STOPPED if
/// Meta's STOP came meanwhile); `sent_again` starts a reusable grant's cooldown.
pub(super) async fn move_grants(
    w: &WriteTxn<'_>,
    ids: &[i64],
    from: GrantState,
    to: GrantState,
    sent_again: bool,
    now_ms: i64,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut s = Query::update();
    let to = match to {
        GrantState::Active => super::grants::released(),
        other => Expr::val(other.code()),
    };
    s.table(Grants::Table)
        .value(Grants::State, to)
        .value(Grants::StateChangedAt, now_ms);
    if sent_again {
        s.value(Grants::LastSentAt, now_ms);
    }
    s.and_where(Expr::col(Grants::State).eq(from.code()))
        .and_where(Expr::col(Grants::Id).is_in(ids.iter().copied()));
    Ok(w.txn().execute(&s).await?.rows_affected())
}

/// The echoes kept on the deliveries `ids` (they arrived while an attempt was in flight).
async fn kept_echoes(w: &WriteTxn<'_>, ids: &[i64]) -> Result<HashMap<i64, Echo>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let q = Query::select()
        .columns([Deliveries::Id, Deliveries::EchoMid, Deliveries::EchoAt])
        .from(Deliveries::Table)
        .and_where(Expr::col(Deliveries::Id).is_in(ids.iter().copied()))
        .and_where(Expr::col(Deliveries::EchoMid).is_not_null())
        .to_owned();
    for r in w.txn().query_all(&q).await? {
        let echo = Echo {
            mid: r.try_get("", "echo_mid")?,
            at_ms: r.try_get::<Option<i64>>("", "echo_at")?.unwrap_or_default(),
        };
        out.insert(r.try_get("", "id")?, echo);
    }
    Ok(out)
}

impl Store {
    /// Records a batch of outcomes in one transaction; returns the deliveries it made final
    /// (their index in `batch`) with the state they ended in. (Tests; the dispatcher owns its
    /// transaction and calls [`Store::complete_in`].)
    #[cfg(test)]
    pub(crate) async fn complete(
        &self,
        batch: &[Completed],
        now_ms: i64,
    ) -> Result<Vec<(usize, DeliveryState)>> {
        let mut w = self.write().await?;
        let finished = self.complete_in(&mut w, batch, now_ms).await?;
        w.commit().await?;
        Ok(finished)
    }

    /// Records a batch of outcomes in the caller's transaction; returns the deliveries it made
    /// final (their index in `batch`) with the state they ended in.
    pub(crate) async fn complete_in(
        &self,
        w: &mut WriteTxn<'_>,
        batch: &[Completed],
        now_ms: i64,
    ) -> Result<Vec<(usize, DeliveryState)>> {
        // Every person of the batch: an attempt's outcome may turn out SENT by a kept echo.
        let mut people: Vec<i64> = batch.iter().map(|c| c.claimed.recipient_id).collect();
        people.sort_unstable();
        people.dedup();
        hold_people(w, &people).await?;
        let asking: Vec<i64> = batch
            .iter()
            .filter(|c| wants_echo(&c.outcome))
            .map(|c| c.claimed.id)
            .collect();
        let echoes = kept_echoes(w, &asking).await?;
        let outcomes: Vec<Cow<'_, Outcome>> = batch
            .iter()
            .map(|c| match echoes.get(&c.claimed.id) {
                Some(e) => Cow::Owned(with_echo(c.outcome.clone(), e)),
                None => Cow::Borrowed(&c.outcome),
            })
            .collect();

        let (mut sent, mut started, mut retry_at, mut retry_fail) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut failed, mut unconfirmed, mut requeue) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sent_claims, mut retry_claims, mut failed_claims) =
            (Vec::new(), Vec::new(), Vec::new());
        let (mut unconfirmed_claims, mut requeue_claims) = (Vec::new(), Vec::new());
        let mut ambiguous = Vec::new();
        for (c, outcome) in batch.iter().zip(&outcomes) {
            let (id, claim) = (c.claimed.id, (c.claimed.id, c.claimed.attempts));
            match outcome.as_ref() {
                Outcome::Sent {
                    message_id,
                    meta_ms,
                } => {
                    sent.push((id, message_id.clone().into()));
                    started.push((id, (*meta_ms).into()));
                    sent_claims.push(claim);
                }
                Outcome::Retry {
                    at_ms,
                    failure,
                    ambiguous: a,
                } => {
                    retry_at.push((id, (*at_ms).into()));
                    retry_fail.push((id, json(failure)));
                    retry_claims.push(claim);
                    if *a {
                        ambiguous.push(id);
                    }
                }
                Outcome::Failed { failure, .. } => {
                    failed.push((id, json(failure)));
                    failed_claims.push(claim);
                }
                Outcome::Unconfirmed { failure, .. } => {
                    unconfirmed.push((id, json(failure)));
                    unconfirmed_claims.push(claim);
                }
                Outcome::Requeue { at_ms } => {
                    requeue.push((id, (*at_ms).into()));
                    requeue_claims.push(claim);
                }
            }
        }
        let mut changed = HashSet::new();
        let mut s = deliveries(DeliveryState::Sent);
        s.value(Deliveries::SentAt, now_ms)
            .value(Deliveries::MessageId, by_id(&sent))
            .value(
                Deliveries::AttemptStartedAt,
                Expr::expr(by_id(&started)).if_null(Expr::col(Deliveries::FirstAttemptAt)),
            );
        update_claimed(w, s, &sent_claims, &mut changed).await?;
        // Once ambiguous, always: a later spent-token refusal then means "sent".
        let mut s = deliveries(DeliveryState::Queued);
        s.value(Deliveries::NextAttemptAt, by_id(&retry_at))
            .value(Deliveries::Failure, by_id(&retry_fail))
            .value(
                Deliveries::Ambiguous,
                Expr::case(Expr::col(Deliveries::Id).is_in(ambiguous), 1)
                    .finally(Expr::col(Deliveries::Ambiguous)),
            );
        update_claimed(w, s, &retry_claims, &mut changed).await?;
        let mut s = deliveries(DeliveryState::Failed);
        s.value(Deliveries::Failure, by_id(&failed));
        update_claimed(w, s, &failed_claims, &mut changed).await?;
        let mut s = deliveries(DeliveryState::Unconfirmed);
        s.value(Deliveries::Failure, by_id(&unconfirmed));
        update_claimed(w, s, &unconfirmed_claims, &mut changed).await?;
        let mut s = deliveries(DeliveryState::Queued);
        s.value(Deliveries::Attempts, Expr::col(Deliveries::Attempts).sub(1))
            .value(Deliveries::NextAttemptAt, by_id(&requeue));
        update_claimed(w, s, &requeue_claims, &mut changed).await?;

        // What each recorded outcome does is the domain's (`settle`); this applies it.
        let mut grants: HashMap<GrantMove, Vec<i64>> = HashMap::new();
        let mut evs = Vec::new();
        let mut finals: BTreeMap<String, i64> = BTreeMap::new();
        let mut finished = Vec::new();
        let items = batch.iter().zip(&outcomes).enumerate();
        for (i, (c, outcome)) in items.filter(|(_, (c, _))| changed.contains(&c.claimed.id)) {
            let d = &c.claimed;
            let grant_id = d.grant.as_ref().map(|g| g.id);
            let settled = outcome::settle(outcome, grant_id.is_some(), c.reusable);
            for kind in settled.events {
                let mut ev = event(d, kind);
                match outcome.as_ref() {
                    Outcome::Sent { message_id, .. } if kind == EventKind::Sent => {
                        ev.message_id = Some(message_id.clone()).filter(|m| !m.is_empty());
                    }
                    Outcome::Retry { failure, .. }
                    | Outcome::Failed { failure, .. }
                    | Outcome::Unconfirmed { failure, .. }
                        if kind != EventKind::GrantConsumed =>
                    {
                        ev.failure = Some(failure.clone());
                    }
                    _ => {}
                }
                evs.push(ev);
            }
            if let (Some(m), Some(g)) = (settled.grant, grant_id) {
                grants.entry(m).or_default().push(g);
            }
            if let Some(end) = settled.end {
                finished.push((i, end));
            }
        }
        for (i, _) in &finished {
            *finals
                .entry(batch[*i].claimed.notification_id.clone())
                .or_default() += 1;
        }
        for (m, gids) in &grants {
            move_grants(w, gids, GrantState::Reserved, m.to, m.sent_again, now_ms).await?;
        }
        let sent_ids: Vec<i64> = sent
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| changed.contains(i))
            .collect();
        evs.extend(self.apply_early_receipts(w, &sent_ids, now_ms).await?);
        events::append(w, evs, now_ms).await?;
        // Last: the notification row is shared by every writer of its deliveries, so its lock
        // is held only for the commit.
        settle(w, &finals, now_ms).await?;
        Ok(finished)
    }
}
