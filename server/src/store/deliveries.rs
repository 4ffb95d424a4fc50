//! The dispatch queue's rows: the claim of a delivery (a lease, one more attempt), what a claimed
//! delivery's send needs, and the event of a delivery row. Claims are made per page, with their
//! send slots, in `pacing.rs`.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, ReturningClause, UpdateStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, QueryResult};

use super::codes::Code;
use super::schema::{Deliveries, Grants, Notifications};
use super::{Store, WriteTxn};
use crate::domain::event::NewEvent;
use crate::domain::outcome::{Claimed, ClaimedGrant};
use crate::domain::values::Token;
use crate::domain::vocab::{
    DeliveryPath, DeliveryState, EventKind, GrantKind, MessageTag, NotificationState,
};
use crate::error::Result;

#[derive(FromQueryResult)]
struct ClaimedRow {
    id: i64,
    recipient_id: i64,
    notification_id: String,
    page_id: String,
    psid: String,
    topic_key: String,
    grant_id: Option<i64>,
    path: i32,
    rule: String,
    attempts: i32,
    ambiguous: i32,
    token: Option<String>,
    kind: Option<i32>,
    message: String,
    message_tag: Option<i32>,
    created_by: Option<String>,
    next_attempt_at: i64,
    trace_parent: Option<String>,
}

impl TryFrom<ClaimedRow> for Claimed {
    type Error = crate::error::Error;
    fn try_from(r: ClaimedRow) -> Result<Self> {
        let grant = match (r.grant_id, r.kind) {
            (Some(id), Some(kind)) => Some(ClaimedGrant {
                id,
                kind: GrantKind::from_code(kind)?,
                token: r.token.and_then(|t| Token::parse("token", &t).ok()),
            }),
            (Some(id), None) => Some(ClaimedGrant {
                id,
                kind: GrantKind::OneTimeNotification,
                token: None,
            }),
            _ => None,
        };
        Ok(Claimed {
            id: r.id,
            recipient_id: r.recipient_id,
            notification_id: r.notification_id,
            page_id: r.page_id,
            psid: r.psid,
            topic_key: r.topic_key,
            grant,
            path: DeliveryPath::from_code(r.path)?,
            rule: r.rule,
            message_tag: r.message_tag.map(MessageTag::from_code).transpose()?,
            attempts: r.attempts,
            ambiguous: r.ambiguous == 1,
            message: r.message,
            actor: r.created_by.unwrap_or_default(),
            due_ms: r.next_attempt_at,
            trace_parent: r.trace_parent,
        })
    }
}

/// The columns a delivery event is built from, for `UPDATE deliveries … RETURNING`.
pub(super) fn returning() -> ReturningClause {
    returning_with(&[])
}

/// [`returning`] and `extra` columns.
pub(super) fn returning_with(extra: &[Deliveries]) -> ReturningClause {
    let mut cols = vec![
        Deliveries::Id,
        Deliveries::NotificationId,
        Deliveries::PageId,
        Deliveries::Psid,
        Deliveries::TopicKey,
        Deliveries::GrantId,
        Deliveries::Path,
        Deliveries::Rule,
        Deliveries::MessageId,
    ];
    cols.extend_from_slice(extra);
    Query::returning().columns(cols)
}

/// The event of `kind` about the delivery in a row returned with [`returning`].
pub(super) fn event_of(r: &QueryResult, kind: EventKind) -> Result<NewEvent> {
    let mut ev = NewEvent::new(kind, r.try_get::<String>("", "page_id")?);
    ev.topic_key = Some(r.try_get("", "topic_key")?);
    ev.notification_id = Some(r.try_get("", "notification_id")?);
    ev.delivery_id = Some(r.try_get::<i64>("", "id")?);
    ev.psid = Some(r.try_get("", "psid")?);
    ev.grant_id = r.try_get("", "grant_id")?;
    ev.message_id = r
        .try_get::<Option<String>>("", "message_id")?
        .filter(|m| !m.is_empty());
    ev.path = Some(DeliveryPath::from_code(r.try_get("", "path")?)?);
    ev.rule = Some(r.try_get("", "rule")?);
    Ok(ev)
}

/// `UPDATE deliveries SET state = SENDING, lease, attempts + 1` for the claimable rows the
/// caller selects. A row claimed while SENDING had its lease lapse: its outcome is unknown.
pub(super) fn claim_update(now_ms: i64, lease_ms: i64) -> UpdateStatement {
    Query::update()
        .table(Deliveries::Table)
        .value(Deliveries::State, DeliveryState::Sending.code())
        .value(Deliveries::LeaseUntil, now_ms + lease_ms)
        .value(Deliveries::Attempts, Expr::col(Deliveries::Attempts).add(1))
        .value(
            Deliveries::FirstAttemptAt,
            Expr::col(Deliveries::FirstAttemptAt).if_null(now_ms),
        )
        .value(
            Deliveries::Ambiguous,
            Expr::case(
                Expr::col(Deliveries::State).eq(DeliveryState::Sending.code()),
                1,
            )
            .finally(Expr::col(Deliveries::Ambiguous)),
        )
        .to_owned()
}

/// Marks the notifications of claimed deliveries DISPATCHING, and reads what their sends need.
pub(super) async fn read_claimed(
    store: &Store,
    w: &WriteTxn<'_>,
    ids: &[i64],
) -> Result<Vec<Claimed>> {
    let started = Query::update()
        .table(Notifications::Table)
        .value(Notifications::State, NotificationState::Dispatching.code())
        .and_where(Expr::col(Notifications::State).eq(NotificationState::Scheduled.code()))
        .and_where(
            Expr::col(Notifications::Id).in_subquery(
                Query::select()
                    .column(Deliveries::NotificationId)
                    .from(Deliveries::Table)
                    .and_where(Expr::col(Deliveries::Id).is_in(ids.iter().copied()))
                    .to_owned(),
            ),
        )
        .to_owned();
    w.txn().execute(&started).await?;
    let d = |c| (Deliveries::Table, c);
    let read = Query::select()
        .columns([
            d(Deliveries::Id),
            d(Deliveries::RecipientId),
            d(Deliveries::NotificationId),
            d(Deliveries::PageId),
            d(Deliveries::Psid),
            d(Deliveries::TopicKey),
            d(Deliveries::GrantId),
            d(Deliveries::Path),
            d(Deliveries::Rule),
            d(Deliveries::Attempts),
            d(Deliveries::Ambiguous),
            d(Deliveries::NextAttemptAt),
        ])
        .columns([
            (Grants::Table, Grants::Token),
            (Grants::Table, Grants::Kind),
        ])
        .columns([
            (Notifications::Table, Notifications::Message),
            (Notifications::Table, Notifications::MessageTag),
            (Notifications::Table, Notifications::CreatedBy),
            (Notifications::Table, Notifications::TraceParent),
        ])
        .from(Deliveries::Table)
        .inner_join(
            Notifications::Table,
            Expr::col((Notifications::Table, Notifications::Id))
                .equals(d(Deliveries::NotificationId)),
        )
        .left_join(
            Grants::Table,
            Expr::col((Grants::Table, Grants::Id)).equals(d(Deliveries::GrantId)),
        )
        .and_where(Expr::col(d(Deliveries::Id)).is_in(ids.iter().copied()))
        .order_by(d(Deliveries::Id), Order::Asc)
        .to_owned();
    let rows = ClaimedRow::find_by_statement(store.db().get_database_backend().build(&read))
        .all(w.txn())
        .await?;
    rows.into_iter().map(Claimed::try_from).collect()
}
