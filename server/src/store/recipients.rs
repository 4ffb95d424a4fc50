//! People and topics: pages, recipients and their tags, topics, windows, and erasure.

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::{
    Alias, Asterisk, DeleteStatement, Expr, ExprTrait, IntoIden, LockType, OnConflict, Order, Query,
};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::codes::values;
use super::completion::settle;
use super::schema::{
    Deliveries, Erasures, Events, Grants, OptInRequests, Pages, RecipientTags, Recipients,
    TokenStatuses, Topics,
};
use super::{Store, events, returned_id};
use crate::domain::event::NewEvent;
use crate::domain::grant::RecipientView;
use crate::domain::notification::Actor;
use crate::domain::values::{PageId, Psid, Region, Tag, Title, TopicKey};
use crate::domain::vocab::{DeliveryState, EventKind};
use crate::error::{Error, Result};

#[derive(FromQueryResult)]
struct RecipientRow {
    id: i64,
    page_id: String,
    psid: String,
    region: Option<String>,
    last_interaction_at: Option<i64>,
    time_zone: Option<String>,
    optin_time_zone: Option<String>,
}

/// What ForgetRecipient erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Forgotten {
    pub(crate) found: bool,
    pub(crate) grants: u64,
    pub(crate) opt_in_requests: u64,
    pub(crate) deliveries: u64,
}

impl Store {
    /// Makes sure every configured page has a row (and its current region).
    pub(crate) async fn ensure_pages(
        &self,
        pages: &[(String, Option<String>)],
        now_ms: i64,
    ) -> Result<()> {
        for (page_id, region) in pages {
            let stmt = Query::insert()
                .into_table(Pages::Table)
                .columns([Pages::PageId, Pages::Region, Pages::CreatedAt])
                .values_panic([page_id.clone().into(), region.clone().into(), now_ms.into()])
                .on_conflict(
                    OnConflict::column(Pages::PageId)
                        .update_column(Pages::Region)
                        .to_owned(),
                )
                .to_owned();
            self.db().execute(&stmt).await?;
        }
        Ok(())
    }

    /// Every page the database has held (a sandbox refuses a database of real pages).
    pub(crate) async fn known_page_ids(&self) -> Result<Vec<String>> {
        let q = Query::select()
            .column(Pages::PageId)
            .from(Pages::Table)
            .to_owned();
        self.db()
            .query_all(&q)
            .await?
            .iter()
            .map(|r| r.try_get::<String>("", "page_id").map_err(Into::into))
            .collect()
    }

    /// Inserts the person if new and returns their row id.
    pub(super) async fn upsert_recipient(
        &self,
        c: &impl ConnectionTrait,
        page_id: &str,
        psid: &str,
        now_ms: i64,
    ) -> Result<i64> {
        let stmt = Query::insert()
            .into_table(Recipients::Table)
            .columns([Recipients::PageId, Recipients::Psid, Recipients::CreatedAt])
            .values_panic([page_id.into(), psid.into(), now_ms.into()])
            .on_conflict(
                OnConflict::columns([Recipients::PageId, Recipients::Psid])
                    .update_column(Recipients::PageId)
                    .to_owned(),
            )
            .returning_col(Recipients::Id)
            .to_owned();
        returned_id(c.query_one(&stmt).await?, "recipient upsert")
    }

    /// Inserts the topic if new (keeping an existing title) and returns its row id.
    pub(super) async fn upsert_topic(
        &self,
        c: &impl ConnectionTrait,
        page_id: &str,
        key: &TopicKey,
        title: &Title,
        now_ms: i64,
    ) -> Result<i64> {
        let stmt = Query::insert()
            .into_table(Topics::Table)
            .columns([
                Topics::PageId,
                Topics::TopicKey,
                Topics::Title,
                Topics::CreatedAt,
            ])
            .values_panic([
                page_id.into(),
                key.as_str().into(),
                title.as_str().into(),
                now_ms.into(),
            ])
            .on_conflict(
                OnConflict::columns([Topics::PageId, Topics::TopicKey])
                    .update_column(Topics::PageId)
                    .to_owned(),
            )
            .returning_col(Topics::Id)
            .to_owned();
        returned_id(c.query_one(&stmt).await?, "topic upsert")
    }

    /// The topic's row id, if it exists.
    pub(crate) async fn topic_id(&self, page_id: &PageId, key: &TopicKey) -> Result<Option<i64>> {
        let stmt = Query::select()
            .column(Topics::Id)
            .from(Topics::Table)
            .and_where(Expr::col(Topics::PageId).eq(page_id.as_str()))
            .and_where(Expr::col(Topics::TopicKey).eq(key.as_str()))
            .to_owned();
        match self.db().query_one(&stmt).await? {
            Some(r) => Ok(Some(r.try_get("", "id")?)),
            None => Ok(None),
        }
    }

