//! Postgres: orders, their status transitions (each with its outbox event),
//! confirmation in one call, and idempotency keys; implements `BookingStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool};

use super::rows::*;
use super::{PgStore, db};
use crate::domain::{Event, Hold, HoldId, Nid, Order, OrderId, OrderStatus, UserId};
use crate::store::prelude::*;
use crate::store::{
    Confirmation, Confirmed, IdempotencyRecord, NewHold, NewOrder, OrderChange, RecordedAnswer,
    StoreError, StoreResult, ts,
};

pub(super) async fn create_order(
    pool: &PgPool,
    o: &NewOrder,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<Order> {
    // One call (ticketctl_create_order): lock and check the hold, insert the order,
    // its passengers, the Idempotency-Key and the outbox event in one round trip.
    let names: Vec<&str> = o.passengers.iter().map(|p| p.name.as_str()).collect();
    let nids: Vec<Option<&str>> = o
        .passengers
        .iter()
        .map(|p| p.nid.as_ref().map(Nid::as_str))
        .collect();
    let call =
        sqlx::query("SELECT * FROM ticketctl_create_order($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(o.user_id)
            .bind(o.hold_id)
            .bind(names)
            .bind(nids)
            .bind(&o.payment_token)
            .bind(&o.idempotency_key)
            .bind(&o.request_hash)
            .bind(ts(o.now))
            .bind(super::event_slots::order_reserved());
    let target = super::region::FenceTarget::Hold(o.hold_id);
    let r = super::region::fetch_fenced(pool, fence, target, call)
        .await
        .map_err(order_error)?
        .into_iter()
        .next()
        .ok_or_else(|| db(sqlx::Error::RowNotFound))?;
    created_order(&r, o)
}

/// A reused Idempotency-Key is the caller's conflict; the rest as `db`.
pub(super) fn order_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("idempotency_keys_pkey") => {
            StoreError::IdempotencyKeyUsed
        }
        _ => db(e),
    }
}

