//! Delivery and read receipts (by mid, or by watermark) and engagement after a notification.

use sea_orm::ConnectionTrait;

use super::notifications::delivery_state as ds;
use std::collections::HashSet;

use super::deliveries::{RETURNING, event_of};
use super::{Store, WriteTxn, events, sql::Sql};
use crate::domain::event::{EventKind, NewEvent};
use crate::error::Result;

/// A delivery the person engaged with, and the notification's rolling-consent title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engaged {
    pub delivery_id: i64,
    pub topic_key: String,
    pub rolling_title: Option<String>,
}

impl Store {
    async fn receipt(
        &self,
        mut s: Sql,
        kind: EventKind,
        early: Option<(&str, &str, &[String])>,
        now_ms: i64,
    ) -> Result<u64> {
        s.push(RETURNING);
        let mut w = self.write().await?;
        let rows = w.txn.query_all_raw(self.stmt(&s.text, s.values)).await?;
        let evs = rows
            .iter()
            .map(|r| event_of(r, kind))
            .collect::<Result<Vec<_>>>()?;
        if let Some((page_id, psid, mids)) = early {
            // A receipt can beat the recording of the send it confirms: keep the mids that
            // matched nothing, and apply them when the send is recorded.
            let matched: HashSet<&str> =
                evs.iter().filter_map(|e| e.message_id.as_deref()).collect();
            for mid in mids.iter().filter(|m| !matched.contains(m.as_str())) {
                w.txn
                    .execute_raw(self.stmt(
                        "INSERT INTO early_receipts (message_id, page_id, psid, at) \
                         VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
                        vec![
                            mid.clone().into(),
                            page_id.into(),
                            psid.into(),
                            now_ms.into(),
                        ],
                    ))
                    .await?;
            }
        }
        events::append(self, &mut w, evs, now_ms).await?;
        w.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Inside the transaction that records sends: marks delivered those whose receipt came
    /// first, and forgets early receipts older than a day (mids of messages otn did not send).
    pub(crate) async fn apply_early_receipts(
        &self,
        w: &mut WriteTxn<'_>,
        sent: &[i64],
        now_ms: i64,
    ) -> Result<Vec<NewEvent>> {
        let mut evs = Vec::new();
        for chunk in sent.chunks(500) {
            let mut s = Sql::new("UPDATE deliveries SET state = ");
            s.bind(ds::DELIVERED)
                .push(" WHERE id IN (")
                .bind_list(chunk)
                .push(") AND message_id IN (SELECT message_id FROM early_receipts)")
                .push(RETURNING);
            let rows = w.txn.query_all_raw(self.stmt(&s.text, s.values)).await?;
            let found: Vec<NewEvent> = rows
                .iter()
                .map(|r| event_of(r, EventKind::Delivered))
                .collect::<Result<_>>()?;
            let mids: Vec<String> = found.iter().filter_map(|e| e.message_id.clone()).collect();
            if !mids.is_empty() {
                let mut d = Sql::new("DELETE FROM early_receipts WHERE message_id IN (");
                d.bind_list(&mids).push(")");
                w.txn.execute_raw(self.stmt(&d.text, d.values)).await?;
            }
            evs.extend(found);
        }
        w.txn
            .execute_raw(self.stmt(
                "DELETE FROM early_receipts WHERE at < ?",
                vec![(now_ms - 86_400_000).into()],
            ))
            .await?;
        Ok(evs)
    }

    /// Marks sent messages delivered: those named by `mids`, or when Meta gives none, every
    /// message to the person sent at or before `watermark`. Repeats change nothing.
    pub async fn mark_delivered(
        &self,
        page_id: &str,
        psid: &str,
        mids: &[String],
        watermark: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::DELIVERED)
            .push(" WHERE page_id = ")
            .bind(page_id)
            .push(" AND psid = ")
            .bind(psid)
            .push(" AND state = ")
            .bind(ds::SENT);
        if mids.is_empty() {
            s.push(" AND sent_at <= ").bind(watermark);
        } else {
            s.push(" AND message_id IN (").bind_list(mids).push(")");
        }
        let early = (!mids.is_empty()).then_some((page_id, psid, mids));
        self.receipt(s, EventKind::Delivered, early, now_ms).await
    }

    /// Marks every message to the person sent at or before `watermark` read.
    pub async fn mark_read(
        &self,
        page_id: &str,
        psid: &str,
        watermark: i64,
        now_ms: i64,
    ) -> Result<u64> {
        let mut s = Sql::new("UPDATE deliveries SET state = ");
        s.bind(ds::READ)
            .push(" WHERE page_id = ")
            .bind(page_id)
            .push(" AND psid = ")
            .bind(psid)
            .push(" AND state IN (")
            .bind_list(&[ds::SENT, ds::DELIVERED])
            .push(") AND sent_at <= ")
            .bind(watermark);
        self.receipt(s, EventKind::Read, None, now_ms).await
    }

    /// Records that the person engaged (message or postback at `at_ms`) after the latest
    /// notification sent to them within `within_ms`; once per delivery.
    pub async fn record_engagement(
        &self,
        page_id: &str,
        psid: &str,
        at_ms: i64,
        within_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Engaged>> {
        let mut s = Sql::new("UPDATE deliveries SET engaged_at = ");
        s.bind(at_ms)
            .push(" WHERE id = (SELECT id FROM deliveries WHERE page_id = ")
            .bind(page_id)
            .push(" AND psid = ")
            .bind(psid)
            .push(" AND state IN (")
            .bind_list(&[ds::SENT, ds::DELIVERED, ds::READ])
            .push(") AND engaged_at IS NULL AND sent_at <= ")
            .bind(at_ms)
            .push(" AND sent_at >= ")
            .bind(at_ms - within_ms)
            .push(" ORDER BY sent_at DESC, id DESC LIMIT 1)")
            .push(RETURNING);
        let mut w = self.write().await?;
        let Some(row) = w.txn.query_one_raw(self.stmt(&s.text, s.values)).await? else {
            return Ok(None);
        };
        let ev = event_of(&row, EventKind::Engaged)?;
        let notification_id: String = row.try_get("", "notification_id")?;
        let title = w
            .txn
            .query_one_raw(self.stmt(
                "SELECT rolling_title FROM notifications WHERE id = ?",
                vec![notification_id.into()],
            ))
            .await?
            .map(|r| r.try_get::<Option<String>>("", "rolling_title"))
            .transpose()?
            .flatten();
        let engaged = Engaged {
            delivery_id: row.try_get("", "id")?,
            topic_key: row.try_get("", "topic_key")?,
            rolling_title: title,
        };
        events::append(self, &mut w, vec![ev], now_ms).await?;
        w.commit().await?;
        Ok(Some(engaged))
    }
}
