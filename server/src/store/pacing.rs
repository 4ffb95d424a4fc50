//! One rate and one pause per page across every replica: the page's row holds the next free
//! send slot and a pause, on the database's clock. A replica claims a page's due deliveries
//! together with as many consecutive slots, in one short transaction under the page row's lock,
//! so the slots of all replicas interleave without overlap and their sum never exceeds the rate.
//! A replica that dies leaves its slots to pass and its claims leased (taken over when the lease
//! lapses).

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, FromQueryResult, Statement};

use super::Store;
use super::codes::Code;
use super::deliveries::{claim_update, read_claimed};
use super::schema::{Deliveries, Pages};
use crate::domain::outcome::Claimed;
use crate::domain::vocab::DeliveryState;
use crate::error::{Error, Result};

/// What a claim of one page got.
#[derive(Debug, Default)]
pub(crate) struct PageClaim {
    /// The claimed deliveries, to be sent in order.
    pub(crate) claimed: Vec<Claimed>,
    /// The send slot of each, in microseconds of the database's clock.
    pub(crate) slots_us: Vec<i64>,
    /// The database's clock when the claim was made (µs).
    pub(crate) now_us: i64,
    /// Nothing claimed: the page's next slot (µs) is beyond the horizon, or it is paused.
    pub(crate) wait_until_us: Option<i64>,
    /// Why the page is paused, when it is.
    pub(crate) paused: Option<String>,
}

#[derive(FromQueryResult)]
struct PageRow {
    next_slot_us: i64,
    paused_until: Option<i64>,
    pause_reason: Option<String>,
}