async fn with_passengers(
    conn: &mut PgConnection,
    mut orders: Vec<Order>,
) -> StoreResult<Vec<Order>> {
    if orders.is_empty() {
        return Ok(orders);
    }
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let rows = sqlx::query(
        "SELECT order_id, seq, name, nid, seat_id FROM order_passengers WHERE order_id = ANY($1) ORDER BY order_id, seq",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for r in &rows {
        let order_id: OrderId = get(r, "order_id")?;
        if let Some(o) = orders.iter_mut().find(|o| o.id == order_id) {
            o.passengers.push(passenger_row(r)?);
        }
    }
    Ok(orders)
}

pub(super) async fn orders_where(
    conn: &mut PgConnection,
    clause: &str,
    arg: impl sqlx::Encode<'_, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
) -> StoreResult<Vec<Order>> {
    let sql = format!("{ORDER_COLUMNS} WHERE {clause} ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let orders = rows
        .iter()
        .map(order_row)
        .collect::<StoreResult<Vec<_>>>()?;
    with_passengers(conn, orders).await
}

pub(super) async fn orders_stuck(
    conn: &mut PgConnection,
    statuses: &[OrderStatus],
    before: DateTime<Utc>,
) -> StoreResult<Vec<Order>> {
    let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
    let sql = format!("{ORDER_COLUMNS} WHERE status = ANY($1) AND updated_at <= $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(names)
        .bind(ts(before))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let orders = rows
        .iter()
        .map(order_row)
        .collect::<StoreResult<Vec<_>>>()?;
    with_passengers(conn, orders).await
}

/// The event of a transition.
fn transition_event(
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
) -> StoreResult<Event> {
    Event::order_moved(id, from, to, change.failure.clone(), change.refunded_amount)
        .map_err(|e| StoreError::Conflict(e.to_string()))
}

pub(super) async fn transition_order(
    pool: &PgPool,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
    now: DateTime<Utc>,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<bool> {
    // One call (ticketctl_transition_order): the conditional update, freeing the
    // seats and cancelling tickets when the order stops holding seats, and the event.
    let event = transition_event(id, from, to, change)?;
    let call =
        sqlx::query("SELECT ticketctl_transition_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(ts(now))
            .bind(&change.charge_id)
            .bind(&change.failure)
            .bind(change.refunded_amount)
            .bind(from.holds_seats() && !to.holds_seats())
            .bind(event.kind())
            .bind(event.payload());
    let target = super::region::FenceTarget::Order(id);
    let rows = super::region::fetch_fenced(pool, fence, target, call)
        .await
        .map_err(db)?;
    let hold_id: Option<HoldId> = match rows.first() {
        Some(row) => sqlx::Row::try_get(row, 0).map_err(db)?,
        None => None,
    };
    Ok(hold_id.is_some())
}

pub(super) async fn confirm_order(
    pool: &PgPool,
    c: Confirmation,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<Option<Confirmed>> {
    if !matches!(c.from, OrderStatus::Reserved | OrderStatus::Paid) {
        return Err(StoreError::Conflict(format!(
            "an order cannot be confirmed from {}",
            c.from
        )));
    }
    let paid = OrderChange {
        charge_id: c.charge_id.clone(),
        ..Default::default()
    };
    let paid_payload =
        transition_event(c.order_id, OrderStatus::Reserved, OrderStatus::Paid, &paid)?.payload();
    let confirmed_payload = transition_event(
        c.order_id,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        &OrderChange::default(),
    )?
    .payload();
    let pnrs: Vec<&str> = c.tickets.iter().map(|t| t.pnr.as_str()).collect();
    let seqs: Vec<i64> = c.tickets.iter().map(|t| t.passenger_seq as i64).collect();
    let seats: Vec<crate::domain::SeatId> = c.tickets.iter().map(|t| t.seat_id).collect();
    let payloads: Vec<&str> = c.tickets.iter().map(|t| t.payload.as_str()).collect();
    let events: Vec<String> = c
        .tickets
        .iter()
        .map(|t| super::event_slots::ticket_issued(t.order_id, &t.pnr))
        .collect();
    let confirm = sqlx::query(
        "SELECT * FROM ticketctl_confirm_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(c.order_id)
    .bind(c.from.as_str())
    .bind(&c.charge_id)
    .bind(ts(c.now))
    .bind(paid_payload)
    .bind(confirmed_payload)
    .bind(pnrs)
    .bind(seqs)
    .bind(seats)
    .bind(payloads)
    .bind(events);
    // The call alone is the transaction (one round trip), unless fenced.
    let target = super::region::FenceTarget::Order(c.order_id);
    let rows = super::region::fetch_fenced(pool, fence, target, confirm)
        .await
        .map_err(db)?;
    if rows.first().map(|r| get::<bool>(r, "moved")).transpose()? == Some(true) {
        return Ok(None);
    }
    let tickets = rows
        .iter()
        .map(ticket_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // Right after the call rather than in a transaction with it, which would
    // cost two more round trips with the seats locked. A crash in between
    // leaves the key unanswered with nothing sent: a retry's answer is the first.
    let answer = match c.answer {
        Some(a) => {
            let answer = (a.answer)(&tickets);
            finish_idempotency(pool, a.user_id, &a.key, &answer)
                .await?
                .then_some(answer)
        }
        None => None,
    };
    Ok(Some(Confirmed { tickets, answer }))
}

async fn finish_idempotency(
    pool: &PgPool,
    user_id: UserId,
    key: &str,
    answer: &RecordedAnswer,
) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2 AND response IS NULL")
        .bind(user_id)
        .bind(key)
        .bind(answer.status as i64)
        .bind(&answer.body)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn idempotency(
    pool: &PgPool,
    user_id: UserId,
    key: &str,
) -> StoreResult<Option<IdempotencyRecord>> {
    let row = sqlx::query("SELECT request_hash, order_id, status_code, response FROM idempotency_keys WHERE user_id = $1 AND key = $2")
        .bind(user_id)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(idempotency_row).transpose()
}

#[async_trait]
impl BookingStore for PgStore {
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<Hold> {
        let fence = self.fence_now()?;
        super::holds::create_hold(&self.pool, hold, fence.as_ref()).await
    }

    async fn hold(&self, id: HoldId) -> StoreResult<Option<Hold>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        super::holds::load_hold(&mut conn, id).await
    }

    async fn release_hold(&self, id: HoldId, user_id: UserId) -> StoreResult<bool> {
        super::holds::release_hold(&self.pool, id, user_id).await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<HoldId>> {
        let fence = self.fence_now()?;
        super::holds::expire_holds(&self.pool, now, limit, fence.as_ref()).await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<Order> {
        let fence = self.fence_now()?;
        create_order(&self.pool, order, fence.as_ref()).await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(orders_where(&mut conn, "id = $1", id).await?.pop())
    }

    async fn orders_of_user(&self, user_id: UserId) -> StoreResult<Vec<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        orders_where(&mut conn, "user_id = $1", user_id).await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<Order>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        orders_stuck(&mut conn, statuses, before).await
    }

    async fn transition_order(
        &self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let fence = self.fence_now()?;
        transition_order(&self.pool, id, from, to, change, now, fence.as_ref()).await
    }

    async fn idempotency(
        &self,
        user_id: UserId,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        idempotency(&self.pool, user_id, key).await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Confirmed>> {
        let fence = self.fence_now()?;
        confirm_order(&self.pool, c, fence.as_ref()).await
    }

    async fn finish_idempotency(
        &self,
        user_id: UserId,
        key: &str,
        answer: &RecordedAnswer,
    ) -> StoreResult<bool> {
        finish_idempotency(&self.pool, user_id, key, answer).await
    }
}