    /// A person with their tags, if known.
    pub(crate) async fn recipient(
        &self,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<RecipientView>> {
        let stmt = Query::select()
            .columns([
                Recipients::Id,
                Recipients::PageId,
                Recipients::Psid,
                Recipients::Region,
                Recipients::LastInteractionAt,
                Recipients::TimeZone,
                Recipients::OptinTimeZone,
            ])
            .from(Recipients::Table)
            .and_where(Expr::col(Recipients::PageId).eq(page_id))
            .and_where(Expr::col(Recipients::Psid).eq(psid))
            .to_owned();
        let Some(r) =
            RecipientRow::find_by_statement(self.db().get_database_backend().build(&stmt))
                .one(self.db())
                .await?
        else {
            return Ok(None);
        };
        let mut tags = self.tags_of(&[r.id]).await?;
        Ok(Some(RecipientView {
            id: r.id,
            tags: tags.remove(&r.id).unwrap_or_default(),
            page_id: r.page_id,
            psid: r.psid,
            region: r.region,
            last_interaction_ms: r.last_interaction_at,
            time_zone: r.time_zone.or(r.optin_time_zone),
        }))
    }

    /// Tags of several recipients at once, sorted.
    pub(super) async fn tags_of(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(500) {
            let stmt = Query::select()
                .columns([RecipientTags::RecipientId, RecipientTags::Tag])
                .from(RecipientTags::Table)
                .and_where(Expr::col(RecipientTags::RecipientId).is_in(chunk.iter().copied()))
                .order_by(RecipientTags::RecipientId, Order::Asc)
                .order_by(RecipientTags::Tag, Order::Asc)
                .to_owned();
            for r in self.db().query_all(&stmt).await? {
                out.entry(r.try_get("", "recipient_id")?)
                    .or_default()
                    .push(r.try_get("", "tag")?);
            }
        }
        Ok(out)
    }

    /// Records an interaction: the window starts at the latest interaction ever seen, so
    /// duplicates and out-of-order webhooks change nothing.
    pub(crate) async fn record_interaction(
        &self,
        page_id: &PageId,
        psid: &Psid,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<RecipientView> {
        let w = self.write().await?;
        let id = self
            .upsert_recipient(w.txn(), page_id.as_str(), psid.as_str(), now_ms)
            .await?;
        let stmt = Query::update()
            .table(Recipients::Table)
            .value(Recipients::LastInteractionAt, at_ms)
            .and_where(Expr::col(Recipients::Id).eq(id))
            .and_where(
                Expr::col(Recipients::LastInteractionAt)
                    .is_null()
                    .or(Expr::col(Recipients::LastInteractionAt).lt(at_ms)),
            )
            .to_owned();
        w.txn().execute(&stmt).await?;
        w.commit().await?;
        self.recipient(page_id.as_str(), psid.as_str())
            .await?
            .ok_or_else(|| Error::Internal("recipient vanished".into()))
    }

    /// Adds and removes tags, sets the region and the time zone (`Some(None)` clears either).
    #[allow(
        clippy::too_many_arguments,
        reason = "one change of a person, field by field"
    )]
    pub(crate) async fn update_recipient(
        &self,
        page_id: &PageId,
        psid: &Psid,
        add: &[Tag],
        remove: &[Tag],
        region: Option<Option<Region>>,
        time_zone: Option<Option<String>>,
        now_ms: i64,
    ) -> Result<RecipientView> {
        let w = self.write().await?;
        let id = self
            .upsert_recipient(w.txn(), page_id.as_str(), psid.as_str(), now_ms)
            .await?;
        if !add.is_empty() {
            let mut stmt = Query::insert();
            stmt.into_table(RecipientTags::Table)
                .columns([RecipientTags::RecipientId, RecipientTags::Tag])
                .on_conflict(
                    OnConflict::columns([RecipientTags::RecipientId, RecipientTags::Tag])
                        .do_nothing()
                        .to_owned(),
                );
            for t in add {
                stmt.values_panic([id.into(), t.as_str().into()]);
            }
            w.txn().execute(&stmt).await?;
        }
        if !remove.is_empty() {
            let stmt = Query::delete()
                .from_table(RecipientTags::Table)
                .and_where(Expr::col(RecipientTags::RecipientId).eq(id))
                .and_where(Expr::col(RecipientTags::Tag).is_in(remove.iter().map(|t| t.as_str())))
                .to_owned();
            w.txn().execute(&stmt).await?;
        }
        if let Some(region) = region {
            let stmt = Query::update()
                .table(Recipients::Table)
                .value(Recipients::Region, region.map(Region::into_string))
                .and_where(Expr::col(Recipients::Id).eq(id))
                .to_owned();
            w.txn().execute(&stmt).await?;
        }
        if let Some(zone) = time_zone {
            let stmt = Query::update()
                .table(Recipients::Table)
                .value(Recipients::TimeZone, zone)
                .and_where(Expr::col(Recipients::Id).eq(id))
                .to_owned();
            w.txn().execute(&stmt).await?;
        }
        w.commit().await?;
        self.recipient(page_id.as_str(), psid.as_str())
            .await?
            .ok_or_else(|| Error::Internal("recipient vanished".into()))
    }

