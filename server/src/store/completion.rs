//! Recording send outcomes in batches: one transaction updates many deliveries, their grants
//! and notifications, and appends their events.

use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::{ConnectionTrait, Value};

use super::deliveries::Claimed;
use super::notifications::{delivery_state as ds, state as ns};
use super::{Store, WriteTxn, events, sql::Sql};
use crate::domain::event::{EventKind, Failure, NewEvent, Path};
use crate::domain::grant::GrantState;
use crate::error::Result;

/// What to do with a grant after a failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAfter {
    /// Not spent: usable again.
    Release,
    /// Meta said so: stopped or invalid.
    Mark(GrantState),
}

/// The outcome of one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Meta accepted it (or, after an ambiguous attempt, refused the spent token).
    Sent { message_id: String },
    /// Try again at `at_ms`.
    Retry {
        at_ms: i64,
        failure: Failure,
        ambiguous: bool,
    },
    /// Given up.
    Failed { failure: Failure, grant: GrantAfter },
    /// Not attempted (the page is paused); back in the queue without counting an attempt.
    Requeue { at_ms: i64 },
}

/// A claimed delivery with its outcome.
#[derive(Debug, Clone)]
pub struct Completed {
    pub claimed: Claimed,
    pub outcome: Outcome,
    /// Whether the grant allows more than one message (it goes back to ACTIVE when sent).
    pub reusable: bool,
}

fn case(ids_values: &[(i64, Value)], s: &mut Sql) {
    s.push("CASE id");
    for (id, v) in ids_values {
        s.push(" WHEN ").bind(*id).push(" THEN ").bind(v.clone());
    }
    s.push(" END");
}

fn event(c: &Claimed, kind: EventKind) -> NewEvent {
    let mut ev = NewEvent::new(kind, c.page_id.clone());
    ev.topic_key = Some(c.topic_key.clone());
    ev.notification_id = Some(c.notification_id.clone());
    ev.delivery_id = Some(c.id.to_string());
    ev.psid = Some(c.psid.clone());
    ev.grant_id = c.grant_id;
    ev.path = Path::from_i32(c.path);
    ev.rule = Some(c.rule.clone());
    ev
}

/// Runs `UPDATE deliveries SET <set> WHERE id IN (ids) AND state = SENDING RETURNING id`
/// and adds the ids it changed to `changed`: an outcome that arrives for a claim another
/// worker has since taken over (its lease lapsed) changes nothing and emits nothing.
async fn update_claimed(
    store: &Store,
    w: &WriteTxn<'_>,
    mut s: Sql,
    ids: &[i64],
    changed: &mut HashSet<i64>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    s.push(" WHERE id IN (")
        .bind_list(ids)
        .push(") AND state = ")
        .bind(ds::SENDING)
        .push(" RETURNING id");
    for row in w.txn.query_all_raw(store.stmt(&s.text, s.values)).await? {
        changed.insert(row.try_get("", "id")?);
    }
    Ok(())
}

