//! Delivery and read receipts (by mid, or by watermark) and engagement after a notification.

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, UpdateStatement};

use super::codes::{Code, values};
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, EarlyReceipts, Notifications};
use super::{Store, WriteTxn, events};
use crate::domain::event::NewEvent;
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind};
use crate::error::Result;

/// How long a receipt whose mid matched no send is kept for the send's outcome to arrive.
const EARLY_RECEIPT_TTL_MS: i64 = 86_400_000;

/// A delivery the person engaged with, and the notification's rolling-consent title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Engaged {
    pub(crate) delivery_id: i64,
    pub(crate) topic_key: String,
    pub(crate) rolling_title: Option<String>,
}

/// `UPDATE deliveries SET state = to WHERE page_id = … AND psid = … AND state IN from`.
fn receipt_update(
    page_id: &str,
    psid: &str,
    to: DeliveryState,
    from: &[DeliveryState],
) -> UpdateStatement {
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, to.code())
        .and_where(Expr::col(Deliveries::PageId).eq(page_id))
        .and_where(Expr::col(Deliveries::Psid).eq(psid))
        .and_where(Expr::col(Deliveries::State).is_in(values(from)))
        .to_owned()
}

fn meta_event(r: &sea_orm::QueryResult, kind: EventKind) -> Result<NewEvent> {
    let mut ev = event_of(r, kind)?;
    ev.actor = Some(Actor::meta().as_str().to_string());
    Ok(ev)
}

