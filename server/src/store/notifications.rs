//! Notifications: the candidates of a send, the one transaction that stores the intent
//! (notification, reserved grants, queued deliveries, events), reads, counts and cancel.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::{
    Store,
    eligible::{region_condition, tag_condition},
    events,
    sql::Sql,
};
use crate::domain::decide::{GrantFacts, PersonFacts};
use crate::domain::event::{EventKind, NewEvent, Path};
use crate::domain::grant::{GrantKind, GrantState, TagFilter};
use crate::domain::types::{Psid, Region};
use crate::error::{Error, Result};

/// Notification states (numbers match `otn.v1.NotificationState`).
pub mod state {
    pub const SCHEDULED: i32 = 1;
    pub const DISPATCHING: i32 = 2;
    pub const COMPLETED: i32 = 3;
    pub const CANCELLED: i32 = 4;
    pub const PLANNED: i32 = 5;
}

/// Delivery states (numbers match `otn.v1.DeliveryState`).
pub mod delivery_state {
    pub const QUEUED: i32 = 1;
    pub const SENDING: i32 = 2;
    pub const SENT: i32 = 3;
    pub const DELIVERED: i32 = 4;
    pub const READ: i32 = 5;
    pub const FAILED: i32 = 6;
    pub const CANCELLED: i32 = 7;
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct NotificationRow {
    pub id: String,
    pub page_id: String,
    pub request_id: String,
    pub request_hash: String,
    pub topic_key: String,
    pub message: String,
    pub state: i32,
    pub plan: String,
    pub rolling_title: Option<String>,
    pub scheduled_at: i64,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

/// The counts of a plan, stored with the notification as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub grant_sends: i64,
    pub window_sends: i64,
    pub tag_sends: i64,
    pub exclusions: BTreeMap<i32, i64>,
}

/// One person who might receive a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub recipient_id: i64,
    pub psid: String,
    pub tag_ok: bool,
    pub region_ok: bool,
    pub facts: PersonFacts,
}

/// A delivery to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub recipient_id: i64,
    pub psid: String,
    pub grant_id: Option<i64>,
    pub path: Path,
    pub rule: String,
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub row: NotificationRow,
    pub plan: Plan,
    pub deliveries: Vec<NewDelivery>,
}

#[derive(FromQueryResult)]
struct CandidateRow {
    rid: i64,
    psid: String,
    region: Option<String>,
    last_interaction_at: Option<i64>,
    tag_ok: i32,
    region_ok: i32,
    gid: Option<i64>,
    kind: Option<i32>,
    state: Option<i32>,
    opted_in_at: Option<i64>,
    expires_at: Option<i64>,
    last_sent_at: Option<i64>,
}

const NOTIFICATION_SELECT: &str = "SELECT id, page_id, request_id, request_hash, topic_key, \
     message, state, plan, rolling_title, scheduled_at, created_at, completed_at FROM notifications";

