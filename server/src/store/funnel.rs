//! The funnel's maintained counts (`funnel_days`): added to by the transaction that appends the
//! events they count (`events::flush`, under the log's lock), read per topic or per notification
//! over a range of days by primary-key or index range — never from the log.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::Store;
use super::codes::Code;
use super::schema::FunnelDays;
use crate::domain::funnel::{FunnelStep, TallyKey};
use crate::error::Result;

/// Rows per upsert statement.
const CHUNK: usize = 400;

/// Adds `tally` to the counts, inside the transaction that appended the events it counts. The
/// keys come sorted (a `BTreeMap`), so concurrent transactions would lock rows in one order; on
/// PostgreSQL they hold the log's lock besides, so they never wait for each other here.
pub(super) async fn add(txn: &DatabaseTransaction, tally: &BTreeMap<TallyKey, i64>) -> Result<()> {
    let rows: Vec<(&TallyKey, &i64)> = tally.iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert
            .into_table(FunnelDays::Table)
            .columns([
                FunnelDays::PageId,
                FunnelDays::TopicKey,
                FunnelDays::NotificationId,
                FunnelDays::Day,
                FunnelDays::Step,
                FunnelDays::N,
            ])
            .on_conflict(
                OnConflict::columns([
                    FunnelDays::PageId,
                    FunnelDays::TopicKey,
                    FunnelDays::NotificationId,
                    FunnelDays::Day,
                    FunnelDays::Step,
                ])
                .value(
                    FunnelDays::N,
                    Expr::col((FunnelDays::Table, FunnelDays::N))
                        .add(Expr::col((Alias::new("excluded"), FunnelDays::N))),
                )
                .to_owned(),
            );
        for (k, n) in chunk {
            insert.values_panic([
                k.page_id.clone().into(),
                k.topic_key.clone().into(),
                k.notification_id.clone().into(),
                k.day.into(),
                k.step.code().into(),
                (**n).into(),
            ]);
        }
        txn.execute(&insert).await?;
    }
    Ok(())
}

/// After the commit: the Prometheus counters of the steps counted, by page (the topic-wide keys
/// only, so each event counts once).
pub(super) fn counted(tally: &BTreeMap<TallyKey, i64>) {
    for (k, n) in tally {
        if k.notification_id.is_empty() {
            crate::ops::metrics::funnel_step(&k.page_id, step_name(k.step), *n as u64);
        }
    }
}

/// The name of a step (a metric label, and the console's key).
pub(crate) fn step_name(step: FunnelStep) -> &'static str {
    use FunnelStep as S;
    match step {
        S::OptInRequested => "opt_in_requested",
        S::OptedIn => "opted_in",
        S::GrantUsed => "grant_used",
        S::Queued => "queued",
        S::Sent => "sent",
        S::Delivered => "delivered",
        S::Read => "read",
        S::Engaged => "engaged",
        S::EngagedMessage => "engaged_message",
        S::EngagedPostback => "engaged_postback",
        S::Clicked => "clicked",
        S::Failed => "failed",
        S::Unconfirmed => "unconfirmed",
        S::Cancelled => "cancelled",
        S::GrantExpired => "grant_expired",
        S::GrantStopped => "grant_stopped",
        S::GrantResumed => "grant_resumed",
        S::GrantRevoked => "grant_revoked",
    }
}

/// Where a notification was counted: its page, its topic and the first day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) page_id: String,
    pub(crate) topic_key: String,
    pub(crate) first_day: i64,
}

fn rows_of(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<(i64, FunnelStep, i64)>> {
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64>("", "day")?,
                FunnelStep::from_code(r.try_get::<i32>("", "step")?)?,
                r.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

impl Store {
    /// The counts of a page's topic per day and step, `first_day..=last_day` (a range of the
    /// primary key).
    pub(crate) async fn funnel_of_topic(
        &self,
        page_id: &str,
        topic_key: &str,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<(i64, FunnelStep, i64)>> {
        let q = Query::select()
            .columns([FunnelDays::Day, FunnelDays::Step, FunnelDays::N])
            .from(FunnelDays::Table)
            .and_where(Expr::col(FunnelDays::PageId).eq(page_id))
            .and_where(Expr::col(FunnelDays::TopicKey).eq(topic_key))
            .and_where(Expr::col(FunnelDays::NotificationId).eq(""))
            .and_where(Expr::col(FunnelDays::Day).gte(first_day))
            .and_where(Expr::col(FunnelDays::Day).lte(last_day))
            .order_by(FunnelDays::Day, Order::Asc)
            .to_owned();
        rows_of(self.db().query_all(&q).await?)
    }

    /// Where the notification was counted, if it ever was.
    pub(crate) async fn funnel_counted(&self, notification_id: &str) -> Result<Option<Counted>> {
        let q = Query::select()
            .columns([FunnelDays::PageId, FunnelDays::TopicKey, FunnelDays::Day])
            .from(FunnelDays::Table)
            .and_where(Expr::col(FunnelDays::NotificationId).eq(notification_id))
            .and_where(Expr::col(FunnelDays::NotificationId).ne(""))
            .order_by(FunnelDays::Day, Order::Asc)
            .limit(1)
            .to_owned();
        let Some(r) = self.db().query_one(&q).await? else {
            return Ok(None);
        };
        Ok(Some(Counted {
            page_id: r.try_get("", "page_id")?,
            topic_key: r.try_get("", "topic_key")?,
            first_day: r.try_get("", "day")?,
        }))
    }

    /// The counts of a notification per day and step, `first_day..=last_day` (a range of the
    /// notification's index).
    pub(crate) async fn funnel_of_notification(
        &self,
        notification_id: &str,
        first_day: i64,
        last_day: i64,
    ) -> Result<Vec<(i64, FunnelStep, i64)>> {
        // A notification has one page and topic: one row per day and step.
        let q = Query::select()
            .columns([FunnelDays::Day, FunnelDays::Step, FunnelDays::N])
            .from(FunnelDays::Table)
            .and_where(Expr::col(FunnelDays::NotificationId).eq(notification_id))
            .and_where(Expr::col(FunnelDays::NotificationId).ne(""))
            .and_where(Expr::col(FunnelDays::Day).gte(first_day))
            .and_where(Expr::col(FunnelDays::Day).lte(last_day))
            .order_by(FunnelDays::Day, Order::Asc)
            .to_owned();
        rows_of(self.db().query_all(&q).await?)
    }
}
