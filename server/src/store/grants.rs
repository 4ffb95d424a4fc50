//! Grant state changes requested by callers or by Meta: revoke, stop and resume.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::{Store, marks};
use crate::domain::grant::{GrantKind, GrantState, GrantView};
use crate::error::{Error, Result};

#[derive(FromQueryResult)]
struct GrantRow {
    id: i64,
    page_id: String,
    psid: String,
    topic_key: String,
    kind: i32,
    payload: String,
    opted_in_at: i64,
    expires_at: Option<i64>,
    state: i32,
    state_changed_at: i64,
}

/// The SELECT that turns grant rows into views (joined with their person and topic).
pub const GRANT_SELECT: &str = "SELECT g.id, g.page_id, r.psid, t.topic_key, g.kind, g.payload, \
     g.opted_in_at, g.expires_at, g.state, g.state_changed_at \
     FROM grants g JOIN recipients r ON r.id = g.recipient_id JOIN topics t ON t.id = g.topic_id";

impl TryFrom<GrantRow> for GrantView {
    type Error = Error;
    fn try_from(r: GrantRow) -> Result<Self> {
        Ok(GrantView {
            id: r.id,
            page_id: r.page_id,
            psid: r.psid,
            topic_key: r.topic_key,
            kind: GrantKind::from_i32(r.kind)
                .ok_or_else(|| Error::Internal(format!("grant {} has kind {}", r.id, r.kind)))?,
            payload: r.payload,
            opted_in_ms: r.opted_in_at,
            expires_ms: r.expires_at,
            state: GrantState::from_i32(r.state)
                .ok_or_else(|| Error::Internal(format!("grant {} has state {}", r.id, r.state)))?,
            state_changed_ms: r.state_changed_at,
        })
    }
}

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// One grant.
    Grant(i64),
    /// Every usable grant of a person on a topic.
    Topic {
        page_id: String,
        psid: String,
        topic_key: String,
    },
}

