//! The circuit breaker's rows: a page's negative signals (STOPs, blocks, policy enforcement),
//! counted over its rolling window as each one is recorded; past the threshold the page is
//! paused (the same pause row every replica's pump reads) until an operator resumes it.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, LockType, Query};

use super::Store;
use super::schema::{PageSignals, Pages};
use crate::domain::polite::{BREAKER_PAUSE, Signal};
use crate::error::Result;

/// A pause that lasts until it is lifted (as a policy-enforcement block's).
const UNTIL_RESUMED: i64 = i64::MAX / 4;

impl Store {
    /// Records a negative signal of the page at `at_ms` and counts the page's signals in
    /// `(at - window, at]`: at `threshold` or more, the page's sending pauses until
    /// [`Store::resume_breaker`]. One transaction under the page row's lock, so a run of signals
    /// trips the breaker once. Returns the count and whether this signal tripped it.
    pub(crate) async fn record_signal(
        &self,
        page_id: &str,
        signal: Signal,
        at_ms: i64,
        threshold: u32,
        window_ms: i64,
    ) -> Result<(i64, bool)> {
        let w = self.write().await?;
        let mut lock = Query::select();
        lock.column(Pages::PageId)
            .from(Pages::Table)
            .and_where(Expr::col(Pages::PageId).eq(page_id));
        if w.postgres {
            lock.lock(LockType::Update);
        }
        w.txn().query_one(&lock).await?;
        let since = at_ms - window_ms;
        let prune = Query::delete()
            .from_table(PageSignals::Table)
            .and_where(Expr::col(PageSignals::PageId).eq(page_id))
            .and_where(Expr::col(PageSignals::At).lte(since))
            .to_owned();
        w.txn().execute(&prune).await?;
        let insert = Query::insert()
            .into_table(PageSignals::Table)
            .columns([PageSignals::PageId, PageSignals::Kind, PageSignals::At])
            .values_panic([page_id.into(), signal.code().into(), at_ms.into()])
            .to_owned();
        w.txn().execute(&insert).await?;
        let count = signals_in(w.txn(), page_id, since).await?;
        let mut tripped = false;
        if threshold > 0 && count >= i64::from(threshold) {
            let now_ms = self.clock_us(w.txn()).await? / 1000;
            let trip = Query::update()
                .table(Pages::Table)
                .value(Pages::PausedUntil, UNTIL_RESUMED)
                .value(Pages::PauseReason, BREAKER_PAUSE)
                .and_where(Expr::col(Pages::PageId).eq(page_id))
                .and_where(
                    Expr::col(Pages::PauseReason)
                        .is_null()
                        .or(Expr::col(Pages::PauseReason).ne(BREAKER_PAUSE))
                        .or(Expr::col(Pages::PausedUntil).is_null())
                        .or(Expr::col(Pages::PausedUntil).lte(now_ms)),
                )
                .to_owned();
            tripped = w.txn().execute(&trip).await?.rows_affected() > 0;
        }
        w.commit().await?;
        Ok((count, tripped))
    }

    /// The page's negative signals after `since_ms`.
    pub(crate) async fn signals_since(&self, page_id: &str, since_ms: i64) -> Result<i64> {
        signals_in(self.db(), page_id, since_ms).await
    }

    /// Resumes a page whose breaker tripped: lifts that pause and sets the signals counted so far
    /// aside (up to `now_ms`), so it trips again only on a new run of them. Whether it had
    /// tripped.
    pub(crate) async fn resume_breaker(&self, page_id: &str, now_ms: i64) -> Result<bool> {
        let w = self.write().await?;
        let lift = Query::update()
            .table(Pages::Table)
            .value(Pages::PausedUntil, Expr::null())
            .value(Pages::PauseReason, Expr::null())
            .and_where(Expr::col(Pages::PageId).eq(page_id))
            .and_where(Expr::col(Pages::PauseReason).eq(BREAKER_PAUSE))
            .to_owned();
        let resumed = w.txn().execute(&lift).await?.rows_affected() > 0;
        let forget = Query::delete()
            .from_table(PageSignals::Table)
            .and_where(Expr::col(PageSignals::PageId).eq(page_id))
            .and_where(Expr::col(PageSignals::At).lte(now_ms))
            .to_owned();
        w.txn().execute(&forget).await?;
        w.commit().await?;
        Ok(resumed)
    }

    /// Why the page's sending is paused at `now_ms` (the service's clock), if it is.
    pub(crate) async fn pause_reason(&self, page_id: &str, now_ms: i64) -> Result<Option<String>> {
        let rows = self.console_pages(&[page_id.to_string()]).await?;
        Ok(rows
            .into_iter()
            .find(|r| r.paused_until.is_some_and(|u| u > now_ms))
            .map(|r| r.pause_reason.unwrap_or_else(|| "paused".into())))
    }
}

async fn signals_in(c: &impl ConnectionTrait, page_id: &str, since_ms: i64) -> Result<i64> {
    let q = Query::select()
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
        .from(PageSignals::Table)
        .and_where(Expr::col(PageSignals::PageId).eq(page_id))
        .and_where(Expr::col(PageSignals::At).gt(since_ms))
        .to_owned();
    Ok(match c.query_one(&q).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}
