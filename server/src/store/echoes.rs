//! Meta's echoes of otn's messages: the evidence that confirms a delivery whose outcome was
//! unknown (and gives it its mid, so receipts by mid apply), or that is kept on the delivery
//! while an attempt is in flight for that attempt's outcome to read (`domain/evidence.rs`
//! decides which). An echo meets the recording of its send on the person's row, as receipts do
//! (see `completion.rs`).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query};

use super::codes::Code;
use super::completion::{move_grants, settle};
use super::deliveries::{event_of, returning};
use super::schema::{Deliveries, Grants, Recipients};
use super::{Store, WriteTxn, events};
use crate::domain::evidence::{Echo, EchoStep, on_echo};
use crate::domain::notification::Actor;
use crate::domain::vocab::{DeliveryState, EventKind, GrantKind, GrantState};
use crate::error::Result;

/// What one echo did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EchoApplied {
    /// Kept for the attempt in flight.
    Kept,
    /// The delivery, which was in this state, is SENT now.
    Confirmed { was: DeliveryState },
    /// A SENT delivery without a mid got the echo's.
    MidAttached,
    /// Nothing new (Meta delivers webhooks more than once).
    Known,
    /// No delivery of this page and person has that id (erased, pruned, or not otn's).
    NoSuchDelivery,
}

impl Store {
    /// Applies Meta's echo of the message of delivery `delivery_id` to the person `psid` of
    /// `page_id`; `reusable` lists the grant kinds a message does not use up.
    pub(crate) async fn echo(
        &self,
        page_id: &str,
        psid: &str,
        delivery_id: i64,
        echo: &Echo,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<EchoApplied> {
        let mut w = self.write().await?;
        let applied = self
            .echo_in(&mut w, page_id, psid, delivery_id, echo, reusable, now_ms)
            .await?;
        w.commit().await?;
        Ok(applied)
    }

    /// [`Store::echo`] inside the caller's transaction (tests hold it open to force
    /// interleavings).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn echo_in(
        &self,
        w: &mut WriteTxn<'_>,
        page_id: &str,
        psid: &str,
        delivery_id: i64,
        echo: &Echo,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<EchoApplied> {
        // The person's row first, exclusively: the recording of an attempt of theirs either
        // committed (and its state is read below) or waits for this echo (and reads it).
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
            return Ok(EchoApplied::NoSuchDelivery);
        };
        let rid: i64 = row.try_get("", "id")?;
        // Then the delivery (a claim skips it while it is locked here).
        let mut find = Query::select();
        find.columns([
            Deliveries::State,
            Deliveries::MessageId,
            Deliveries::GrantId,
            Deliveries::NotificationId,
        ])
        .from(Deliveries::Table)
        .and_where(Expr::col(Deliveries::Id).eq(delivery_id))
        .and_where(Expr::col(Deliveries::RecipientId).eq(rid))
        .and_where(Expr::col(Deliveries::PageId).eq(page_id));
        if w.postgres {
            find.lock(LockType::Update);
        }
        let Some(row) = w.txn().query_one(&find).await? else {
            return Ok(EchoApplied::NoSuchDelivery);
        };
        let state = DeliveryState::from_code(row.try_get("", "state")?)?;
        let mid: Option<String> = row.try_get("", "message_id")?;
        let grant_id: Option<i64> = row.try_get("", "grant_id")?;
        let notification_id: String = row.try_get("", "notification_id")?;
        let this = Expr::col(Deliveries::Id).eq(delivery_id);
        let keep = |s: &mut sea_orm::sea_query::UpdateStatement| {
            s.value(
                Deliveries::EchoMid,
                Expr::col(Deliveries::EchoMid).if_null(echo.mid.clone()),
            )
            .value(
                Deliveries::EchoAt,
                Expr::col(Deliveries::EchoAt).if_null(echo.at_ms),
            );
        };
        match on_echo(state, mid.is_some_and(|m| !m.is_empty())) {
            EchoStep::Known => Ok(EchoApplied::Known),
            EchoStep::Keep => {
                let mut s = Query::update();
                s.table(Deliveries::Table).and_where(this);
                keep(&mut s);
                w.txn().execute(&s).await?;
                Ok(EchoApplied::Kept)
            }
            EchoStep::AttachMid => {
                let mut s = Query::update();
                s.table(Deliveries::Table)
                    .value(Deliveries::MessageId, echo.mid.clone())
                    .value(Deliveries::AttemptStartedAt, echo.at_ms)
                    .and_where(this);
                keep(&mut s);
                w.txn().execute(&s).await?;
                let evs = self.apply_early_receipts(w, &[delivery_id], now_ms).await?;
                events::append(w, evs, now_ms).await?;
                Ok(EchoApplied::MidAttached)
            }
            EchoStep::Confirm {
                settle: s,
                grant_from,
            } => {
                let mut confirm = Query::update();
                confirm
                    .table(Deliveries::Table)
                    .value(Deliveries::State, DeliveryState::Sent.code())
                    .value(Deliveries::MessageId, echo.mid.clone())
                    .value(Deliveries::AttemptStartedAt, echo.at_ms)
                    .value(Deliveries::SentAt, Ord::min(echo.at_ms, now_ms))
                    .value(Deliveries::LeaseUntil, Expr::null())
                    .and_where(this)
                    .and_where(Expr::col(Deliveries::State).eq(state.code()))
                    .returning(returning());
                keep(&mut confirm);
                let Some(row) = w.txn().query_one(&confirm).await? else {
                    return Ok(EchoApplied::Known);
                };
                let mut evs = vec![meta_event(&row, EventKind::Sent)?];
                if let (Some(from), Some(g)) = (grant_from, grant_id)
                    && self.spend_grant(w, g, from, reusable, now_ms).await?
                {
                    evs.push(meta_event(&row, EventKind::GrantConsumed)?);
                }
                evs.extend(self.apply_early_receipts(w, &[delivery_id], now_ms).await?);
                events::append(w, evs, now_ms).await?;
                if s {
                    settle(w, &[(notification_id, 1)].into_iter().collect(), now_ms).await?;
                }
                Ok(EchoApplied::Confirmed { was: state })
            }
        }
    }

    /// Spends grant `id` if it is in state `from`, as an accepted message does; whether it did.
    async fn spend_grant(
        &self,
        w: &WriteTxn<'_>,
        id: i64,
        from: GrantState,
        reusable: &[GrantKind],
        now_ms: i64,
    ) -> Result<bool> {
        let kind = Query::select()
            .column(Grants::Kind)
            .from(Grants::Table)
            .and_where(Expr::col(Grants::Id).eq(id))
            .to_owned();
        let Some(row) = w.txn().query_one(&kind).await? else {
            return Ok(false);
        };
        let kind = GrantKind::from_code(row.try_get("", "kind")?)?;
        let (to, again) = match reusable.contains(&kind) {
            true => (GrantState::Active, true),
            false => (GrantState::Consumed, false),
        };
        Ok(move_grants(w, &[id], from, to, again, now_ms).await? > 0)
    }
}

fn meta_event(r: &sea_orm::QueryResult, kind: EventKind) -> Result<crate::domain::event::NewEvent> {
    let mut ev = event_of(r, kind)?;
    ev.actor = Some(Actor::meta().as_str().to_string());
    Ok(ev)
}
