//! Who can be sent a message on a topic now: the keyset-paginated listing, the total, and the
//! per-reason count of those left out. The usable-grant predicate and the order of exclusion
//! reasons are the domain's (`domain::grant`), rendered here as SQL.

use sea_orm::sea_query::{
    Alias, Asterisk, CaseStatement, Cond, Expr, ExprTrait, IntoColumnRef, JoinType, Order, Query,
    SelectStatement,
};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::codes::{Code, values};
use super::grants::{GrantRow, grant_select};
use super::schema::{Grants, RecipientTags, Recipients};
use crate::domain::grant::{
    EligibleQuery, GrantTest, GrantView, NO_USABLE_FALLBACK, RecipientView, STATE_REASONS,
    TagFilter, USABLE_STATES,
};
use crate::domain::values::Region;
use crate::domain::vocab::{ExclusionReason, GrantState};
use crate::error::Result;

/// One eligible person and their usable grants, soonest-expiring first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Eligible {
    pub(crate) recipient: RecipientView,
    pub(crate) grants: Vec<GrantView>,
}

fn g(col: Grants) -> (Grants, Grants) {
    (Grants::Table, col)
}

/// SQL of [`crate::domain::grant::usable`]: a usable state and not lapsed at `now_ms`.
pub(super) fn usable(now_ms: i64) -> Cond {
    Cond::all()
        .add(Expr::col(g(Grants::State)).is_in(values(&USABLE_STATES)))
        .add(not_lapsed(now_ms))
}

fn not_lapsed(now_ms: i64) -> Cond {
    Cond::any()
        .add(Expr::col(g(Grants::ExpiresAt)).is_null())
        .add(Expr::col(g(Grants::ExpiresAt)).gt(now_ms))
}

/// SQL of [`GrantTest::holds`].
fn holds(test: GrantTest, now_ms: i64) -> Cond {
    match test {
        GrantTest::In(s) => Cond::all().add(Expr::col(g(Grants::State)).eq(s.code())),
        GrantTest::Lapsed => Cond::any()
            .add(Expr::col(g(Grants::State)).eq(GrantState::Expired.code()))
            .add(
                Cond::all()
                    .add(Expr::col(g(Grants::State)).eq(GrantState::Active.code()))
                    .add(Expr::col(g(Grants::ExpiresAt)).lte(now_ms)),
            ),
    }
}

/// The tag filter over the person whose id is `person`, or None when it lets everyone through.
/// At most three subqueries whatever the lists hold (each list is one `IN`): `all_of` counts
/// the person's tags among the list (tags are distinct per person), `any_of` and `none_of` are
/// one EXISTS each, so the statement's shape never grows with the number of tags.
pub(super) fn tag_condition(f: &TagFilter, person: impl IntoColumnRef + Clone) -> Option<Cond> {
    if f.is_empty() {
        return None;
    }
    let x = Alias::new("x");
    let tagged = |tags: &[crate::domain::values::Tag]| {
        Query::select()
            .from_as(RecipientTags::Table, x.clone())
            .and_where(Expr::col((x.clone(), RecipientTags::RecipientId)).equals(person.clone()))
            .and_where(
                Expr::col((x.clone(), RecipientTags::Tag))
                    .is_in(tags.iter().map(|t| t.as_str().to_string())),
            )
            .to_owned()
    };
    let mut c = Cond::all();
    if !f.all_of.is_empty() {
        let held = tagged(&f.all_of)
            .expr(Expr::col(Asterisk).count())
            .to_owned();
        let held = sea_orm::sea_query::SubQueryStatement::from(held);
        c = c.add(Expr::expr(held).eq(f.all_of.len() as i64));
    }
    if !f.any_of.is_empty() {
        c = c.add(Expr::exists(
            tagged(&f.any_of).expr(Expr::val(1)).to_owned(),
        ));
    }
    if !f.none_of.is_empty() {
        c = c.add(Expr::exists(tagged(&f.none_of).expr(Expr::val(1)).to_owned()).not());
    }
    Some(c)
}

