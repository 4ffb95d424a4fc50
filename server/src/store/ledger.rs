//! The consent ledger's writes and point reads: recipients, tags, topics, grants, opt-in requests.

use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::{Store, events, marks};
use crate::domain::event::{EventKind, NewEvent};
use crate::domain::grant::{GrantState, GrantView, NewGrant, RecipientView};
use crate::domain::types::{Region, Tag};
use crate::error::{Error, Reason, Result};

#[derive(FromQueryResult)]
struct RecipientRow {
    id: i64,
    page_id: String,
    psid: String,
    region: Option<String>,
    last_interaction_at: Option<i64>,
}

/// What ForgetRecipient erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub found: bool,
    pub grants: u64,
    pub opt_in_requests: u64,
    pub deliveries: u64,
}

impl Store {
    /// Makes sure every configured page has a row.
    pub async fn ensure_pages(
        &self,
        pages: &[(String, Option<String>)],
        now_ms: i64,
    ) -> Result<()> {
        for (page_id, region) in pages {
            self.db()
                .execute_raw(self.stmt(
                    "INSERT INTO pages (page_id, region, created_at) VALUES (?, ?, ?) \
                     ON CONFLICT (page_id) DO UPDATE SET region = excluded.region",
                    vec![page_id.clone().into(), region.clone().into(), now_ms.into()],
                ))
                .await?;
        }
        Ok(())
    }

    /// Inserts the person if new and returns their row id.
    pub(crate) async fn upsert_recipient(
        &self,
        c: &impl ConnectionTrait,
        page_id: &str,
        psid: &str,
        now_ms: i64,
    ) -> Result<i64> {
        let row = c
            .query_one_raw(self.stmt(
                "INSERT INTO recipients (page_id, psid, created_at) VALUES (?, ?, ?) \
                 ON CONFLICT (page_id, psid) DO UPDATE SET page_id = excluded.page_id \
                 RETURNING id",
                vec![page_id.into(), psid.into(), now_ms.into()],
            ))
            .await?
            .ok_or_else(|| Error::Internal("recipient upsert returned nothing".into()))?;
        Ok(row.try_get("", "id")?)
    }

    /// Inserts the topic if new (keeping an existing title) and returns its row id.
    pub(crate) async fn upsert_topic(
        &self,
        c: &impl ConnectionTrait,
        page_id: &str,
        key: &str,
        title: &str,
        now_ms: i64,
    ) -> Result<i64> {
        let row = c
            .query_one_raw(self.stmt(
                "INSERT INTO topics (page_id, topic_key, title, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (page_id, topic_key) DO UPDATE SET page_id = excluded.page_id \
                 RETURNING id",
                vec![page_id.into(), key.into(), title.into(), now_ms.into()],
            ))
            .await?
            .ok_or_else(|| Error::Internal("topic upsert returned nothing".into()))?;
        Ok(row.try_get("", "id")?)
    }

    /// The topic's row id, if it exists.
    pub async fn topic_id(&self, page_id: &str, key: &str) -> Result<Option<i64>> {
        let row = self
            .db()
            .query_one_raw(self.stmt(
                "SELECT id FROM topics WHERE page_id = ? AND topic_key = ?",
                vec![page_id.into(), key.into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("", "id")?),
            None => None,
        })
    }

    /// A person with their tags, if known.
    pub async fn recipient(&self, page_id: &str, psid: &str) -> Result<Option<RecipientView>> {
        let row = RecipientRow::find_by_statement(self.stmt(
            "SELECT id, page_id, psid, region, last_interaction_at FROM recipients \
             WHERE page_id = ? AND psid = ?",
            vec![page_id.into(), psid.into()],
        ))
        .one(self.db())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let mut tags = self.tags_of(&[r.id]).await?;
        Ok(Some(RecipientView {
            id: r.id,
            page_id: r.page_id,
            psid: r.psid,
            tags: tags.remove(&r.id).unwrap_or_default(),
            region: r.region,
            last_interaction_ms: r.last_interaction_at,
        }))
    }