impl Store {
    async fn receipt(
        &self,
        mut update: UpdateStatement,
        kind: EventKind,
        early: Option<(&str, &str, &[String])>,
        now_ms: i64,
    ) -> Result<u64> {
        update.returning(returning());
        let mut w = self.write().await?;
        let rows = w.txn().query_all(&update).await?;
        let evs = rows
            .iter()
            .map(|r| meta_event(r, kind))
            .collect::<Result<Vec<_>>>()?;
        if let Some((page_id, psid, mids)) = early {
            // A receipt can beat the recording of the send it confirms: keep the mids that
            // matched nothing, and apply them when the send is recorded.
            let matched: HashSet<&str> =
                evs.iter().filter_map(|e| e.message_id.as_deref()).collect();
            let unmatched: Vec<&String> = mids
                .iter()
                .filter(|m| !matched.contains(m.as_str()))
                .collect();
            if !unmatched.is_empty() {
                let mut keep = Query::insert();
                keep.into_table(EarlyReceipts::Table)
                    .columns([
                        EarlyReceipts::MessageId,
                        EarlyReceipts::PageId,
                        EarlyReceipts::Psid,
                        EarlyReceipts::At,
                    ])
                    .on_conflict(
                        OnConflict::column(EarlyReceipts::MessageId)
                            .do_nothing()
                            .to_owned(),
                    );
                for mid in unmatched {
                    keep.values_panic([
                        mid.clone().into(),
                        page_id.into(),
                        psid.into(),
                        now_ms.into(),
                    ]);
                }
                w.txn().execute(&keep).await?;
            }
        }
        events::append(&mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Inside the transaction that records sends: marks delivered those whose receipt came
    /// first, and forgets early receipts older than a day (mids of messages otn did not send).
    pub(super) async fn apply_early_receipts(
        &self,
        w: &WriteTxn<'_>,
        sent: &[i64],
        now_ms: i64,
    ) -> Result<Vec<NewEvent>> {
        let mut evs = Vec::new();
        for chunk in sent.chunks(500) {
            let stmt = Query::update()
                .table(Deliveries::Table)
                .value(Deliveries::State, DeliveryState::Delivered.code())
                .and_where(Expr::col(Deliveries::Id).is_in(chunk.iter().copied()))
                .and_where(
                    Expr::col(Deliveries::MessageId).in_subquery(
                        Query::select()
                            .column(EarlyReceipts::MessageId)
                            .from(EarlyReceipts::Table)
                            .to_owned(),
                    ),
                )
                .returning(returning())
                .to_owned();
            let rows = w.txn().query_all(&stmt).await?;
            let found: Vec<NewEvent> = rows
                .iter()
                .map(|r| meta_event(r, EventKind::Delivered))
                .collect::<Result<_>>()?;
            let mids: Vec<String> = found.iter().filter_map(|e| e.message_id.clone()).collect();
            if !mids.is_empty() {
                let forget = Query::delete()
                    .from_table(EarlyReceipts::Table)
                    .and_where(Expr::col(EarlyReceipts::MessageId).is_in(mids))
                    .to_owned();
                w.txn().execute(&forget).await?;
            }
            evs.extend(found);
        }
        let stale = Query::delete()
            .from_table(EarlyReceipts::Table)
            .and_where(Expr::col(EarlyReceipts::At).lt(now_ms - EARLY_RECEIPT_TTL_MS))
            .to_owned();
        w.txn().execute(&stale).await?;
        Ok(evs)
    }

    /// Marks sent messages delivered: those named by `mids`, or when Meta gives none, every
    /// message to the person sent at or before `watermark`. Repeats change nothing.
    pub(crate) async fn mark_delivered(
        &self,
        page_id: &str,
        psid: &str,
        mids: &[String],
        watermark: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut s = receipt_update(
            page_id,
            psid,
            DeliveryState::Delivered,
            &[DeliveryState::Sent],
        );
        match mids.is_empty() {
            true => s.and_where(Expr::col(Deliveries::SentAt).lte(watermark)),
            false => s.and_where(Expr::col(Deliveries::MessageId).is_in(mids.iter().cloned())),
        };
        let early = (!mids.is_empty()).then_some((page_id, psid, mids));
        self.receipt(s, EventKind::Delivered, early, now_ms).await
    }

    /// Marks every message to the person sent at or before `watermark` read.
    pub(crate) async fn mark_read(
        &self,
        page_id: &str,
        psid: &str,
        watermark: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut s = receipt_update(
            page_id,
            psid,
            DeliveryState::Read,
            &[DeliveryState::Sent, DeliveryState::Delivered],
        );
        s.and_where(Expr::col(Deliveries::SentAt).lte(watermark));
        self.receipt(s, EventKind::Read, None, now_ms).await
    }

    /// Records that the person engaged (message or postback at `at_ms`) after the latest
    /// notification sent to them within `within_ms`; once per delivery.
    pub(crate) async fn record_engagement(
        &self,
        page_id: &str,
        psid: &str,
        at_ms: i64,
        within_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Engaged>> {
        let latest = Query::select()
            .column(Deliveries::Id)
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::PageId).eq(page_id))
            .and_where(Expr::col(Deliveries::Psid).eq(psid))
            .and_where(Expr::col(Deliveries::State).is_in(values(&DeliveryState::ACCEPTED)))
            .and_where(Expr::col(Deliveries::EngagedAt).is_null())
            .and_where(Expr::col(Deliveries::SentAt).lte(at_ms))
            .and_where(Expr::col(Deliveries::SentAt).gte(at_ms - within_ms))
            .order_by(Deliveries::SentAt, Order::Desc)
            .order_by(Deliveries::Id, Order::Desc)
            .limit(1)
            .to_owned();
        let stmt = Query::update()
            .table(Deliveries::Table)
            .value(Deliveries::EngagedAt, at_ms)
            .and_where(Expr::col(Deliveries::Id).in_subquery(latest))
            .returning(returning())
            .to_owned();
        let mut w = self.write().await?;
        let Some(row) = w.txn().query_one(&stmt).await? else {
            return Ok(None);
        };
        let ev = meta_event(&row, EventKind::Engaged)?;
        let notification_id: String = row.try_get("", "notification_id")?;
        let title = Query::select()
            .column(Notifications::RollingTitle)
            .from(Notifications::Table)
            .and_where(Expr::col(Notifications::Id).eq(notification_id))
            .to_owned();
        let title = w
            .txn()
            .query_one(&title)
            .await?
            .map(|r| r.try_get::<Option<String>>("", "rolling_title"))
            .transpose()?
            .flatten();
        let engaged = Engaged {
            delivery_id: row.try_get("", "id")?,
            topic_key: row.try_get("", "topic_key")?,
            rolling_title: title,
        };
        events::append(&mut w, vec![ev], now_ms).await?;
        w.commit().await?;
        Ok(Some(engaged))
    }
}
