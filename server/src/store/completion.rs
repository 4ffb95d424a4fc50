//! Recording send outcomes in batches: one transaction updates many deliveries, their grants,
//! their notifications' pending counts, the receipts that came first, and appends their events.
//!
//! Correct with any number of replicas recording at once:
//! - an outcome applies only to a delivery still SENDING (a claim another worker took over after
//!   its lease lapsed changes nothing), so each delivery becomes final exactly once;
//! - a notification's `pending` count goes down by the deliveries this transaction made final,
//!   under the notification row's lock, and the transaction that takes it to zero completes it:
//!   exactly once, whichever replica records the last outcome;
//! - receipts and sends of a person meet on the person's row: this transaction holds it shared
//!   from its start, a receipt holds it exclusively, so whichever commits second sees the other.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, LockType, Order, Query, UpdateStatement};
use sea_orm::{ConnectionTrait, Value};

use super::codes::{Code, values};
use super::schema::{Deliveries, Grants, Notifications, Recipients};
use super::{Store, WriteTxn, events};
use crate::domain::event::{Failure, NewEvent};
use crate::domain::outcome::{Claimed, Completed, GrantAfter, Outcome};
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

/// Runs `update … WHERE id IN (ids) AND state = SENDING RETURNING id` and adds the ids it
/// changed to `changed`.
async fn update_claimed(
    w: &WriteTxn<'_>,
    mut update: UpdateStatement,
    ids: &[i64],
    changed: &mut HashSet<i64>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    update
        .value(Deliveries::LeaseUntil, Expr::null())
        .and_where(Expr::col(Deliveries::Id).is_in(ids.iter().copied()))
        .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Sending.code()))
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