/// The region filter over the recipients table, or None when it lets everyone through.
pub(super) fn region_condition(regions: &[Region]) -> Option<Cond> {
    if regions.is_empty() {
        return None;
    }
    Some(
        Cond::all().add(
            Expr::col((Recipients::Table, Recipients::Region))
                .is_in(regions.iter().map(|r| r.as_str().to_string())),
        ),
    )
}

/// Eligible (grant, person) pairs on `topic_id`, filters applied. Driven by the grants index
/// (topic, state, recipient); recipients are joined only for a region filter.
fn eligible_pairs(q: &EligibleQuery, topic_id: i64, now_ms: i64) -> SelectStatement {
    let mut s = Query::select();
    s.from(Grants::Table)
        .and_where(Expr::col(g(Grants::TopicId)).eq(topic_id))
        .cond_where(usable(now_ms));
    if let Some(c) = tag_condition(&q.tags, g(Grants::RecipientId)) {
        s.cond_where(c);
    }
    if let Some(c) = region_condition(&q.regions) {
        s.inner_join(
            Recipients::Table,
            Expr::col((Recipients::Table, Recipients::Id)).equals(g(Grants::RecipientId)),
        )
        .cond_where(c);
    }
    s
}

impl Store {
    /// Up to `limit` eligible people after recipient row id `after`, by row id, with their
    /// usable grants (soonest-expiring first) and tags: one statement, whose keyset part is
    /// read from the usable-grants index.
    pub(crate) async fn list_eligible(
        &self,
        q: &EligibleQuery,
        topic_id: i64,
        after: i64,
        limit: u64,
        now_ms: i64,
    ) -> Result<Vec<Eligible>> {
        let page = Alias::new("page");
        let ids = eligible_pairs(q, topic_id, now_ms)
            .distinct()
            .column(g(Grants::RecipientId))
            .and_where(Expr::col(g(Grants::RecipientId)).gt(after))
            .order_by(g(Grants::RecipientId), Order::Asc)
            .limit(limit)
            .to_owned();
        // The person's tags, sorted, as one comma-separated column (tags cannot hold a comma).
        let tags = match self.is_postgres() {
            true => {
                "(SELECT string_agg(x.tag, ',' ORDER BY x.tag) FROM recipient_tags x \
                     WHERE x.recipient_id = recipients.id)"
            }
            false => {
                "(SELECT group_concat(tag, ',') FROM (SELECT x.tag FROM recipient_tags x \
                      WHERE x.recipient_id = recipients.id ORDER BY x.tag))"
            }
        };
        let stmt = grant_select()
            .expr_as(
                Expr::col((Recipients::Table, Recipients::Id)),
                Alias::new("rid"),
            )
            .column((Recipients::Table, Recipients::Region))
            .column((Recipients::Table, Recipients::LastInteractionAt))
            .column((Recipients::Table, Recipients::TimeZone))
            .column((Recipients::Table, Recipients::OptinTimeZone))
            .expr_as(Expr::cust(tags), Alias::new("tags"))
            .join_subquery(
                JoinType::InnerJoin,
                ids,
                page.clone(),
                Expr::col((page, Grants::RecipientId)).equals((Recipients::Table, Recipients::Id)),
            )
            .and_where(Expr::col(g(Grants::TopicId)).eq(topic_id))
            .cond_where(usable(now_ms))
            .order_by((Recipients::Table, Recipients::Id), Order::Asc)
            .order_by(g(Grants::ExpiresAt), Order::Asc)
            .order_by(g(Grants::Id), Order::Asc)
            .to_owned();
        let rows = self.db().query_all(&stmt).await?;
        let mut out: Vec<Eligible> = Vec::new();
        for r in &rows {
            let grant = GrantView::try_from(GrantRow::from_query_result(r, "")?)?;
            let rid: i64 = r.try_get("", "rid")?;
            if out.last().is_none_or(|e| e.recipient.id != rid) {
                let tags: Option<String> = r.try_get("", "tags")?;
                out.push(Eligible {
                    recipient: RecipientView {
                        id: rid,
                        page_id: q.page_id.to_string(),
                        psid: grant.psid.clone(),
                        tags: tags
                            .map(|t| t.split(',').map(str::to_string).collect())
                            .unwrap_or_default(),
                        region: r.try_get("", "region")?,
                        last_interaction_ms: r.try_get("", "last_interaction_at")?,
                        time_zone: r
                            .try_get::<Option<String>>("", "time_zone")?
                            .or(r.try_get("", "optin_time_zone")?),
                    },
                    grants: Vec::new(),
                });
            }
            if let Some(e) = out.last_mut() {
                e.grants.push(grant);
            }
        }
        Ok(out)
    }

