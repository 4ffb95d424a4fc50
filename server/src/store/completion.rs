//! Recording send outcomes in batches: one transaction updates many deliveries, their grants
//! and notifications, and appends their events.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ConnectionTrait, Value};

use super::deliveries::Claimed;
use super::notifications::{delivery_state as ds, state as ns};
use super::{Store, events, sql::Sql};
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

impl Store {
    /// Records a batch of outcomes in one transaction.
    pub async fn complete(&self, batch: &[Completed], now_ms: i64) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut sent: Vec<(i64, Value)> = Vec::new();
        let mut retry_at: Vec<(i64, Value)> = Vec::new();
        let mut retry_fail: Vec<(i64, Value)> = Vec::new();
        let mut ambiguous: Vec<i64> = Vec::new();
        let mut failed: Vec<(i64, Value)> = Vec::new();
        let mut requeue: Vec<(i64, Value)> = Vec::new();
        let mut grants: HashMap<&'static str, Vec<i64>> = HashMap::new();
        let mut evs = Vec::new();
        let mut touched = BTreeSet::new();
        for c in batch {
            let d = &c.claimed;
            touched.insert(d.notification_id.clone());
            let json = |f: &Failure| Value::from(serde_json::to_string(f).ok());
            match &c.outcome {
                Outcome::Sent { message_id } => {
                    sent.push((d.id, message_id.clone().into()));
                    let mut ev = event(d, EventKind::Sent);
                    ev.message_id = Some(message_id.clone()).filter(|m| !m.is_empty());
                    evs.push(ev);
                    if let Some(g) = d.grant_id {
                        grants
                            .entry(if c.reusable { "reuse" } else { "consume" })
                            .or_default()
                            .push(g);
                        evs.push(event(d, EventKind::GrantConsumed));
                    }
                }
                Outcome::Retry {
                    at_ms,
                    failure,
                    ambiguous: amb,
                } => {
                    retry_at.push((d.id, (*at_ms).into()));
                    retry_fail.push((d.id, json(failure)));
                    if *amb {
                        ambiguous.push(d.id);
                    }
                    let mut ev = event(d, EventKind::RetryScheduled);
                    ev.failure = Some(failure.clone());
                    evs.push(ev);
                }
                Outcome::Failed { failure, grant } => {
                    failed.push((d.id, json(failure)));
                    if let Some(g) = d.grant_id {
                        let key = match grant {
                            GrantAfter::Release => "release",
                            GrantAfter::Mark(GrantState::Stopped) => "stopped",
                            GrantAfter::Mark(_) => "invalid",
                        };
                        grants.entry(key).or_default().push(g);
                    }
                    let mut ev = event(d, EventKind::Failed);
                    ev.failure = Some(failure.clone());
                    evs.push(ev);
                }
                Outcome::Requeue { at_ms } => requeue.push((d.id, (*at_ms).into())),
            }
        }
        let mut w = self.write().await?;
        let ids = |v: &[(i64, Value)]| v.iter().map(|(i, _)| *i).collect::<Vec<_>>();
        if !sent.is_empty() {
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::SENT)
                .push(", lease_until = NULL, sent_at = ")
                .bind(now_ms)
                .push(", message_id = ");
            case(&sent, &mut s);
            s.push(" WHERE id IN (").bind_list(&ids(&sent)).push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        if !retry_at.is_empty() {
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::QUEUED)
                .push(", lease_until = NULL, next_attempt_at = ");
            case(&retry_at, &mut s);
            s.push(", failure = ");
            case(&retry_fail, &mut s);
            s.push(" WHERE id IN (")
                .bind_list(&ids(&retry_at))
                .push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        if !ambiguous.is_empty() {
            let mut s = Sql::new("UPDATE deliveries SET ambiguous = 1 WHERE id IN (");
            s.bind_list(&ambiguous).push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        if !failed.is_empty() {
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::FAILED).push(", lease_until = NULL, failure = ");
            case(&failed, &mut s);
            s.push(" WHERE id IN (").bind_list(&ids(&failed)).push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        if !requeue.is_empty() {
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::QUEUED)
                .push(", lease_until = NULL, attempts = attempts - 1, next_attempt_at = ");
            case(&requeue, &mut s);
            s.push(" WHERE id IN (").bind_list(&ids(&requeue)).push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        for (key, gids) in &grants {
            let (state, extra) = match *key {
                "consume" => (GrantState::Consumed, ""),
                "reuse" => (GrantState::Active, ", last_sent_at = ?"),
                "release" => (GrantState::Active, ""),
                "stopped" => (GrantState::Stopped, ""),
                _ => (GrantState::Invalid, ""),
            };
            let mut s = Sql::new("UPDATE grants SET state = ");
            s.bind(state as i32)
                .push(", state_changed_at = ")
                .bind(now_ms);
            if !extra.is_empty() {
                s.push(", last_sent_at = ").bind(now_ms);
            }
            s.push(" WHERE state = ")
                .bind(GrantState::Reserved as i32)
                .push(" AND id IN (")
                .bind_list(gids)
                .push(")");
            w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        }
        let touched: Vec<String> = touched.into_iter().collect();
        let mut s = Sql::new("UPDATE notifications SET state = ");
        s.bind(ns::COMPLETED)
            .push(", completed_at = ")
            .bind(now_ms)
            .push(" WHERE state IN (")
            .bind_list(&[ns::DISPATCHING, ns::SCHEDULED])
            .push(") AND id IN (")
            .bind_list(&touched)
            .push(") AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = notifications.id AND d.state IN (")
            .bind_list(&[ds::QUEUED, ds::SENDING])
            .push("))");
        w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        let sent_ids = ids(&sent);
        evs.extend(self.apply_early_receipts(&mut w, &sent_ids, now_ms).await?);
        events::append(self, &mut w, evs, now_ms).await?;
        w.commit().await
    }
}