fn local_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl Store {
    /// The database's clock in microseconds (this machine's on SQLite, whose only writer is
    /// this process; PostgreSQL's for replicas on several machines).
    pub(crate) async fn clock_us(&self, c: &impl ConnectionTrait) -> Result<i64> {
        if !self.is_postgres() {
            return Ok(local_us());
        }
        let row = c
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint AS now_us",
            ))
            .await?
            .ok_or_else(|| Error::Internal("no clock".into()))?;
        Ok(row.try_get("", "now_us")?)
    }

    /// Claims up to `max` of the page's due deliveries (lapsed leases first) with one send slot
    /// each, `interval_us` apart, starting at the page's next free slot, as far as `horizon_us`
    /// ahead of now. `now_ms` (the service's clock) decides what is due.
    pub(crate) async fn claim_page(
        &self,
        page_id: &str,
        interval_us: i64,
        horizon_us: i64,
        max: u64,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<PageClaim> {
        let mut w = self.write().await?;
        let mut page = Query::select();
        page.columns([Pages::NextSlotUs, Pages::PausedUntil, Pages::PauseReason])
            .from(Pages::Table)
            .and_where(Expr::col(Pages::PageId).eq(page_id));
        if w.postgres {
            page.lock(LockType::Update);
        }
        let Some(row) = PageRow::find_by_statement(self.db().get_database_backend().build(&page))
            .one(w.txn())
            .await?
        else {
            return Err(Error::Internal(format!("page {page_id} has no row")));
        };
        let now_us = self.clock_us(w.txn()).await?;
        if let Some(until) = row.paused_until.filter(|u| u.saturating_mul(1000) > now_us) {
            return Ok(PageClaim {
                now_us,
                wait_until_us: Some(until.saturating_mul(1000)),
                paused: row.pause_reason,
                ..Default::default()
            });
        }
        let start = Ord::max(row.next_slot_us, now_us);
        if start > now_us + horizon_us {
            return Ok(PageClaim {
                now_us,
                wait_until_us: Some(start - horizon_us),
                ..Default::default()
            });
        }
        let room = Ord::min(
            (now_us + horizon_us - start) / Ord::max(interval_us, 1) + 1,
            max as i64,
        );
        let mut ids: Vec<i64> = Vec::new();
        // Lapsed leases first (an attempt may be in flight: settle it before anything new).
        let pick = Query::select()
            .column(Deliveries::Id)
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::PageId).eq(page_id))
            // A literal, so the partial leased index serves every run of it.
            .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Sending.literal()))
            .and_where(Expr::col(Deliveries::LeaseUntil).lt(now_ms))
            .order_by(Deliveries::LeaseUntil, Order::Asc)
            .order_by(Deliveries::Id, Order::Asc)
            .limit(room as u64)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let stmt = claim_update(now_ms, lease_ms)
            .and_where(Expr::col(Deliveries::Id).in_subquery(pick))
            .returning_col(Deliveries::Id)
            .to_owned();
        for r in w.txn().query_all(&stmt).await? {
            ids.push(r.try_get("", "id")?);
        }
        // Then due queued deliveries, as the politeness gate lets them go.
        let want = room - ids.len() as i64;
        if want > 0 {
            let due = self.gate_due(&mut w, page_id, want as u64, now_ms).await?;
            if !due.is_empty() {
                let stmt = claim_update(now_ms, lease_ms)
                    .and_where(Expr::col(Deliveries::Id).is_in(due.iter().copied()))
                    .and_where(Expr::col(Deliveries::State).eq(DeliveryState::Queued.code()))
                    .returning_col(Deliveries::Id)
                    .to_owned();
                for r in w.txn().query_all(&stmt).await? {
                    ids.push(r.try_get("", "id")?);
                }
            }
        }
        if ids.is_empty() {
            // Deferrals (their events) are worth keeping even when nothing was claimed.
            w.commit().await?;
            return Ok(PageClaim {
                now_us,
                ..Default::default()
            });
        }
        let n = ids.len() as i64;
        let claimed = read_claimed(self, &w, &ids).await?;
        // The slots start after this transaction's work, not before it: a claim slower than a
        // send's allowed lateness (a loaded database) would otherwise hand out slots already
        // missed, every send would be requeued and claimed again, and nothing would ever go
        // out. What is left (the page's row, the commit) gets as long as the claim took, up
        // to half the horizon.
        let read_us = self.clock_us(w.txn()).await?;
        let lead_us = (read_us - now_us).clamp(0, horizon_us / 2);
        let start = Ord::max(row.next_slot_us, read_us + lead_us);
        let advance = Query::update()
            .table(Pages::Table)
            .value(Pages::NextSlotUs, start + n * interval_us)
            .and_where(Expr::col(Pages::PageId).eq(page_id))
            .to_owned();
        w.txn().execute(&advance).await?;
        w.commit().await?;
        let slots_us = (0..claimed.len() as i64)
            .map(|i| start + i * interval_us)
            .collect();
        Ok(PageClaim {
            claimed,
            slots_us,
            now_us: read_us,
            wait_until_us: None,
            paused: None,
        })
    }

    /// Pauses the page on every replica for `for_ms` from now (a longer pause already in force
    /// stays); `for_ms = None` pauses until [`Store::resume_page`].
    pub(crate) async fn pause_page(
        &self,
        page_id: &str,
        for_ms: Option<i64>,
        reason: &str,
    ) -> Result<()> {
        let w = self.write().await?;
        let now_ms = self.clock_us(w.txn()).await? / 1000;
        let until = for_ms.map_or(i64::MAX / 4, |d| now_ms + d);
        let s = Query::update()
            .table(Pages::Table)
            .value(Pages::PausedUntil, until)
            .value(Pages::PauseReason, reason)
            .and_where(Expr::col(Pages::PageId).eq(page_id))
            .and_where(
                Expr::col(Pages::PausedUntil)
                    .is_null()
                    .or(Expr::col(Pages::PausedUntil).lt(until)),
            )
            .to_owned();
        w.txn().execute(&s).await?;
        w.commit().await
    }

    /// Lifts a pause given for `reason` (a pause for another reason stays).
    pub(crate) async fn resume_page(&self, page_id: &str, reason: &str) -> Result<()> {
        let w = self.write().await?;
        let s = Query::update()
            .table(Pages::Table)
            .value(Pages::PausedUntil, Expr::null())
            .value(Pages::PauseReason, Expr::null())
            .and_where(Expr::col(Pages::PageId).eq(page_id))
            .and_where(Expr::col(Pages::PauseReason).eq(reason))
            .to_owned();
        w.txn().execute(&s).await?;
        w.commit().await
    }

    /// Pushes the page's next free slot at least `by_us` past now, on every replica (Meta said
    /// "slow down" without saying for how long).
    pub(crate) async fn slow_page(&self, page_id: &str, by_us: i64) -> Result<()> {
        let w = self.write().await?;
        let later = self.clock_us(w.txn()).await? + by_us;
        let s = Query::update()
            .table(Pages::Table)
            .value(Pages::NextSlotUs, later)
            .and_where(Expr::col(Pages::PageId).eq(page_id))
            .and_where(Expr::col(Pages::NextSlotUs).lt(later))
            .to_owned();
        w.txn().execute(&s).await?;
        w.commit().await
    }
}
