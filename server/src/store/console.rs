//! The operator console's reads: pages' pause rows, a page's topics, a notification's failures
//! grouped by Meta's code, and from the tail of the event log the recent rate-limit failures
//! and sends per second.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::codes::{Code, values};
use super::schema::{Deliveries, Events, Pages, Topics};
use crate::domain::event::Failure;
use crate::domain::vocab::{DeliveryState, EventKind};
use crate::error::Result;

/// The time-window reads scan at most this many of the log's latest events (through the
/// sequence index: the log has no index on time), so a console poll stays cheap however
/// long the log is.
pub(crate) const TAIL_EVENTS: i64 = 500_000;

/// A page's pause row.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub(crate) struct PageRow {
    pub(crate) page_id: String,
    pub(crate) paused_until: Option<i64>,
    pub(crate) pause_reason: Option<String>,
}

/// Failed deliveries of one kind: Meta's reason, code and subcode, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailureCount {
    pub(crate) reason: String,
    pub(crate) code: i32,
    pub(crate) subcode: i32,
    /// One of Meta's messages for it.
    pub(crate) message: String,
    pub(crate) count: i64,
}

/// Counts read from the tail of the log up to a sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally<T> {
    /// Every event up to this sequence was counted (none after it).
    pub(crate) through: i64,
    pub(crate) counts: T,
}

/// The log's sequences a time-window read looks at: at most [`TAIL_EVENTS`], through the head.
fn tail_bounds(head: i64) -> (i64, i64) {
    (std::cmp::max(head - TAIL_EVENTS, 0), head)
}

impl Store {
    /// The pause rows of these pages.
    pub(crate) async fn console_pages(&self, page_ids: &[String]) -> Result<Vec<PageRow>> {
        let stmt = Query::select()
            .columns([Pages::PageId, Pages::PausedUntil, Pages::PauseReason])
            .from(Pages::Table)
            .and_where(Expr::col(Pages::PageId).is_in(page_ids.iter().cloned()))
            .order_by(Pages::PageId, Order::Asc)
            .to_owned();
        let backend = self.db().get_database_backend();
        Ok(PageRow::find_by_statement(backend.build(&stmt))
            .all(self.db())
            .await?)
    }

    /// Up to `limit` topic keys of a page, by key.
    pub(crate) async fn console_topics(&self, page_id: &str, limit: u64) -> Result<Vec<String>> {
        let stmt = Query::select()
            .column(Topics::TopicKey)
            .from(Topics::Table)
            .and_where(Expr::col(Topics::PageId).eq(page_id))
            .order_by(Topics::TopicKey, Order::Asc)
            .limit(limit)
            .to_owned();
        self.db()
            .query_all(&stmt)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("", "topic_key")?))
            .collect()
    }

    /// A notification's failed deliveries, per reason, code and subcode, most first.
    pub(crate) async fn console_failures(
        &self,
        notification_id: &str,
    ) -> Result<Vec<FailureCount>> {
        let stmt = Query::select()
            .column(Deliveries::Failure)
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::NotificationId).eq(notification_id))
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Failed.code()))
            .group_by_col(Deliveries::Failure)
            .to_owned();
        let mut groups: BTreeMap<(String, i32, i32), FailureCount> = BTreeMap::new();
        for r in self.db().query_all(&stmt).await? {
            let raw: Option<String> = r.try_get("", "failure")?;
            let n: i64 = r.try_get("", "n")?;
            let f = raw
                .and_then(|s| serde_json::from_str::<Failure>(&s).ok())
                .unwrap_or_else(|| Failure {
                    reason: "UNKNOWN".into(),
                    code: 0,
                    subcode: 0,
                    message: String::new(),
                });
            groups
                .entry((f.reason.clone(), f.code, f.subcode))
                .or_insert(FailureCount {
                    reason: f.reason,
                    code: f.code,
                    subcode: f.subcode,
                    message: f.message,
                    count: 0,
                })
                .count += n;
        }
        let mut out: Vec<FailureCount> = groups.into_values().collect();
        out.sort_by_key(|f| std::cmp::Reverse(f.count));
        Ok(out)
    }

    /// Per page, the failures and retries of the log's tail since `since_ms` whose Meta error
    /// code is `code` (613: the page hit a rate limit).
    pub(crate) async fn console_recent_code(
        &self,
        page_ids: &[String],
        code: i32,
        since_ms: i64,
    ) -> Result<Tally<BTreeMap<String, i64>>> {
        let (from, through) = tail_bounds(self.last_event_seq().await?);
        let stmt = Query::select()
            .columns([Events::PageId, Events::Failure])
            .from(Events::Table)
            .and_where(Expr::col(Events::Seq).gt(from))
            .and_where(Expr::col(Events::Seq).lte(through))
            .and_where(Expr::col(Events::At).gte(since_ms))
            .and_where(Expr::col(Events::PageId).is_in(page_ids.iter().cloned()))
            .and_where(
                Expr::col(Events::Kind)
                    .is_in(values(&[EventKind::Failed, EventKind::RetryScheduled])),
            )
            .to_owned();
        let mut counts = BTreeMap::new();
        for r in self.db().query_all(&stmt).await? {
            let raw: Option<String> = r.try_get("", "failure")?;
            let hit = raw
                .and_then(|s| serde_json::from_str::<Failure>(&s).ok())
                .is_some_and(|f| f.code == code);
            if hit {
                *counts.entry(r.try_get("", "page_id")?).or_insert(0) += 1;
            }
        }
        Ok(Tally { through, counts })
    }

    /// SENT events of the log's tail since `since_ms`, per page and second (epoch seconds).
    pub(crate) async fn console_sends_per_second(
        &self,
        page_ids: &[String],
        since_ms: i64,
    ) -> Result<Tally<Vec<(String, i64, i64)>>> {
        let (from, through) = tail_bounds(self.last_event_seq().await?);
        let second = Alias::new("second");
        let stmt = Query::select()
            .column(Events::PageId)
            .expr_as(Expr::col(Events::At).div(1000), second.clone())
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from(Events::Table)
            .and_where(Expr::col(Events::Seq).gt(from))
            .and_where(Expr::col(Events::Seq).lte(through))
            .and_where(Expr::col(Events::At).gte(since_ms))
            .and_where(Expr::col(Events::PageId).is_in(page_ids.iter().cloned()))
            .and_where(Expr::col(Events::Kind).eq(EventKind::Sent.code()))
            .group_by_col(Events::PageId)
            // By the alias: a repeated expression would bind its own `1000` parameter, which
            // PostgreSQL does not take for the same expression.
            .group_by_col(second.clone())
            .order_by(Events::PageId, Order::Asc)
            .order_by(second, Order::Asc)
            .to_owned();
        let mut counts = Vec::new();
        for r in self.db().query_all(&stmt).await? {
            counts.push((
                r.try_get("", "page_id")?,
                r.try_get("", "second")?,
                r.try_get("", "n")?,
            ));
        }
        Ok(Tally { through, counts })
    }
}