    /// Tags of several recipients at once.
    pub async fn tags_of(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<String>>> {
        let mut out: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for chunk in ids.chunks(500) {
            let rows = self
                .db()
                .query_all_raw(self.stmt(
                    &format!(
                        "SELECT recipient_id, tag FROM recipient_tags WHERE recipient_id IN ({}) \
                         ORDER BY recipient_id, tag",
                        marks(chunk.len())
                    ),
                    chunk.iter().map(|i| Value::from(*i)).collect(),
                ))
                .await?;
            for r in rows {
                out.entry(r.try_get("", "recipient_id")?)
                    .or_default()
                    .push(r.try_get("", "tag")?);
            }
        }
        Ok(out)
    }

    /// Records an interaction: the window starts at the latest interaction ever seen, so
    /// duplicates and out-of-order webhooks change nothing.
    pub async fn record_interaction(
        &self,
        page_id: &str,
        psid: &str,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<RecipientView> {
        let w = self.write().await?;
        let id = self.upsert_recipient(&w.txn, page_id, psid, now_ms).await?;
        w.txn
            .execute_raw(self.stmt(
                "UPDATE recipients SET last_interaction_at = ? WHERE id = ? \
                 AND (last_interaction_at IS NULL OR last_interaction_at < ?)",
                vec![at_ms.into(), id.into(), at_ms.into()],
            ))
            .await?;
        w.commit().await?;
        self.recipient(page_id, psid)
            .await?
            .ok_or_else(|| Error::Internal("recipient vanished".into()))
    }

    /// Adds and removes tags and sets the region (`Some(None)` clears it).
    pub async fn update_recipient(
        &self,
        page_id: &str,
        psid: &str,
        add: &[Tag],
        remove: &[Tag],
        region: Option<Option<Region>>,
        now_ms: i64,
    ) -> Result<RecipientView> {
        let w = self.write().await?;
        let id = self.upsert_recipient(&w.txn, page_id, psid, now_ms).await?;
        for tag in add {
            w.txn
                .execute_raw(self.stmt(
                    "INSERT INTO recipient_tags (recipient_id, tag) VALUES (?, ?) \
                     ON CONFLICT (recipient_id, tag) DO NOTHING",
                    vec![id.into(), tag.as_str().into()],
                ))
                .await?;
        }
        if !remove.is_empty() {
            let mut values: Vec<Value> = vec![id.into()];
            values.extend(remove.iter().map(|t| Value::from(t.as_str())));
            w.txn
                .execute_raw(self.stmt(
                    &format!(
                        "DELETE FROM recipient_tags WHERE recipient_id = ? AND tag IN ({})",
                        marks(remove.len())
                    ),
                    values,
                ))
                .await?;
        }
        if let Some(region) = region {
            w.txn
                .execute_raw(self.stmt(
                    "UPDATE recipients SET region = ? WHERE id = ?",
                    vec![region.map(Region::into_string).into(), id.into()],
                ))
                .await?;
        }
        w.commit().await?;
        self.recipient(page_id, psid)
            .await?
            .ok_or_else(|| Error::Internal("recipient vanished".into()))
    }

    /// Erases a person: grants, tags, opt-in requests and the row itself; their events keep
    /// their sequence numbers but lose every personal field.
    pub async fn forget_recipient(&self, page_id: &str, psid: &str) -> Result<Forgotten> {
        let w = self.write().await?;
        let row = w
            .txn
            .query_one_raw(self.stmt(
                "SELECT id FROM recipients WHERE page_id = ? AND psid = ?",
                vec![page_id.into(), psid.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(Forgotten::default());
        };
        let id: i64 = row.try_get("", "id")?;
        let mut out = Forgotten {
            found: true,
            ..Default::default()
        };
        out.deliveries = erase_deliveries(self, &w.txn, id).await?;
        for (table, counter) in [
            ("grants", Some(&mut out.grants)),
            ("opt_in_requests", Some(&mut out.opt_in_requests)),
            ("recipient_tags", None),
        ] {
            let n = w
                .txn
                .execute_raw(self.stmt(
                    &format!("DELETE FROM {table} WHERE recipient_id = ?"),
                    vec![id.into()],
                ))
                .await?
                .rows_affected();
            if let Some(c) = counter {
                *c = n;
            }
        }
        w.txn
            .execute_raw(self.stmt("DELETE FROM recipients WHERE id = ?", vec![id.into()]))
            .await?;
        w.txn
            .execute_raw(self.stmt(
                "DELETE FROM token_statuses WHERE page_id = ? AND psid = ?",
                vec![page_id.into(), psid.into()],
            ))
            .await?;
        w.txn
            .execute_raw(self.stmt(
                "UPDATE events SET psid = NULL, grant_id = NULL, message_id = NULL \
                 WHERE page_id = ? AND psid = ?",
                vec![page_id.into(), psid.into()],
            ))
            .await?;
        w.commit().await?;
        Ok(out)
    }

    /// Records a grant; a token already recorded for the same person, page and topic is a
    /// replay (`true`) that changes nothing, and for anyone else a conflict.
    pub async fn record_grant(&self, g: &NewGrant, now_ms: i64) -> Result<(GrantView, bool)> {
        if let Some(existing) = self.grant_by_token(g.token.expose()).await? {
            return replay_or_conflict(existing, g);
        }
        let w = self.write().await?;
        let rid = self
            .upsert_recipient(&w.txn, g.page_id.as_str(), g.psid.as_str(), now_ms)
            .await?;
        let tid = self
            .upsert_topic(
                &w.txn,
                g.page_id.as_str(),
                g.topic_key.as_str(),
                &g.topic_title,
                now_ms,
            )
            .await?;
        let inserted = w
            .txn
            .query_one_raw(self.stmt(
                "INSERT INTO grants (page_id, recipient_id, topic_id, kind, token, payload, \
                 opted_in_at, expires_at, state, state_changed_at, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token) DO NOTHING RETURNING id",
                vec![
                    g.page_id.as_str().into(),
                    rid.into(),
                    tid.into(),
                    (g.kind as i32).into(),
                    g.token.expose().into(),
                    g.payload.clone().into(),
                    g.opted_in_ms.into(),
                    g.expires_ms.into(),
                    (GrantState::Active as i32).into(),
                    g.opted_in_ms.into(),
                    now_ms.into(),
                ],
            ))
            .await?;
        let Some(row) = inserted else {
            drop(w);
            let existing = self
                .grant_by_token(g.token.expose())
                .await?
                .ok_or_else(|| Error::Aborted("grant recorded concurrently; retry".into()))?;
            return replay_or_conflict(existing, g);
        };
        let id: i64 = row.try_get("", "id")?;
        self.apply_early_stop(
            &w.txn,
            id,
            g.page_id.as_str(),
            g.psid.as_str(),
            g.token.expose(),
            g.opted_in_ms,
        )
        .await?;
        let mut ev = NewEvent::new(EventKind::OptInRecorded, g.page_id.as_str());
        ev.topic_key = Some(g.topic_key.to_string());
        ev.psid = Some(g.psid.to_string());
        ev.grant_id = Some(id);
        let mut w = w;
        events::append(self, &mut w, vec![ev], now_ms).await?;
        w.commit().await?;
        let view = self
            .grant(id)
            .await?
            .ok_or_else(|| Error::Internal("grant vanished".into()))?;
        Ok((view, false))
    }
}

fn replay_or_conflict(existing: GrantView, g: &NewGrant) -> Result<(GrantView, bool)> {
    if existing.page_id == g.page_id.as_str()
        && existing.psid == g.psid.as_str()
        && existing.topic_key == g.topic_key.as_str()
        && existing.kind == g.kind
    {
        Ok((existing, true))
    } else {
        Err(Error::AlreadyExists {
            reason: Reason::TokenConflict,
            message: "this token is already recorded for another person, page, topic or kind"
                .into(),
        })
    }
}

/// Erases a person's deliveries.
pub(crate) async fn erase_deliveries(
    store: &Store,
    c: &impl ConnectionTrait,
    recipient_id: i64,
) -> Result<u64> {
    Ok(c.execute_raw(store.stmt(
        "DELETE FROM deliveries WHERE recipient_id = ?",
        vec![recipient_id.into()],
    ))
    .await?
    .rows_affected())
}