impl Store {
    /// Revokes usable (active or stopped) grants; returns those revoked now. Grants reserved by
    /// a queued delivery are left to that delivery (cancel the notification to free them).
    pub async fn revoke(&self, target: &RevokeTarget, now_ms: i64) -> Result<Vec<GrantView>> {
        let (clause, mut values): (&str, Vec<Value>) = match target {
            RevokeTarget::Grant(id) => ("id = ?", vec![(*id).into()]),
            RevokeTarget::Topic {
                page_id,
                psid,
                topic_key,
            } => (
                "recipient_id = (SELECT id FROM recipients WHERE page_id = ? AND psid = ?) \
                 AND topic_id = (SELECT id FROM topics WHERE page_id = ? AND topic_key = ?)",
                vec![
                    page_id.clone().into(),
                    psid.clone().into(),
                    page_id.clone().into(),
                    topic_key.clone().into(),
                ],
            ),
        };
        let mut all: Vec<Value> = vec![(GrantState::Revoked as i32).into(), now_ms.into()];
        all.append(&mut values);
        all.push((GrantState::Active as i32).into());
        all.push((GrantState::Stopped as i32).into());
        let w = self.write().await?;
        let rows = w
            .txn
            .query_all_raw(self.stmt(
                &format!(
                    "UPDATE grants SET state = ?, state_changed_at = ? WHERE {clause} \
                     AND state IN (?, ?) RETURNING id"
                ),
                all,
            ))
            .await?;
        w.commit().await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("", "id"))
            .collect::<Result<_, _>>()?;
        self.grants_by_ids(&ids).await
    }

    /// Grants by id.
    pub async fn grants_by_ids(&self, ids: &[i64]) -> Result<Vec<GrantView>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.grants_where(
            &format!("g.id IN ({})", marks(ids.len())),
            ids.iter().map(|i| Value::from(*i)).collect(),
        )
        .await
    }

    /// Applies a STOP (`stop`) or RESUME from Meta, made at `at_ms`, to the grant with this
    /// token. An event older than the grant's last state change is ignored, so duplicate and
    /// out-of-order webhooks are harmless.
    pub async fn set_stopped(
        &self,
        page_id: &str,
        psid: &str,
        token: &str,
        stop: bool,
        at_ms: i64,
    ) -> Result<bool> {
        let (to, from) = if stop {
            (GrantState::Stopped, GrantState::Active)
        } else {
            (GrantState::Active, GrantState::Stopped)
        };
        let w = self.write().await?;
        let n = w
            .txn
            .execute_raw(self.stmt(
                "UPDATE grants SET state = ?, state_changed_at = ? \
                 WHERE token = ? AND state = ? AND state_changed_at <= ? AND page_id = ? \
                 AND recipient_id = (SELECT id FROM recipients WHERE page_id = ? AND psid = ?)",
                vec![
                    (to as i32).into(),
                    at_ms.into(),
                    token.into(),
                    (from as i32).into(),
                    at_ms.into(),
                    page_id.into(),
                    page_id.into(),
                    psid.into(),
                ],
            ))
            .await?
            .rows_affected();
        if n == 0 {
            // Maybe the opt-in has not arrived yet: keep the latest status for the token, and
            // apply it when the grant is recorded.
            w.txn
                .execute_raw(self.stmt(
                    "INSERT INTO token_statuses (token, page_id, psid, stopped, at) \
                     VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO UPDATE SET \
                     stopped = excluded.stopped, at = excluded.at \
                     WHERE token_statuses.at < excluded.at",
                    vec![
                        token.into(),
                        page_id.into(),
                        psid.into(),
                        i32::from(stop).into(),
                        at_ms.into(),
                    ],
                ))
                .await?;
        }
        w.commit().await?;
        Ok(n > 0)
    }

    /// Applies a STOP that arrived before the grant's opt-in (inside the recording
    /// transaction).
    pub(crate) async fn apply_early_stop(
        &self,
        c: &impl ConnectionTrait,
        grant_id: i64,
        page_id: &str,
        psid: &str,
        token: &str,
        opted_in_ms: i64,
    ) -> Result<()> {
        c.execute_raw(self.stmt(
            "UPDATE grants SET state = ?, state_changed_at = \
             (SELECT at FROM token_statuses WHERE token = ?) WHERE id = ? AND EXISTS \
             (SELECT 1 FROM token_statuses WHERE token = ? AND page_id = ? AND psid = ? \
              AND stopped = 1 AND at >= ?)",
            vec![
                (GrantState::Stopped as i32).into(),
                token.into(),
                grant_id.into(),
                token.into(),
                page_id.into(),
                psid.into(),
                opted_in_ms.into(),
            ],
        ))
        .await?;
        Ok(())
    }
}

/// Grant reads, joined with their person and topic.
impl Store {
    pub(crate) async fn grant_by_token(&self, token: &str) -> Result<Option<GrantView>> {
        let row = GrantRow::find_by_statement(self.stmt(
            &format!("{GRANT_SELECT} WHERE g.token = ?"),
            vec![token.into()],
        ))
        .one(self.db())
        .await?;
        row.map(GrantView::try_from).transpose()
    }

    /// One grant by id.
    pub async fn grant(&self, id: i64) -> Result<Option<GrantView>> {
        let row = GrantRow::find_by_statement(
            self.stmt(&format!("{GRANT_SELECT} WHERE g.id = ?"), vec![id.into()]),
        )
        .one(self.db())
        .await?;
        row.map(GrantView::try_from).transpose()
    }

    /// Grants matching a WHERE clause over `g`, `r` and `t`, soonest-expiring first.
    pub async fn grants_where(&self, clause: &str, values: Vec<Value>) -> Result<Vec<GrantView>> {
        let rows = GrantRow::find_by_statement(self.stmt(
            &format!("{GRANT_SELECT} WHERE {clause} ORDER BY r.id, g.expires_at, g.id"),
            values,
        ))
        .all(self.db())
        .await?;
        rows.into_iter().map(GrantView::try_from).collect()
    }
}
