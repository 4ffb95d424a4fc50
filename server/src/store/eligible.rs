//! Who can be sent a message on a topic now: the keyset-paginated listing, the total, and the
//! per-reason count of those left out.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::{Store, sql::Sql};
use crate::domain::decide::reason;
use crate::domain::grant::{EligibleQuery, GrantState, GrantView, RecipientView, TagFilter};
use crate::domain::types::Region;
use crate::error::Result;

/// One eligible person and their usable grants, soonest-expiring first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    pub recipient: RecipientView,
    pub grants: Vec<GrantView>,
}

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    psid: String,
    region: Option<String>,
    last_interaction_at: Option<i64>,
}

/// `g` usable now: active and unexpired.
fn usable(sql: &mut Sql, now_ms: i64) {
    sql.push("g.state = ")
        .bind(GrantState::Active as i32)
        .push(" AND (g.expires_at IS NULL OR g.expires_at > ")
        .bind(now_ms)
        .push(")");
}

/// The tag condition over `r`, or None when the filter is empty.
pub(crate) fn tag_condition(sql: &mut Sql, f: &TagFilter) -> bool {
    if f.is_empty() {
        return false;
    }
    let tags = |ts: &[crate::domain::types::Tag]| -> Vec<String> {
        ts.iter().map(|t| t.as_str().to_string()).collect()
    };
    sql.push("(1 = 1");
    for t in &f.all_of {
        sql.push(
            " AND EXISTS (SELECT 1 FROM recipient_tags x WHERE x.recipient_id = r.id AND x.tag = ",
        )
        .bind(t.as_str())
        .push(")");
    }
    if !f.any_of.is_empty() {
        sql.push(" AND EXISTS (SELECT 1 FROM recipient_tags x WHERE x.recipient_id = r.id AND x.tag IN (")
            .bind_list(&tags(&f.any_of))
            .push("))");
    }
    if !f.none_of.is_empty() {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM recipient_tags x WHERE x.recipient_id = r.id AND x.tag IN (")
            .bind_list(&tags(&f.none_of))
            .push("))");
    }
    sql.push(")");
    true
}

pub(crate) fn region_condition(sql: &mut Sql, regions: &[Region]) -> bool {
    if regions.is_empty() {
        return false;
    }
    let list: Vec<String> = regions.iter().map(|r| r.as_str().to_string()).collect();
    sql.push("r.region IN (").bind_list(&list).push(")");
    true
}

/// FROM/WHERE of eligible (grant, recipient) pairs on `topic_id`, filters applied.
fn eligible_from(sql: &mut Sql, q: &EligibleQuery, topic_id: i64) {
    sql.push(" FROM grants g JOIN recipients r ON r.id = g.recipient_id WHERE g.topic_id = ")
        .bind(topic_id)
        .push(" AND ");
    usable(sql, q.now_ms);
    sql.push(" AND ");
    if tag_condition(sql, &q.tags) {
        sql.push(" AND ");
    }
    if region_condition(sql, &q.regions) {
        sql.push(" AND ");
    }
    sql.push("1 = 1");
}

impl Store {
    /// One page of eligible recipients after recipient row id `after`, ordered by row id.
    pub async fn list_eligible(
        &self,
        q: &EligibleQuery,
        topic_id: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<Eligible>> {
        let mut sql = Sql::new(
            "SELECT r.id, r.psid, r.region, r.last_interaction_at FROM recipients r \
             WHERE r.id IN (SELECT g.recipient_id",
        );
        eligible_from(&mut sql, q, topic_id);
        sql.push(" AND g.recipient_id > ")
            .bind(after)
            .push(" ORDER BY g.recipient_id LIMIT ")
            .bind(limit as i64)
            .push(") ORDER BY r.id");
        let rows = Row::find_by_statement(self.stmt(&sql.text, sql.values))
            .all(self.db())
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut tags = self.tags_of(&ids).await?;
        let mut gsql = Sql::new("r.id IN (");
        gsql.bind_list(&ids)
            .push(") AND g.topic_id = ")
            .bind(topic_id)
            .push(" AND ");
        usable(&mut gsql, q.now_ms);
        let mut grants: HashMap<i64, Vec<GrantView>> = HashMap::new();
        let psid_to_id: HashMap<&str, i64> = rows.iter().map(|r| (r.psid.as_str(), r.id)).collect();
        for g in self.grants_where(&gsql.text, gsql.values).await? {
            if let Some(id) = psid_to_id.get(g.psid.as_str()) {
                grants.entry(*id).or_default().push(g);
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| Eligible {
                grants: grants.remove(&r.id).unwrap_or_default(),
                recipient: RecipientView {
                    id: r.id,
                    page_id: q.page_id.to_string(),
                    psid: r.psid,
                    tags: tags.remove(&r.id).unwrap_or_default(),
                    region: r.region,
                    last_interaction_ms: r.last_interaction_at,
                },
            })
            .collect())
    }

    /// How many recipients are eligible in all.
    pub async fn count_eligible(&self, q: &EligibleQuery, topic_id: i64) -> Result<i64> {
        let mut sql = Sql::new("SELECT COUNT(DISTINCT g.recipient_id) AS n");
        eligible_from(&mut sql, q, topic_id);
        let row = self
            .db()
            .query_one_raw(self.stmt(&sql.text, sql.values))
            .await?;
        Ok(match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        })
    }

    /// Recipients holding any grant on the topic who are not eligible, per reason. Each
    /// person counts once, under the first reason that applies: filters first (they hold a
    /// usable grant), then reserved, stopped, expired, consumed, invalid, revoked.
    pub async fn count_exclusions(
        &self,
        q: &EligibleQuery,
        topic_id: i64,
    ) -> Result<Vec<(i32, i64)>> {
        let mut s =
            Sql::new("SELECT reason, COUNT(*) AS n FROM (SELECT r.id, CASE WHEN MAX(CASE WHEN ");
        usable(&mut s, q.now_ms);
        s.push(" THEN 1 ELSE 0 END) = 1 THEN CASE");
        let mut any_filter = false;
        let mut tags = Sql::default();
        if tag_condition(&mut tags, &q.tags) {
            s.push(" WHEN NOT ").push(&tags.text);
            s.values.append(&mut tags.values);
            s.push(" THEN ").bind(reason::TAG_FILTER);
            any_filter = true;
        }
        let mut regions = Sql::default();
        if region_condition(&mut regions, &q.regions) {
            s.push(" WHEN r.region IS NULL OR NOT ").push(&regions.text);
            s.values.append(&mut regions.values);
            s.push(" THEN ").bind(reason::REGION_FILTER);
            any_filter = true;
        }
        if !any_filter {
            s.push(" WHEN 1 = 0 THEN 0");
        }
        s.push(" ELSE 0 END");
        for (state, reason) in [
            (GrantState::Reserved, reason::RESERVED),
            (GrantState::Stopped, reason::STOPPED),
        ] {
            s.push(" WHEN MAX(CASE WHEN g.state = ")
                .bind(state as i32)
                .push(" THEN 1 ELSE 0 END) = 1 THEN ")
                .bind(reason);
        }
        s.push(" WHEN MAX(CASE WHEN g.state = ")
            .bind(GrantState::Expired as i32)
            .push(" OR g.state = ")
            .bind(GrantState::Active as i32)
            .push(" THEN 1 ELSE 0 END) = 1 THEN ")
            .bind(reason::EXPIRED);
        for (state, reason) in [
            (GrantState::Consumed, reason::CONSUMED),
            (GrantState::Invalid, reason::INVALID),
        ] {
            s.push(" WHEN MAX(CASE WHEN g.state = ")
                .bind(state as i32)
                .push(" THEN 1 ELSE 0 END) = 1 THEN ")
                .bind(reason);
        }
        s.push(" ELSE ").bind(reason::REVOKED);
        s.push(" END AS reason FROM grants g JOIN recipients r ON r.id = g.recipient_id WHERE g.topic_id = ")
            .bind(topic_id)
            .push(" GROUP BY r.id, r.region) x WHERE reason <> 0 GROUP BY reason ORDER BY reason");
        let rows = self
            .db()
            .query_all_raw(self.stmt(&s.text, s.values))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i32>("", "reason")?, r.try_get::<i64>("", "n")?)))
            .collect()
    }
}