impl Store {
    /// Records a batch of outcomes in one transaction.
    pub(crate) async fn complete(&self, batch: &[Completed], now_ms: i64) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut w = self.write().await?;
        self.complete_in(&mut w, batch, now_ms).await?;
        w.commit().await
    }

    /// [`Store::complete`] inside the caller's transaction (tests hold it open to force
    /// interleavings).
    pub(super) async fn complete_in(
        &self,
        w: &mut WriteTxn<'_>,
        batch: &[Completed],
        now_ms: i64,
    ) -> Result<()> {
        let mut people: Vec<i64> = batch
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Sent { .. }))
            .map(|c| c.claimed.recipient_id)
            .collect();
        people.sort_unstable();
        people.dedup();
        hold_people(w, &people).await?;

        let (mut sent, mut started, mut retry_at, mut retry_fail, mut failed, mut requeue) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let mut ambiguous = Vec::new();
        for c in batch {
            let id = c.claimed.id;
            match &c.outcome {
                Outcome::Sent {
                    message_id,
                    meta_ms,
                } => {
                    sent.push((id, message_id.clone().into()));
                    started.push((id, (*meta_ms).into()));
                }
                Outcome::Retry {
                    at_ms,
                    failure,
                    ambiguous: a,
                } => {
                    retry_at.push((id, (*at_ms).into()));
                    retry_fail.push((id, json(failure)));
                    if *a {
                        ambiguous.push(id);
                    }
                }
                Outcome::Failed { failure, .. } => failed.push((id, json(failure))),
                Outcome::Requeue { at_ms } => requeue.push((id, (*at_ms).into())),
            }
        }
        let ids = |v: &[(i64, Value)]| v.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        let mut changed = HashSet::new();
        let mut s = deliveries(DeliveryState::Sent);
        s.value(Deliveries::SentAt, now_ms)
            .value(Deliveries::MessageId, by_id(&sent))
            .value(
                Deliveries::AttemptStartedAt,
                Expr::expr(by_id(&started)).if_null(Expr::col(Deliveries::FirstAttemptAt)),
            );
        update_claimed(w, s, &ids(&sent), &mut changed).await?;
        // Once ambiguous, always: a later spent-token refusal then means "sent".
        let mut s = deliveries(DeliveryState::Queued);
        s.value(Deliveries::NextAttemptAt, by_id(&retry_at))
            .value(Deliveries::Failure, by_id(&retry_fail))
            .value(
                Deliveries::Ambiguous,
                Expr::case(Expr::col(Deliveries::Id).is_in(ambiguous), 1)
                    .finally(Expr::col(Deliveries::Ambiguous)),
            );
        update_claimed(w, s, &ids(&retry_at), &mut changed).await?;
        let mut s = deliveries(DeliveryState::Failed);
        s.value(Deliveries::Failure, by_id(&failed));
        update_claimed(w, s, &ids(&failed), &mut changed).await?;
        let mut s = deliveries(DeliveryState::Queued);
        s.value(Deliveries::Attempts, Expr::col(Deliveries::Attempts).sub(1))
            .value(Deliveries::NextAttemptAt, by_id(&requeue));
        update_claimed(w, s, &ids(&requeue), &mut changed).await?;

        let mut grants: HashMap<GrantState, Vec<i64>> = HashMap::new();
        let mut reused = Vec::new();
        let mut evs = Vec::new();
        let mut finals: BTreeMap<String, i64> = BTreeMap::new();
        for c in batch.iter().filter(|c| changed.contains(&c.claimed.id)) {
            let d = &c.claimed;
            let grant_id = d.grant.as_ref().map(|g| g.id);
            if matches!(c.outcome, Outcome::Sent { .. } | Outcome::Failed { .. }) {
                *finals.entry(d.notification_id.clone()).or_default() += 1;
            }
            match &c.outcome {
                Outcome::Sent { message_id, .. } => {
                    let mut ev = event(d, EventKind::Sent);
                    ev.message_id = Some(message_id.clone()).filter(|m| !m.is_empty());
                    evs.push(ev);
                    if let Some(g) = grant_id {
                        match c.reusable {
                            true => reused.push(g),
                            false => grants.entry(GrantState::Consumed).or_default().push(g),
                        }
                        evs.push(event(d, EventKind::GrantConsumed));
                    }
                }
                Outcome::Retry { failure, .. } | Outcome::Failed { failure, .. } => {
                    let kind = match c.outcome {
                        Outcome::Failed { .. } => EventKind::Failed,
                        _ => EventKind::RetryScheduled,
                    };
                    if let (Outcome::Failed { grant, .. }, Some(g)) = (&c.outcome, grant_id) {
                        let to = match grant {
                            GrantAfter::Release => GrantState::Active,
                            GrantAfter::Mark(s) => *s,
                        };
                        grants.entry(to).or_default().push(g);
                    }
                    let mut ev = event(d, kind);
                    ev.failure = Some(failure.clone());
                    evs.push(ev);
                }
                Outcome::Requeue { .. } => {}
            }
        }
        let updates = grants
            .iter()
            .map(|(state, gids)| (*state, gids, false))
            .chain([(GrantState::Active, &reused, true)]);
        for (state, gids, sent_again) in updates {
            if gids.is_empty() {
                continue;
            }
            let mut s = Query::update();
            let to = match state {
                GrantState::Active => super::grants::released(),
                other => Expr::val(other.code()),
            };
            s.table(Grants::Table)
                .value(Grants::State, to)
                .value(Grants::StateChangedAt, now_ms);
            if sent_again {
                s.value(Grants::LastSentAt, now_ms);
            }
            s.and_where(Expr::col(Grants::State).eq(GrantState::Reserved.code()))
                .and_where(Expr::col(Grants::Id).is_in(gids.iter().copied()));
            w.txn().execute(&s).await?;
        }
        let sent_ids: Vec<i64> = ids(&sent)
            .into_iter()
            .filter(|i| changed.contains(i))
            .collect();
        evs.extend(self.apply_early_receipts(w, &sent_ids, now_ms).await?);
        events::append(w, evs, now_ms).await?;
        // Last: the notification row is shared by every writer of its deliveries, so its lock
        // is held only for the commit.
        settle(w, &finals, now_ms).await
    }
}
