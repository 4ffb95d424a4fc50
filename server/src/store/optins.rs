//! Opt-in requests: the outbox row written before Meta is asked, and the weekly-title rule's query.

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use crate::error::Result;

/// An opt-in request row.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct OptInRow {
    pub id: String,
    pub page_id: String,
    pub request_id: String,
    pub psid: String,
    pub topic_key: String,
    pub title: String,
    pub payload: String,
    pub message_id: Option<String>,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

const OPT_IN_SELECT: &str = "SELECT o.id, o.page_id, o.request_id, r.psid, t.topic_key, o.title, \
     o.payload, o.message_id, o.sent_at, o.created_at \
     FROM opt_in_requests o JOIN recipients r ON r.id = o.recipient_id \
     JOIN topics t ON t.id = o.topic_id";

impl Store {
    /// The opt-in request a caller made with `request_id`.
    pub async fn opt_in_by_request(
        &self,
        page_id: &str,
        request_id: &str,
    ) -> Result<Option<OptInRow>> {
        Ok(OptInRow::find_by_statement(self.stmt(
            &format!("{OPT_IN_SELECT} WHERE o.page_id = ? AND o.request_id = ?"),
            vec![page_id.into(), request_id.into()],
        ))
        .one(self.db())
        .await?)
    }

    /// The opt-in request with this id (from an opt-in webhook's payload).
    pub async fn opt_in_by_id(&self, id: &str) -> Result<Option<OptInRow>> {
        Ok(OptInRow::find_by_statement(
            self.stmt(&format!("{OPT_IN_SELECT} WHERE o.id = ?"), vec![id.into()]),
        )
        .one(self.db())
        .await?)
    }

    /// Whether the same title was sent (or is being sent) to the person since `since_ms`,
    /// other than by the request `except_id`.
    pub async fn title_asked_since(
        &self,
        page_id: &str,
        psid: &str,
        title: &str,
        since_ms: i64,
        except_id: &str,
    ) -> Result<bool> {
        let row = self
            .db()
            .query_one_raw(self.stmt(
                "SELECT 1 AS x FROM opt_in_requests o JOIN recipients r ON r.id = o.recipient_id \
                 WHERE r.page_id = ? AND r.psid = ? AND o.title = ? AND o.id <> ? \
                 AND COALESCE(o.sent_at, o.created_at) >= ?",
                vec![
                    page_id.into(),
                    psid.into(),
                    title.into(),
                    except_id.into(),
                    since_ms.into(),
                ],
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Stores the intent to send an opt-in request (before Meta is called). Returns false if
    /// another request already holds `request_id`.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_opt_in(
        &self,
        id: &str,
        page_id: &str,
        request_id: &str,
        psid: &str,
        topic_key: &str,
        title: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let w = self.write().await?;
        let rid = self.upsert_recipient(&w.txn, page_id, psid, now_ms).await?;
        let tid = self
            .upsert_topic(&w.txn, page_id, topic_key, title, now_ms)
            .await?;
        let n = w
            .txn
            .execute_raw(self.stmt(
                "INSERT INTO opt_in_requests (id, page_id, request_id, recipient_id, topic_id, \
                 title, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (page_id, request_id) DO NOTHING",
                vec![
                    id.into(),
                    page_id.into(),
                    request_id.into(),
                    rid.into(),
                    tid.into(),
                    title.into(),
                    payload.into(),
                    now_ms.into(),
                ],
            ))
            .await?
            .rows_affected();
        w.commit().await?;
        Ok(n == 1)
    }

    /// Marks an opt-in request as sent.
    pub async fn mark_opt_in_sent(&self, id: &str, message_id: &str, at_ms: i64) -> Result<()> {
        let w = self.write().await?;
        w.txn
            .execute_raw(self.stmt(
                "UPDATE opt_in_requests SET message_id = ?, sent_at = ? WHERE id = ?",
                vec![message_id.into(), at_ms.into(), id.into()],
            ))
            .await?;
        w.commit().await
    }

    /// Drops an opt-in request that Meta refused, so the caller may try again.
    pub async fn delete_opt_in(&self, id: &str) -> Result<()> {
        let w = self.write().await?;
        w.txn
            .execute_raw(self.stmt("DELETE FROM opt_in_requests WHERE id = ?", vec![id.into()]))
            .await?;
        w.commit().await
    }
}