impl Store {
    /// Everyone who holds or held a grant on the topic (or, with `psids`, exactly those
    /// people), with their grants on it and whether they pass the tag and region filters.
    pub async fn candidates(
        &self,
        page_id: &str,
        topic_id: Option<i64>,
        tags: &TagFilter,
        regions: &[Region],
        psids: Option<&[Psid]>,
    ) -> Result<Vec<Candidate>> {
        let mut s =
            Sql::new("SELECT r.id AS rid, r.psid, r.region, r.last_interaction_at, CASE WHEN ");
        if !tag_condition(&mut s, tags) {
            s.push("1 = 1");
        }
        s.push(" THEN 1 ELSE 0 END AS tag_ok, CASE WHEN ");
        if !region_condition(&mut s, regions) {
            s.push("1 = 1");
        }
        s.push(
            " THEN 1 ELSE 0 END AS region_ok, g.id AS gid, g.kind, g.state, g.opted_in_at, \
                g.expires_at, g.last_sent_at FROM recipients r ",
        );
        match psids {
            Some(list) => {
                s.push("LEFT JOIN grants g ON g.recipient_id = r.id AND g.topic_id = ")
                    .bind(topic_id.unwrap_or(-1))
                    .push(" WHERE r.page_id = ")
                    .bind(page_id)
                    .push(" AND r.psid IN (");
                let names: Vec<String> = list.iter().map(|p| p.as_str().to_string()).collect();
                s.bind_list(&names).push(")");
            }
            None => {
                s.push("JOIN grants g ON g.recipient_id = r.id WHERE g.topic_id = ")
                    .bind(topic_id.unwrap_or(-1));
            }
        }
        s.push(" ORDER BY r.id, g.id");
        let rows = CandidateRow::find_by_statement(self.stmt(&s.text, s.values))
            .all(self.db())
            .await?;
        let mut out: Vec<Candidate> = Vec::new();
        for r in rows {
            if out.last().is_none_or(|c| c.recipient_id != r.rid) {
                out.push(Candidate {
                    recipient_id: r.rid,
                    psid: r.psid.clone(),
                    tag_ok: r.tag_ok == 1,
                    region_ok: r.region_ok == 1,
                    facts: PersonFacts {
                        region: r.region.clone(),
                        last_interaction_ms: r.last_interaction_at,
                        grants: Vec::new(),
                    },
                });
            }
            if let (Some(id), Some(kind), Some(state), Some(opted), Some(c)) = (
                r.gid,
                r.kind.and_then(GrantKind::from_i32),
                r.state.and_then(GrantState::from_i32),
                r.opted_in_at,
                out.last_mut(),
            ) {
                c.facts.grants.push(GrantFacts {
                    id,
                    kind,
                    state,
                    opted_in_ms: opted,
                    expires_ms: r.expires_at,
                    last_sent_ms: r.last_sent_at,
                });
            }
        }
        Ok(out)
    }

    /// The notification a caller created with `request_id`.
    pub async fn notification_by_request(
        &self,
        page_id: &str,
        request_id: &str,
    ) -> Result<Option<NotificationRow>> {
        Ok(NotificationRow::find_by_statement(self.stmt(
            &format!("{NOTIFICATION_SELECT} WHERE page_id = ? AND request_id = ?"),
            vec![page_id.into(), request_id.into()],
        ))
        .one(self.db())
        .await?)
    }

    /// A notification by id.
    pub async fn notification(&self, id: &str) -> Result<Option<NotificationRow>> {
        Ok(NotificationRow::find_by_statement(self.stmt(
            &format!("{NOTIFICATION_SELECT} WHERE id = ?"),
            vec![id.into()],
        ))
        .one(self.db())
        .await?)
    }