    /// How many people are eligible in all.
    pub(crate) async fn count_eligible(
        &self,
        q: &EligibleQuery,
        topic_id: i64,
        now_ms: i64,
    ) -> Result<i64> {
        let stmt = eligible_pairs(q, topic_id, now_ms)
            .expr_as(
                Expr::col(g(Grants::RecipientId)).count_distinct(),
                Alias::new("n"),
            )
            .to_owned();
        Ok(match self.db().query_one(&stmt).await? {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        })
    }

    /// People holding any grant on the topic who are not eligible, per reason. Each person
    /// counts once, under the first reason that applies: the filters first (they hold a usable
    /// grant), then [`STATE_REASONS`] in order.
    pub(crate) async fn count_exclusions(
        &self,
        q: &EligibleQuery,
        topic_id: i64,
        now_ms: i64,
    ) -> Result<Vec<(ExclusionReason, i64)>> {
        let any = |c: Cond| CaseStatement::new().case(c, 1).finally(0).max().eq(1);
        let mut filters = CaseStatement::new();
        let mut filtered = false;
        if let Some(c) = tag_condition(&q.tags, (Recipients::Table, Recipients::Id)) {
            filters = filters.case(c.not(), ExclusionReason::TagFilter.code());
            filtered = true;
        }
        if let Some(c) = region_condition(&q.regions) {
            let outside = Cond::any()
                .add(Expr::col((Recipients::Table, Recipients::Region)).is_null())
                .add(c.not());
            filters = filters.case(outside, ExclusionReason::RegionFilter.code());
            filtered = true;
        }
        let filters = match filtered {
            true => filters.finally(0).into(),
            false => Expr::val(0),
        };
        let mut reason = CaseStatement::new().case(any(usable(now_ms)), filters);
        for (r, test) in STATE_REASONS {
            reason = reason.case(any(holds(test, now_ms)), r.code());
        }
        let reason = reason.finally(NO_USABLE_FALLBACK.code());
        let per_person = Query::select()
            .column((Recipients::Table, Recipients::Id))
            .expr_as(reason, Alias::new("reason"))
            .from(Grants::Table)
            .inner_join(
                Recipients::Table,
                Expr::col((Recipients::Table, Recipients::Id)).equals(g(Grants::RecipientId)),
            )
            .and_where(Expr::col(g(Grants::TopicId)).eq(topic_id))
            .group_by_col((Recipients::Table, Recipients::Id))
            .group_by_col((Recipients::Table, Recipients::Region))
            .to_owned();
        let x = Alias::new("x");
        let stmt = Query::select()
            .column((x.clone(), Alias::new("reason")))
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from_subquery(per_person, x.clone())
            .and_where(Expr::col((x.clone(), Alias::new("reason"))).ne(0))
            .group_by_col((x.clone(), Alias::new("reason")))
            .order_by((x, Alias::new("reason")), Order::Asc)
            .to_owned();
        let rows = self.db().query_all(&stmt).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    ExclusionReason::from_code(r.try_get("", "reason")?)?,
                    r.try_get::<i64>("", "n")?,
                ))
            })
            .collect()
    }
}