impl Store {
    /// Records a batch of outcomes in one transaction.
    pub async fn complete(&self, batch: &[Completed], now_ms: i64) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let json = |f: &Failure| Value::from(serde_json::to_string(f).ok());
        let (mut sent, mut retry_at, mut retry_fail, mut failed, mut requeue) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in batch {
            let id = c.claimed.id;
            match &c.outcome {
                Outcome::Sent { message_id } => sent.push((id, message_id.clone().into())),
                Outcome::Retry { at_ms, failure, .. } => {
                    retry_at.push((id, (*at_ms).into()));
                    retry_fail.push((id, json(failure)));
                }
                Outcome::Failed { failure, .. } => failed.push((id, json(failure))),
                Outcome::Requeue { at_ms } => requeue.push((id, (*at_ms).into())),
            }
        }
        let ids = |v: &[(i64, Value)]| v.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        let mut w = self.write().await?;
        let mut changed = HashSet::new();
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::SENT)
            .push(", lease_until = NULL, sent_at = ")
            .bind(now_ms)
            .push(", message_id = ");
        case(&sent, &mut s);
        update_claimed(self, &w, s, &ids(&sent), &mut changed).await?;
        // Once ambiguous, always: a later token refusal then means "sent".
        let ambiguous: HashSet<i64> = batch
            .iter()
            .filter(|c| {
                matches!(
                    c.outcome,
                    Outcome::Retry {
                        ambiguous: true,
                        ..
                    }
                )
            })
            .map(|c| c.claimed.id)
            .collect();
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::QUEUED)
            .push(", lease_until = NULL, next_attempt_at = ");
        case(&retry_at, &mut s);
        s.push(", failure = ");
        case(&retry_fail, &mut s);
        s.push(", ambiguous = CASE WHEN id IN (");
        s.bind_list(&ambiguous.iter().copied().chain([0]).collect::<Vec<_>>())
            .push(") THEN 1 ELSE ambiguous END");
        update_claimed(self, &w, s, &ids(&retry_at), &mut changed).await?;
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::FAILED).push(", lease_until = NULL, failure = ");
        case(&failed, &mut s);
        update_claimed(self, &w, s, &ids(&failed), &mut changed).await?;
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::QUEUED)
            .push(", lease_until = NULL, attempts = attempts - 1, next_attempt_at = ");
        case(&requeue, &mut s);
        update_claimed(self, &w, s, &ids(&requeue), &mut changed).await?;

        let mut grants: HashMap<GrantState, Vec<i64>> = HashMap::new();
        let mut reused = Vec::new();
        let mut evs = Vec::new();
        let mut touched = BTreeSet::new();
        for c in batch.iter().filter(|c| changed.contains(&c.claimed.id)) {
            let d = &c.claimed;
            touched.insert(d.notification_id.clone());
            match &c.outcome {
                Outcome::Sent { message_id } => {
                    let mut ev = event(d, EventKind::Sent);
                    ev.message_id = Some(message_id.clone()).filter(|m| !m.is_empty());
                    evs.push(ev);
                    if let Some(g) = d.grant_id {
                        if c.reusable {
                            reused.push(g);
                        } else {
                            grants.entry(GrantState::Consumed).or_default().push(g);
                        }
                        evs.push(event(d, EventKind::GrantConsumed));
                    }
                }
                Outcome::Retry { failure, .. } | Outcome::Failed { failure, .. } => {
                    let kind = match c.outcome {
                        Outcome::Failed { .. } => EventKind::Failed,
                        _ => EventKind::RetryScheduled,
                    };
                    if let (Outcome::Failed { grant, .. }, Some(g)) = (&c.outcome, d.grant_id) {
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
            let mut s = Sql::new("UPDATE grants SET state = ");
            s.bind(state as i32)
                .push(", state_changed_at = ")
                .bind(now_ms);
            if sent_again {
                s.push(", last_sent_at = ").bind(now_ms);
            }
            s.push(" WHERE state = ")
                .bind(GrantState::Reserved as i32)
                .push(" AND id IN (")
                .bind_list(gids)
                .push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        if !touched.is_empty() {
            let touched: Vec<String> = touched.into_iter().collect();
            let mut s = Sql::new("UPDATE notifications SET state = ");
            s.bind(ns::COMPLETED)
                .push(", completed_at = ")
                .bind(now_ms)
                .push(" WHERE state IN (")
                .bind_list(&[ns::DISPATCHING, ns::SCHEDULED])
                .push(") AND id IN (")
                .bind_list(&touched)
                .push(
                    ") AND NOT EXISTS (SELECT 1 FROM deliveries d \
                     WHERE d.notification_id = notifications.id AND d.state IN (",
                )
                .bind_list(&[ds::QUEUED, ds::SENDING])
                .push("))");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        let sent_ids: Vec<i64> = ids(&sent)
            .into_iter()
            .filter(|i| changed.contains(i))
            .collect();
        evs.extend(self.apply_early_receipts(&mut w, &sent_ids, now_ms).await?);
        events::append(self, &mut w, evs, now_ms).await?;
        w.commit().await
    }
}