    /// Deliveries of a notification per state.
    pub async fn delivery_counts(&self, id: &str) -> Result<HashMap<i32, i64>> {
        let rows = self
            .db()
            .query_all_raw(self.stmt(
                "SELECT state, COUNT(*) AS n FROM deliveries WHERE notification_id = ? GROUP BY state",
                vec![id.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "state")?, r.try_get("", "n")?)))
            .collect()
    }

    /// Stores the intent in one transaction: the notification, its grants reserved (a grant
    /// another send reserved first is left out, counted as RESERVED), its deliveries queued and
    /// their events. Returns `None` when a concurrent call created the same request first.
    pub async fn create_notification(
        &self,
        mut n: NewNotification,
        now_ms: i64,
    ) -> Result<Option<NotificationRow>> {
        let mut w = self.write().await?;
        let r = &n.row;
        let inserted = w
            .txn
            .execute_raw(self.stmt(
                "INSERT INTO notifications (id, page_id, request_id, request_hash, topic_key, \
                 message, state, plan, rolling_title, scheduled_at, created_at, completed_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (page_id, request_id) DO NOTHING",
                vec![
                    r.id.clone().into(),
                    r.page_id.clone().into(),
                    r.request_id.clone().into(),
                    r.request_hash.clone().into(),
                    r.topic_key.clone().into(),
                    r.message.clone().into(),
                    r.state.into(),
                    String::new().into(),
                    r.rolling_title.clone().into(),
                    r.scheduled_at.into(),
                    r.created_at.into(),
                    r.completed_at.into(),
                ],
            ))
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        let wanted: Vec<i64> = n.deliveries.iter().filter_map(|d| d.grant_id).collect();
        let mut reserved: HashSet<i64> = HashSet::with_capacity(wanted.len());
        for chunk in wanted.chunks(500) {
            let mut s = Sql::new("UPDATE grants SET state = ");
            s.bind(GrantState::Reserved as i32)
                .push(", state_changed_at = ")
                .bind(now_ms)
                .push(" WHERE state = ")
                .bind(GrantState::Active as i32)
                .push(" AND id IN (")
                .bind_list(chunk)
                .push(") RETURNING id");
            for row in w.txn.query_all_raw(self.stmt(&s.text, s.values)).await? {
                reserved.insert(row.try_get("", "id")?);
            }
        }
        let lost = wanted.len() - reserved.len();
        if lost > 0 {
            n.deliveries
                .retain(|d| d.grant_id.is_none_or(|g| reserved.contains(&g)));
            n.plan.grant_sends -= lost as i64;
            *n.plan
                .exclusions
                .entry(crate::domain::decide::reason::RESERVED)
                .or_default() += lost as i64;
        }
        if n.deliveries.is_empty() && matches!(r.state, state::SCHEDULED | state::DISPATCHING) {
            // Every grant went to a concurrent send: nothing is left to do.
            n.row.state = state::COMPLETED;
            n.row.completed_at = Some(now_ms);
        }
        let r = &n.row;
        let plan = serde_json::to_string(&n.plan).map_err(|e| Error::Internal(e.to_string()))?;
        w.txn
            .execute_raw(self.stmt(
                "UPDATE notifications SET plan = ?, state = ?, completed_at = ? WHERE id = ?",
                vec![
                    plan.clone().into(),
                    r.state.into(),
                    r.completed_at.into(),
                    r.id.clone().into(),
                ],
            ))
            .await?;
        let mut evs = Vec::with_capacity(n.deliveries.len());
        for chunk in n.deliveries.chunks(500) {
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 12);
            for d in chunk {
                values.extend([
                    r.id.clone().into(),
                    r.page_id.clone().into(),
                    d.recipient_id.into(),
                    d.psid.clone().into(),
                    r.topic_key.clone().into(),
                    d.grant_id.into(),
                    (d.path as i32).into(),
                    d.rule.clone().into(),
                    delivery_state::QUEUED.into(),
                    r.scheduled_at.into(),
                    now_ms.into(),
                ]);
            }
            let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)"; chunk.len()].join(", ");
            let ids = w
                .txn
                .query_all_raw(self.stmt(
                    &format!(
                        "INSERT INTO deliveries (notification_id, page_id, recipient_id, psid, \
                         topic_key, grant_id, path, rule, state, attempts, ambiguous, \
                         next_attempt_at, created_at) VALUES {rows} RETURNING id, recipient_id"
                    ),
                    values,
                ))
                .await?;
            let by_recipient: HashMap<i64, &NewDelivery> =
                chunk.iter().map(|d| (d.recipient_id, d)).collect();
            for row in ids {
                let id: i64 = row.try_get("", "id")?;
                let rid: i64 = row.try_get("", "recipient_id")?;
                let Some(d) = by_recipient.get(&rid) else {
                    continue;
                };
                let mut ev = NewEvent::new(EventKind::Queued, r.page_id.clone());
                ev.topic_key = Some(r.topic_key.clone());
                ev.notification_id = Some(r.id.clone());
                ev.delivery_id = Some(id.to_string());
                ev.psid = Some(d.psid.clone());
                ev.grant_id = d.grant_id;
                ev.path = d.path;
                ev.rule = Some(d.rule.clone());
                evs.push(ev);
            }
        }
        events::append(self, &mut w, evs, now_ms).await?;
        w.commit().await?;
        let mut row = n.row;
        row.plan = plan;
        Ok(Some(row))
    }
}
