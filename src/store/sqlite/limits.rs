//! SQLite side of `LimitStore`: each check and its write run in one writer
//! command, so nothing can be written between the count and the insert.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, booking, db};
use crate::domain::{Hold, Order};
use crate::store::counter::LIVE_STATUSES;
use crate::store::{
    CounterBuyer, HoldCap, HoldCaps, LimitStore, NewHold, NewOrder, StoreError, StoreResult, ts,
};

/// Refuses when `column = value` already has `max` unexpired holds.
fn check_cap(
    conn: &Connection,
    cap: HoldCap,
    value: &dyn rusqlite::ToSql,
    max: i64,
    now: i64,
) -> StoreResult<()> {
    let column = match cap {
        HoldCap::PerAccount => "user_id",
        HoldCap::PerAddress => "client_addr",
    };
    let already: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM holds WHERE {column} = ?1 AND status = 'active' AND expires_at > ?2"
        ))
        .map_err(db)?
        .query_row(params![value, now], |r| r.get(0))
        .map_err(db)?;
    if already >= max {
        return Err(StoreError::HoldCapReached { cap, max, already });
    }
    Ok(())
}

fn create_hold_capped(conn: &Connection, h: &NewHold, caps: &HoldCaps) -> StoreResult<Hold> {
    let now = ts(h.now);
    if let Some(max) = caps.per_account {
        check_cap(conn, HoldCap::PerAccount, &h.user_id, max, now)?;
    }
    if let (Some(max), Some(addr)) = (caps.per_address, &caps.client_addr) {
        check_cap(conn, HoldCap::PerAddress, addr, max, now)?;
    }
    let hold = super::holds::create_hold(conn, h)?;
    if caps.client_addr.is_some() {
        conn.prepare_cached("UPDATE holds SET client_addr = ?2 WHERE id = ?1")
            .map_err(db)?
            .execute(params![hold.id, caps.client_addr])
            .map_err(db)?;
    }
    Ok(hold)
}

fn create_counter_order(
    conn: &Connection,
    o: &NewOrder,
    buyer: &CounterBuyer,
) -> StoreResult<Order> {
    let trip: Option<i64> = conn
        .prepare_cached("SELECT trip_id FROM holds WHERE id = ?1 AND user_id = ?2")
        .map_err(db)?
        .query_row(params![o.hold_id, o.user_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    if let Some(trip) = trip {
        let already: i64 = conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM counter_sales cs
                 JOIN orders o ON o.hold_id = cs.hold_id
                 JOIN order_passengers p ON p.order_id = o.id
                 WHERE cs.phone = ?1 AND o.trip_id = ?2 AND o.status IN ({LIVE_STATUSES})"
            ))
            .map_err(db)?
            .query_row(params![buyer.phone, trip], |r| r.get(0))
            .map_err(db)?;
        buyer
            .seat_cap
            .admit(already, o.passengers.len())
            .map_err(|refusal| StoreError::Conflict(refusal.for_phone(&buyer.phone)))?;
    }
    // A missing or inactive hold is refused here, before the buyer is recorded.
    let order = booking::create_order(conn, o)?;
    conn.prepare_cached(
        "INSERT INTO counter_sales (hold_id, clerk_id, phone, created_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (hold_id) DO UPDATE SET phone = excluded.phone",
    )
    .map_err(db)?
    .execute(params![o.hold_id, buyer.clerk_id, buyer.phone, ts(o.now)])
    .map_err(db)?;
    Ok(order)
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn create_hold_capped(&self, hold: &NewHold, caps: &HoldCaps) -> StoreResult<Hold> {
        let (hold, caps) = (hold.clone(), caps.clone());
        self.engine
            .write(move |c| create_hold_capped(c, &hold, &caps))
            .await
    }

    async fn create_counter_order(
        &self,
        order: &NewOrder,
        buyer: &CounterBuyer,
    ) -> StoreResult<Order> {
        let (order, buyer) = (order.clone(), buyer.clone());
        self.engine
            .write(move |c| create_counter_order(c, &order, &buyer))
            .await
    }
}