    /// Keeps the time zone of a person's latest Marketing Messages opt-in (Meta's
    /// `notification_messages_timezone`), used for their quiet hours unless UpdateRecipient set
    /// one. A person the page does not know is left alone (their opt-in creates them first).
    pub(crate) async fn set_optin_time_zone(
        &self,
        page_id: &str,
        psid: &str,
        zone: &str,
    ) -> Result<()> {
        let w = self.write().await?;
        let stmt = Query::update()
            .table(Recipients::Table)
            .value(Recipients::OptinTimeZone, zone)
            .and_where(Expr::col(Recipients::PageId).eq(page_id))
            .and_where(Expr::col(Recipients::Psid).eq(psid))
            .to_owned();
        w.txn().execute(&stmt).await?;
        w.commit().await
    }

    /// Erases a person: deliveries, grants, tags, opt-in requests and the row itself; their
    /// events keep their sequence numbers but lose every personal field. The erasure itself
    /// is logged (by whom, on which page; nothing about the person).
    pub(crate) async fn forget_recipient(
        &self,
        page_id: &PageId,
        psid: &Psid,
        erasure_key: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Forgotten> {
        let mut w = self.write().await?;
        // The tombstone, known or not: an opt-in made before now that arrives later (a replay,
        // a late webhook) must not bring the person back.
        let tombstone = Query::insert()
            .into_table(Erasures::Table)
            .columns([Erasures::PageId, Erasures::PersonHmac, Erasures::ErasedAt])
            .values_panic([page_id.as_str().into(), erasure_key.into(), now_ms.into()])
            .on_conflict(
                OnConflict::columns([Erasures::PageId, Erasures::PersonHmac])
                    .update_column(Erasures::ErasedAt)
                    .to_owned(),
            )
            .to_owned();
        w.txn().execute(&tombstone).await?;
        // The person's row first (sends and receipts of theirs meet on it), then theirs.
        let mut find = Query::select();
        find.column(Recipients::Id)
            .from(Recipients::Table)
            .and_where(Expr::col(Recipients::PageId).eq(page_id.as_str()))
            .and_where(Expr::col(Recipients::Psid).eq(psid.as_str()));
        if w.postgres {
            find.lock(LockType::Update);
        }
        let Some(row) = w.txn().query_one(&find).await? else {
            w.commit().await?;
            return Ok(Forgotten::default());
        };
        let id: i64 = row.try_get("", "id")?;
        // Unsent deliveries of theirs will never be sent: their notifications stop waiting.
        let unsent = Query::select()
            .column(Deliveries::NotificationId)
            .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
            .from(Deliveries::Table)
            .and_where(Expr::col(Deliveries::RecipientId).eq(id))
            .and_where(
                Expr::col(Deliveries::State)
                    .is_in(values(&[DeliveryState::Queued, DeliveryState::Sending])),
            )
            .group_by_col(Deliveries::NotificationId)
            .to_owned();
        let mut finals = BTreeMap::new();
        for r in w.txn().query_all(&unsent).await? {
            finals.insert(
                r.try_get::<String>("", "notification_id")?,
                r.try_get("", "n")?,
            );
        }
        settle(&w, &finals, now_ms).await?;
        fn delete(table: impl IntoIden, col: impl IntoIden, id: i64) -> DeleteStatement {
            Query::delete()
                .from_table(table)
                .and_where(Expr::col(col).eq(id))
                .to_owned()
        }
        let mut out = Forgotten {
            found: true,
            ..Default::default()
        };
        let txn = w.txn();
        out.deliveries = txn
            .execute(&delete(Deliveries::Table, Deliveries::RecipientId, id))
            .await?
            .rows_affected();
        out.grants = txn
            .execute(&delete(Grants::Table, Grants::RecipientId, id))
            .await?
            .rows_affected();
        out.opt_in_requests = txn
            .execute(&delete(
                OptInRequests::Table,
                OptInRequests::RecipientId,
                id,
            ))
            .await?
            .rows_affected();
        txn.execute(&delete(
            RecipientTags::Table,
            RecipientTags::RecipientId,
            id,
        ))
        .await?;
        txn.execute(&delete(Recipients::Table, Recipients::Id, id))
            .await?;
        let statuses = Query::delete()
            .from_table(TokenStatuses::Table)
            .and_where(Expr::col(TokenStatuses::PageId).eq(page_id.as_str()))
            .and_where(Expr::col(TokenStatuses::Psid).eq(psid.as_str()))
            .to_owned();
        txn.execute(&statuses).await?;
        let anonymise = Query::update()
            .table(Events::Table)
            .value(Events::Psid, Expr::null())
            .value(Events::GrantId, Expr::null())
            .value(Events::MessageId, Expr::null())
            .and_where(Expr::col(Events::PageId).eq(page_id.as_str()))
            .and_where(Expr::col(Events::Psid).eq(psid.as_str()))
            .to_owned();
        txn.execute(&anonymise).await?;
        let mut ev = NewEvent::new(EventKind::RecipientForgotten, page_id.as_str());
        ev.actor = Some(actor.as_str().to_string());
        events::append(&mut w, vec![ev], now_ms).await?;
        w.commit().await?;
        Ok(out)
    }
}
