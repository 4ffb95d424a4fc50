//! Delivery and read receipts (by mid, or by watermark) and engagement after a notification.
//!
//! A watermark is Meta's time of the message: it is compared with the start of the call that
//! sent it (Meta stamps a message between the call's start and its answer), never with the time
//! the service recorded the answer. Receipts that arrive before the send is recorded are kept
//! (mids in `early_receipts`, watermarks on the person's row) and applied by the transaction that
//! records the send; the two meet on the person's row (see `completion.rs`).

use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{
    Expr, ExprTrait, Func, LockType, OnConflict, Order, Query, SimpleExpr, SubQueryStatement,
    UpdateStatement,
};

use super::codes::{Code, values};
use super::deliveries::{event_of, returning, returning_with};
use super::schema::{Deliveries, EarlyReceipts, Notifications, Recipients};
use super::{Store, WriteTxn, events};
use crate::domain::event::NewEvent;
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, InteractionKind};
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

/// What a receipt says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receipt<'a> {
    /// Delivered: these messages, and every message up to the watermark.
    Delivered { mids: &'a [String], watermark: i64 },
    /// Read: every message up to the watermark.
    Read { watermark: i64 },
}

/// Meta's time of a delivery's message, bounded from below (see the module comment).
fn meta_time() -> SimpleExpr {
    Expr::expr(Func::coalesce([
        Expr::col(Deliveries::AttemptStartedAt),
        Expr::col(Deliveries::SentAt),
    ]))
}

fn meta_event(r: &sea_orm::QueryResult, kind: EventKind) -> Result<NewEvent> {
    let mut ev = event_of(r, kind)?;
    ev.actor = Some(Actor::meta().as_str().to_string());
    Ok(ev)
}

/// `UPDATE deliveries SET state = to WHERE … AND state IN from`, returning the event columns.
fn move_to(to: DeliveryState, from: &[DeliveryState]) -> UpdateStatement {
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, to.code())
        .and_where(Expr::col(Deliveries::State).is_in(values(from)))
        .returning(returning())
        .to_owned()
}

async fn moved(w: &WriteTxn<'_>, s: UpdateStatement, kind: EventKind) -> Result<Vec<NewEvent>> {
    w.txn()
        .query_all(&s)
        .await?
        .iter()
        .map(|r| meta_event(r, kind))
        .collect()
}

impl Store {
    /// Applies a receipt for the person `psid` of `page_id`; returns how many deliveries moved.
    pub(crate) async fn receipt(
        &self,
        page_id: &str,
        psid: &str,
        receipt: Receipt<'_>,
        now_ms: i64,
    ) -> Result<u64> {
        let mut w = self.write().await?;
        let n = self
            .receipt_in(&mut w, page_id, psid, receipt, now_ms)
            .await?;
        w.commit().await?;
        Ok(n)
    }

    /// [`Store::receipt`] inside the caller's transaction (tests hold it open to force
    /// interleavings).
    pub(super) async fn receipt_in(
        &self,
        w: &mut WriteTxn<'_>,
        page_id: &str,
        psid: &str,
        receipt: Receipt<'_>,
        now_ms: i64,
    ) -> Result<u64> {
        // The person's row first, exclusively: a send of theirs being recorded now either
        // committed (and is seen below) or waits for this receipt (and sees it).
        let mut person = Query::select();
        person
            .column(Recipients::Id)
            .from(Recipients::Table)
            .and_where(Expr::col(Recipients::PageId).eq(page_id))
            .and_where(Expr::col(Recipients::Psid).eq(psid));
        if w.postgres {
            person.lock(LockType::Update);
        }
        let Some(row) = w.txn().query_one(&person).await? else {
            return Ok(0);
        };
        let rid: i64 = row.try_get("", "id")?;
        let (col, watermark) = match receipt {
            Receipt::Delivered { watermark, .. } => (Recipients::DeliveredWatermark, watermark),
            Receipt::Read { watermark } => (Recipients::ReadWatermark, watermark),
        };
        if watermark > 0 {
            let keep = Query::update()
                .table(Recipients::Table)
                .value(col, watermark)
                .and_where(Expr::col(Recipients::Id).eq(rid))
                .and_where(Expr::col(col).is_null().or(Expr::col(col).lt(watermark)))
                .to_owned();
            w.txn().execute(&keep).await?;
        }
        // The person's sent deliveries, through the index of sent deliveries by person.
        let mine = |mut s: UpdateStatement| {
            s.and_where(Expr::col(Deliveries::PageId).eq(page_id))
                .and_where(Expr::col(Deliveries::Psid).eq(psid))
                .and_where(Expr::col(Deliveries::SentAt).is_not_null());
            s
        };
        let mut evs = Vec::new();
        match receipt {
            Receipt::Read { watermark } => {
                // A message read before its delivery receipt came was delivered too: those
                // moves are told apart, for the funnel's count of delivered messages.
                for from in [DeliveryState::Sent, DeliveryState::Delivered] {
                    let mut s = mine(move_to(DeliveryState::Read, &[from]));
                    s.and_where(meta_time().lte(watermark));
                    let mut read = moved(w, s, EventKind::Read).await?;
                    for e in &mut read {
                        e.implied.delivered = from == DeliveryState::Sent;
                    }
                    evs.extend(read);
                }
            }
            Receipt::Delivered { mids, watermark } => {
                if !mids.is_empty() {
                    let mut s = mine(move_to(DeliveryState::Delivered, &[DeliveryState::Sent]));
                    s.and_where(Expr::col(Deliveries::MessageId).is_in(mids.iter().cloned()));
                    let found = moved(w, s, EventKind::Delivered).await?;
                    let matched: HashSet<&str> = found
                        .iter()
                        .filter_map(|e| e.message_id.as_deref())
                        .collect();
                    let unmatched: Vec<&String> = mids
                        .iter()
                        .filter(|m| !matched.contains(m.as_str()))
                        .collect();
                    self.park(w, page_id, psid, &unmatched, now_ms).await?;
                    evs.extend(found);
                }
                if watermark > 0 {
                    let mut s = mine(move_to(DeliveryState::Delivered, &[DeliveryState::Sent]));
                    s.and_where(meta_time().lte(watermark));
                    evs.extend(moved(w, s, EventKind::Delivered).await?);
                }
            }
        }
        let n = evs.len() as u64;
        events::append(w, evs, now_ms).await?;
        Ok(n)
    }

