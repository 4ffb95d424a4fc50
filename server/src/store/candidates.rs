//! The candidates of a chunk of a send: people (by row id, or named) with their grants on the
//! topic and whether they pass the send's filters.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, CaseStatement, Cond, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::codes::Code;
use super::eligible::{region_condition, tag_condition};
use super::schema::{Deliveries, Grants, Recipients};
use crate::domain::grant::{GrantFacts, PersonFacts, TagFilter};
use crate::domain::plan::Candidate;
use crate::domain::values::{Psid, Region};
use crate::domain::vocab::{DeliveryState, GrantKind, GrantState};
use crate::error::Result;

#[derive(FromQueryResult)]
struct CandidateRow {
    rid: i64,
    psid: String,
    region: Option<String>,
    last_interaction_at: Option<i64>,
    time_zone: Option<String>,
    optin_time_zone: Option<String>,
    tag_ok: i32,
    region_ok: i32,
    gid: Option<i64>,
    kind: Option<i32>,
    state: Option<i32>,
    opted_in_at: Option<i64>,
    expires_at: Option<i64>,
    last_sent_at: Option<i64>,
}

fn flag(c: Option<Cond>) -> Expr {
    match c {
        Some(c) => CaseStatement::new().case(c, 1).finally(0).into(),
        None => Expr::val(1),
    }
}

/// Whose candidacy to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who<'a> {
    /// These people of the topic, by row id (those without a grant on it are left out).
    Ids(&'a [i64]),
    /// Exactly these people of the page, by PSID, with or without grants on the topic.
    Named(&'a [Psid]),
}

impl Store {
    /// The people `who` names, by row id, with their grants on the topic and whether they
    /// pass the tag and region filters.
    pub(crate) async fn candidates(
        &self,
        page_id: &str,
        topic_id: Option<i64>,
        tags: &TagFilter,
        regions: &[Region],
        who: Who<'_>,
    ) -> Result<Vec<Candidate>> {
        let r = |c: Recipients| (Recipients::Table, c);
        let gc = |c: Grants| (Grants::Table, c);
        let topic = Expr::col(gc(Grants::TopicId)).eq(topic_id.unwrap_or(-1));
        let joined = Cond::all()
            .add(Expr::col(gc(Grants::RecipientId)).equals(r(Recipients::Id)))
            .add(topic);
        let mut s = Query::select();
        s.expr_as(Expr::col(r(Recipients::Id)), Alias::new("rid"))
            .columns([
                r(Recipients::Psid),
                r(Recipients::Region),
                r(Recipients::LastInteractionAt),
                r(Recipients::TimeZone),
                r(Recipients::OptinTimeZone),
            ])
            .expr_as(
                flag(tag_condition(tags, r(Recipients::Id))),
                Alias::new("tag_ok"),
            )
            .expr_as(flag(region_condition(regions)), Alias::new("region_ok"))
            .expr_as(Expr::col(gc(Grants::Id)), Alias::new("gid"))
            .columns([
                gc(Grants::Kind),
                gc(Grants::State),
                gc(Grants::OptedInAt),
                gc(Grants::ExpiresAt),
                gc(Grants::LastSentAt),
            ])
            .from(Recipients::Table);
        match who {
            Who::Named(list) => {
                s.left_join(Grants::Table, joined)
                    .and_where(Expr::col(r(Recipients::PageId)).eq(page_id))
                    .and_where(
                        Expr::col(r(Recipients::Psid))
                            .is_in(list.iter().map(|p| p.as_str().to_string())),
                    );
            }
            Who::Ids(ids) => {
                s.inner_join(Grants::Table, joined)
                    .and_where(Expr::col(r(Recipients::Id)).is_in(ids.iter().copied()));
            }
        }
        s.order_by(r(Recipients::Id), Order::Asc)
            .order_by(gc(Grants::Id), Order::Asc);
        let rows = CandidateRow::find_by_statement(self.db().get_database_backend().build(&s))
            .all(self.db())
            .await?;
        let mut out: Vec<Candidate> = Vec::new();
        for row in rows {
            if out.last().is_none_or(|c| c.recipient_id != row.rid) {
                out.push(Candidate {
                    recipient_id: row.rid,
                    psid: row.psid.clone(),
                    tag_ok: row.tag_ok == 1,
                    region_ok: row.region_ok == 1,
                    zone: row.time_zone.clone().or(row.optin_time_zone.clone()),
                    times: Vec::new(),
                    facts: PersonFacts {
                        region: row.region.clone(),
                        last_interaction_ms: row.last_interaction_at,
                        grants: Vec::new(),
                    },
                });
            }
            if let (Some(id), Some(kind), Some(state), Some(opted), Some(c)) = (
                row.gid,
                row.kind,
                row.state,
                row.opted_in_at,
                out.last_mut(),
            ) {
                c.facts.grants.push(GrantFacts {
                    id,
                    kind: GrantKind::from_code(kind)?,
                    state: GrantState::from_code(state)?,
                    opted_in_ms: opted,
                    expires_ms: row.expires_at,
                    last_sent_ms: row.last_sent_at,
                });
            }
        }
        Ok(out)
    }
}

impl Store {
    /// What a frequency cap counts for these people of the page: when each was sent a
    /// notification after `since_ms` (the sent-only person index), their deliveries being sent
    /// (as now), and when each of their queued deliveries is due, no earlier than `now_ms` (the
    /// queued-only person index).
    pub(crate) async fn person_times(
        &self,
        page_id: &str,
        psids: &[String],
        since_ms: i64,
        now_ms: i64,
    ) -> Result<HashMap<String, Vec<i64>>> {
        let mut out: HashMap<String, Vec<i64>> = HashMap::new();
        for chunk in psids.chunks(500) {
            let sent = Query::select()
                .columns([Deliveries::Psid, Deliveries::SentAt])
                .from(Deliveries::Table)
                .and_where(Expr::col(Deliveries::PageId).eq(page_id))
                .and_where(Expr::col(Deliveries::Psid).is_in(chunk.iter().cloned()))
                .and_where(Expr::col(Deliveries::SentAt).gt(since_ms))
                .to_owned();
            for r in self.db().query_all(&sent).await? {
                out.entry(r.try_get("", "psid")?)
                    .or_default()
                    .push(r.try_get("", "sent_at")?);
            }
            // In flight (the partial leased index, a page's few claims): counted as now.
            let sending = Query::select()
                .column(Deliveries::Psid)
                .from(Deliveries::Table)
                .and_where(Expr::col(Deliveries::PageId).eq(page_id))
                .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Sending.literal()))
                .and_where(Expr::col(Deliveries::Psid).is_in(chunk.iter().cloned()))
                .to_owned();
            for r in self.db().query_all(&sending).await? {
                out.entry(r.try_get("", "psid")?).or_default().push(now_ms);
            }
            let queued = Query::select()
                .columns([Deliveries::Psid, Deliveries::NextAttemptAt])
                .from(Deliveries::Table)
                .and_where(Expr::col(Deliveries::PageId).eq(page_id))
                .and_where(Expr::col(Deliveries::Psid).is_in(chunk.iter().cloned()))
                // A literal, so the partial index on queued rows serves it.
                .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.literal()))
                .to_owned();
            for r in self.db().query_all(&queued).await? {
                let due: i64 = r.try_get("", "next_attempt_at")?;
                out.entry(r.try_get("", "psid")?)
                    .or_default()
                    .push(Ord::max(due, now_ms));
            }
        }
        Ok(out)
    }
}
