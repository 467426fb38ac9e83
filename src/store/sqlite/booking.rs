//! SQLite: orders, their status transitions (each with its outbox event),
//! confirmation in one write, and idempotency keys; implements `BookingStore`.
//! Each function runs inside one writer command (one savepoint) or one read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::holds::free_hold_seats;
use super::holds::load_hold;
use super::outbox::outbox;
use super::rows::*;
use super::ticket::issue_tickets;
use super::ticket::tickets_where;
use super::{SqliteStore, db};
use crate::domain::{Event, Hold, HoldId, HoldNotLive, Order, OrderId, OrderStatus, UserId};
use crate::store::prelude::*;
use crate::store::{
    Confirmation, Confirmed, IdempotencyRecord, NewHold, NewOrder, OrderChange, RecordedAnswer,
    StoreError, StoreResult, ts,
};

pub(super) fn create_order(conn: &Connection, o: &NewOrder) -> StoreResult<Order> {
    let hold = load_hold(conn, o.hold_id)?
        .filter(|h| h.user_id == o.user_id)
        .ok_or_else(|| StoreError::NotFound(format!("no hold {} of yours", o.hold_id)))?;
    if !hold.is_live(o.now) {
        let refusal = HoldNotLive {
            hold_id: hold.id,
            seen: hold.status_at(o.now),
        };
        return Err(StoreError::Conflict(refusal.to_string()));
    }
    if o.passengers.len() != hold.seats.len() {
        return Err(StoreError::Conflict(format!(
            "the hold has {} seats but {} passengers were named",
            hold.seats.len(),
            o.passengers.len()
        )));
    }
    let amount = hold.total();
    conn.prepare_cached(
        "INSERT INTO orders (user_id, hold_id, trip_id, status, amount, payment_token, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'reserved', ?4, ?5, ?6, ?6)",
    )
    .map_err(db)?
    .execute(params![o.user_id, hold.id, hold.trip_id, amount, o.payment_token, ts(o.now)])
    .map_err(db)?;
    let order_id = OrderId(conn.last_insert_rowid());
    conn.prepare_cached("UPDATE holds SET status = 'ordered' WHERE id = ?1")
        .map_err(db)?
        .execute([hold.id])
        .map_err(db)?;
    let mut add = conn
        .prepare_cached("INSERT INTO order_passengers (order_id, seq, name, nid, seat_id) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(db)?;
    for (seq, (p, seat)) in o.passengers.iter().zip(&hold.seats).enumerate() {
        add.execute(params![order_id, seq as i64, p.name, p.nid, seat.id])
            .map_err(db)?;
    }
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![o.user_id, o.idempotency_key, o.request_hash, order_id, ts(o.now)])
    .map_err(|e| match db(e) {
        StoreError::Conflict(_) => StoreError::IdempotencyKeyUsed,
        other => other,
    })?;
    outbox(conn, &Event::OrderReserved { order_id, amount }, o.now)?;
    load_order(conn, order_id)?.ok_or_else(|| StoreError::Backend("new order vanished".into()))
}

fn with_passengers(conn: &Connection, mut orders: Vec<Order>) -> StoreResult<Vec<Order>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "{PASSENGER_COLUMNS} WHERE order_id = ?1 ORDER BY seq"
        ))
        .map_err(db)?;
    for o in &mut orders {
        o.passengers = stmt
            .query_map([o.id], passenger_row)
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
    }
    Ok(orders)
}

pub(super) fn load_order(conn: &Connection, id: OrderId) -> StoreResult<Option<Order>> {
    let order = conn
        .prepare_cached(&format!("{ORDER_COLUMNS} WHERE id = ?1"))
        .map_err(db)?
        .query_row([id], order_row)
        .optional()
        .map_err(db)?;
    Ok(with_passengers(conn, order.into_iter().collect())?.pop())
}

