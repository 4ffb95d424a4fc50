//! The dispatch queue: claiming due deliveries under leases (SKIP LOCKED on PostgreSQL), and
//! the data each send needs.

use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, QueryResult};

use super::notifications::{delivery_state as ds, state as ns};
use super::{Store, sql::Sql};
use crate::domain::event::{EventKind, NewEvent, Path};
use crate::error::Result;

/// One claimed delivery, with what its Send API call needs. `token` is a secret.
#[derive(Clone, FromQueryResult)]
pub struct Claimed {
    pub id: i64,
    pub notification_id: String,
    pub page_id: String,
    pub psid: String,
    pub topic_key: String,
    pub grant_id: Option<i64>,
    pub path: i32,
    pub rule: String,
    pub attempts: i32,
    pub ambiguous: i32,
    pub token: Option<String>,
    pub kind: Option<i32>,
    pub message: String,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Claims up to `limit` deliveries that are due (or whose lease lapsed: their worker died
    /// mid-send, so the outcome is unknown and they are marked ambiguous), skipping `paused`
    /// pages. Several replicas may claim at once: rows locked by one are skipped by the others.
    pub async fn claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u64,
        paused: &[String],
    ) -> Result<Vec<Claimed>> {
        let w = self.write().await?;
        let skip = if self.backend() == DatabaseBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let mut ids: Vec<i64> = Vec::new();
        // Lapsed leases first (their outcome is unknown), then due deliveries.
        for (col, st, op) in [
            ("lease_until", ds::SENDING, " < "),
            ("next_attempt_at", ds::QUEUED, " <= "),
        ] {
            let want = limit as i64 - ids.len() as i64;
            if want <= 0 {
                break;
            }
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::SENDING)
                .push(", lease_until = ")
                .bind(now_ms + lease_ms)
                .push(", attempts = attempts + 1, ambiguous = CASE WHEN state = ")
                .bind(ds::SENDING)
                .push(" THEN 1 ELSE ambiguous END WHERE id IN (SELECT id FROM deliveries WHERE state = ")
                .bind(st)
                .push(&format!(" AND {col}{op}"))
                .bind(now_ms);
            if !paused.is_empty() {
                s.push(" AND page_id NOT IN (").bind_list(paused).push(")");
            }
            s.push(&format!(" ORDER BY {col}, id LIMIT "))
                .bind(want)
                .push(skip)
                .push(") RETURNING id");
            for row in w.txn.query_all_raw(self.stmt(&s.text, s.values)).await? {
                ids.push(row.try_get("", "id")?);
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut s = Sql::new("UPDATE notifications SET state = ");
        s.bind(ns::DISPATCHING)
            .push(" WHERE state = ")
            .bind(ns::SCHEDULED)
            .push(" AND id IN (SELECT notification_id FROM deliveries WHERE id IN (")
            .bind_list(&ids)
            .push("))");
        w.txn.execute_raw(self.stmt(&s.text, s.values)).await?;
        let mut s = Sql::new(
            "SELECT d.id, d.notification_id, d.page_id, d.psid, d.topic_key, d.grant_id, d.path, \
             d.rule, d.attempts, d.ambiguous, g.token, g.kind, n.message FROM deliveries d \
             JOIN notifications n ON n.id = d.notification_id \
             LEFT JOIN grants g ON g.id = d.grant_id WHERE d.id IN (",
        );
        s.bind_list(&ids).push(") ORDER BY d.id");
        let claimed = Claimed::find_by_statement(self.stmt(&s.text, s.values))
            .all(&w.txn)
            .await?;
        w.commit().await?;
        Ok(claimed)
    }
}

/// The columns a delivery event is built from, for `UPDATE deliveries … RETURNING`.
pub(crate) const RETURNING: &str =
    " RETURNING id, notification_id, page_id, psid, topic_key, grant_id, path, rule, message_id";

/// The event of `kind` about the delivery in a row returned with [`RETURNING`].
pub(crate) fn event_of(r: &QueryResult, kind: EventKind) -> Result<NewEvent> {
    let mut ev = NewEvent::new(kind, r.try_get::<String>("", "page_id")?);
    ev.topic_key = Some(r.try_get("", "topic_key")?);
    ev.notification_id = Some(r.try_get("", "notification_id")?);
    ev.delivery_id = Some(r.try_get::<i64>("", "id")?.to_string());
    ev.psid = Some(r.try_get("", "psid")?);
    ev.grant_id = r.try_get("", "grant_id")?;
    ev.message_id = r
        .try_get::<Option<String>>("", "message_id")?
        .filter(|m| !m.is_empty());
    ev.path = Path::from_i32(r.try_get("", "path")?);
    ev.rule = Some(r.try_get("", "rule")?);
    Ok(ev)
}