    /// Keeps mids that matched no send, for the send's outcome to find.
    async fn park(
        &self,
        w: &WriteTxn<'_>,
        page_id: &str,
        psid: &str,
        mids: &[&String],
        now_ms: i64,
    ) -> Result<()> {
        if mids.is_empty() {
            return Ok(());
        }
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
        for mid in mids {
            keep.values_panic([
                (*mid).clone().into(),
                page_id.into(),
                psid.into(),
                now_ms.into(),
            ]);
        }
        w.txn().execute(&keep).await?;
        Ok(())
    }

    /// Inside the transaction that records sends (holding their people's rows): applies the
    /// receipts that came first, by watermark (read, then delivered) and by mid, and forgets
    /// early receipts older than a day (mids of messages the service did not send).
    pub(super) async fn apply_early_receipts(
        &self,
        w: &WriteTxn<'_>,
        sent: &[i64],
        now_ms: i64,
    ) -> Result<Vec<NewEvent>> {
        let mut evs = Vec::new();
        let watermark = |col: Recipients| {
            Query::select()
                .column(col)
                .from(Recipients::Table)
                .and_where(
                    Expr::col((Recipients::Table, Recipients::Id))
                        .equals((Deliveries::Table, Deliveries::RecipientId)),
                )
                .to_owned()
        };
        for chunk in sent.chunks(500) {
            let these = Expr::col(Deliveries::Id).is_in(chunk.iter().copied());
            let mut read = move_to(DeliveryState::Read, &[DeliveryState::Sent]);
            read.and_where(these.clone())
                .and_where(meta_time().lte(SubQueryStatement::from(watermark(
                    Recipients::ReadWatermark,
                ))));
            let mut read = moved(w, read, EventKind::Read).await?;
            for e in &mut read {
                e.implied.delivered = true;
            }
            evs.extend(read);
            let mut delivered = move_to(DeliveryState::Delivered, &[DeliveryState::Sent]);
            delivered
                .and_where(these.clone())
                .and_where(meta_time().lte(SubQueryStatement::from(watermark(
                    Recipients::DeliveredWatermark,
                ))));
            evs.extend(moved(w, delivered, EventKind::Delivered).await?);
            let mut by_mid = move_to(DeliveryState::Delivered, &[DeliveryState::Sent]);
            by_mid.and_where(these).and_where(
                Expr::col(Deliveries::MessageId).in_subquery(
                    Query::select()
                        .column(EarlyReceipts::MessageId)
                        .from(EarlyReceipts::Table)
                        .to_owned(),
                ),
            );
            let found = moved(w, by_mid, EventKind::Delivered).await?;
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

    /// Records that the person engaged (`kind`: a message or a postback at `at_ms`) after the
    /// latest notification sent to them within `within_ms`; once per delivery. The event says
    /// which interaction it was, and whether it is the delivery's first engagement (no click
    /// came before it), for the funnel's counts.
    pub(crate) async fn record_engagement(
        &self,
        page_id: &str,
        psid: &str,
        kind: InteractionKind,
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
            .returning(returning_with(&[Deliveries::ClickedAt]))
            .to_owned();
        let mut w = self.write().await?;
        let Some(row) = w.txn().query_one(&stmt).await? else {
            return Ok(None);
        };
        let mut ev = meta_event(&row, EventKind::Engaged)?;
        ev.interaction = Some(kind);
        ev.implied.first_engagement = row.try_get::<Option<i64>>("", "clicked_at")?.is_none();
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