pub(super) fn orders_where(
    conn: &Connection,
    clause: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<Order>> {
    let orders = conn
        .prepare_cached(&format!("{ORDER_COLUMNS} WHERE {clause} ORDER BY id"))
        .map_err(db)?
        .query_map(args, order_row)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    with_passengers(conn, orders)
}

pub(super) fn transition_order(
    conn: &Connection,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET status = ?3, updated_at = ?4,
               charge_id = COALESCE(?5, charge_id), failure = COALESCE(?6, failure),
               refunded_amount = COALESCE(?7, refunded_amount)
             WHERE id = ?1 AND status = ?2",
        )
        .map_err(db)?
        .execute(params![
            id,
            from.as_str(),
            to.as_str(),
            ts(now),
            change.charge_id,
            change.failure,
            change.refunded_amount
        ])
        .map_err(db)?;
    if changed == 0 {
        return Ok(false);
    }
    if from.holds_seats() && !to.holds_seats() {
        let hold_id: HoldId = conn
            .query_row("SELECT hold_id FROM orders WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(db)?;
        free_hold_seats(conn, hold_id)?;
        conn.execute(
            "UPDATE tickets SET status = 'cancelled' WHERE order_id = ?1",
            [id],
        )
        .map_err(db)?;
    }
    let event = Event::order_moved(id, from, to, change.failure.clone(), change.refunded_amount)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    outbox(conn, &event, now)?;
    Ok(true)
}

pub(super) fn confirm_order(conn: &Connection, c: Confirmation) -> StoreResult<Option<Confirmed>> {
    match c.from {
        OrderStatus::Reserved => {
            let change = OrderChange {
                charge_id: c.charge_id.clone(),
                ..Default::default()
            };
            let moved = transition_order(
                conn,
                c.order_id,
                OrderStatus::Reserved,
                OrderStatus::Paid,
                &change,
                c.now,
            )?;
            if !moved {
                return Ok(None);
            }
        }
        OrderStatus::Paid => {}
        other => {
            return Err(StoreError::Conflict(format!(
                "an order cannot be confirmed from {other}"
            )));
        }
    }
    let change = OrderChange::default();
    if !transition_order(
        conn,
        c.order_id,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        &change,
        c.now,
    )? {
        if c.from == OrderStatus::Paid {
            return Ok(None);
        }
        // Unreachable (it was paid a statement ago); the error rolls the command back.
        return Err(StoreError::Conflict(format!(
            "order {} changed while being confirmed",
            c.order_id
        )));
    }
    issue_tickets(conn, &c.tickets, c.now)?;
    let tickets = tickets_where(conn, "order_id = ?1", c.order_id)?;
    // In the same command: recording it apart cost every order one more
    // round trip through the single writer (a commit wait of its own).
    let answer = match c.answer {
        Some(a) => {
            let answer = (a.answer)(&tickets);
            finish_idempotency(conn, a.user_id, &a.key, &answer)?.then_some(answer)
        }
        None => None,
    };
    Ok(Some(Confirmed { tickets, answer }))
}

pub(super) fn idempotency(
    conn: &Connection,
    user_id: UserId,
    key: &str,
) -> StoreResult<Option<IdempotencyRecord>> {
    conn.prepare_cached("SELECT request_hash, order_id, status_code, response FROM idempotency_keys WHERE user_id = ?1 AND key = ?2")
        .map_err(db)?
        .query_row(params![user_id, key], idempotency_row)
        .optional()
        .map_err(db)
}

pub(super) fn finish_idempotency(
    conn: &Connection,
    user_id: UserId,
    key: &str,
    answer: &RecordedAnswer,
) -> StoreResult<bool> {
    let written = conn.prepare_cached("UPDATE idempotency_keys SET status_code = ?3, response = ?4 WHERE user_id = ?1 AND key = ?2 AND response IS NULL")
        .map_err(db)?
        .execute(params![user_id, key, answer.status, answer.body])
        .map_err(db)?;
    Ok(written == 1)
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<Hold> {
        let hold = hold.clone();
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| {
                use super::region::{TRIP_OF_TRIP, check_fence};
                check_fence(c, fence.as_ref(), TRIP_OF_TRIP, hold.trip_id.0)?;
                super::holds::create_hold(c, &hold)
            })
            .await
    }

    async fn hold(&self, id: HoldId) -> StoreResult<Option<Hold>> {
        self.engine
            .read(move |c| super::holds::load_hold(c, id))
            .await
    }

    async fn release_hold(&self, id: HoldId, user_id: UserId) -> StoreResult<bool> {
        self.engine
            .write(move |c| super::holds::release_hold(c, id, user_id))
            .await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<HoldId>> {
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| super::holds::expire_holds(c, now, limit, fence.as_ref()))
            .await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<Order> {
        let order = order.clone();
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| {
                use super::region::{TRIP_OF_HOLD, check_fence};
                check_fence(c, fence.as_ref(), TRIP_OF_HOLD, order.hold_id.0)?;
                create_order(c, &order)
            })
            .await
    }

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>> {
        self.engine.read(move |c| load_order(c, id)).await
    }

    async fn orders_of_user(&self, user_id: UserId) -> StoreResult<Vec<Order>> {
        self.engine
            .read(move |c| orders_where(c, "user_id = ?1", [user_id]))
            .await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<Order>> {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
        self.engine
            .read(move |c| {
                let list = serde_json::to_string(&statuses).expect("strings serialise");
                orders_where(
                    c,
                    "status IN (SELECT value FROM json_each(?1)) AND updated_at <= ?2",
                    params![list, ts(before)],
                )
            })
            .await
    }

    async fn transition_order(
        &self,
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let change = change.clone();
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| {
                use super::region::{TRIP_OF_ORDER, check_fence};
                check_fence(c, fence.as_ref(), TRIP_OF_ORDER, id.0)?;
                transition_order(c, id, from, to, &change, now)
            })
            .await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Confirmed>> {
        let fence = self.fence_now()?;
        self.engine
            .write(move |conn| {
                use super::region::{TRIP_OF_ORDER, check_fence};
                check_fence(conn, fence.as_ref(), TRIP_OF_ORDER, c.order_id.0)?;
                confirm_order(conn, c)
            })
            .await
    }

    async fn idempotency(
        &self,
        user_id: UserId,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let key = key.to_owned();
        self.engine
            .read(move |c| idempotency(c, user_id, &key))
            .await
    }

    async fn finish_idempotency(
        &self,
        user_id: UserId,
        key: &str,
        answer: &RecordedAnswer,
    ) -> StoreResult<bool> {
        let (key, answer) = (key.to_owned(), answer.clone());
        self.engine
            .write(move |c| finish_idempotency(c, user_id, &key, &answer))
            .await
    }
}
