//! SQLite side of `LimitStore`: each check and its write run in one writer
//! command, so nothing can be written between the count and the insert (the
//! one writer is the NID's lock here).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, booking, db};
use crate::domain::{Hold, HoldId, Nid, NidCaps, Order, TripId};
use crate::store::counter::LIVE_STATUSES;
use crate::store::{
    CounterBuyer, HoldCap, HoldCaps, LimitStore, NewHold, NewOrder, StoreError, StoreResult, ts,
};

/// Refuses `wanted` more seats for `nid` on `trip` when it is flagged or a cap
/// says no: its seats in live holds and live orders on the trip, and on every
/// trip of the trip's date, leaving out hold `skip` (a counter hold being sold).
fn admit_nid(
    conn: &Connection,
    nid: &Nid,
    caps: NidCaps,
    trip: TripId,
    skip: Option<HoldId>,
    wanted: usize,
    now: i64,
) -> StoreResult<()> {
    let flagged: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM nid_flags WHERE nid = ?1 AND flagged_at IS NOT NULL)",
        )
        .map_err(db)?
        .query_row(params![nid.as_str()], |r| r.get(0))
        .map_err(db)?;
    if flagged {
        return Err(StoreError::NidFlagged);
    }
    let (on_trip, on_day): (i64, i64) = conn
        .prepare_cached(&format!(
            "SELECT COALESCE(SUM(h.trip_id = ?2), 0), COUNT(*)
             FROM holds h
             JOIN hold_seats hs ON hs.hold_id = h.id
             JOIN trips t ON t.id = h.trip_id
             LEFT JOIN orders o ON o.hold_id = h.id
             WHERE h.nid = ?1 AND h.id IS NOT ?4
               AND t.service_date = (SELECT service_date FROM trips WHERE id = ?2)
               AND ((h.status = 'active' AND h.expires_at > ?3)
                    OR (h.status = 'ordered' AND o.status IN ({LIVE_STATUSES})))"
        ))
        .map_err(db)?
        .query_row(params![nid.as_str(), trip, now, skip], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?;
    caps.admit(on_trip, on_day, wanted)
        .map_err(StoreError::NidCapReached)
}

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
    let nid = match caps.nid {
        Some(nid_caps) => {
            let nid: Option<String> = conn
                .prepare_cached("SELECT nid FROM users WHERE id = ?1")
                .map_err(db)?
                .query_row(params![h.user_id], |r| r.get(0))
                .optional()
                .map_err(db)?
                .flatten();
            let nid = nid
                .map(|n| Nid::parse(&n))
                .transpose()
                .map_err(|e| StoreError::Backend(e.to_string()))?
                .ok_or(StoreError::NidRequired)?;
            admit_nid(conn, &nid, nid_caps, h.trip_id, None, h.seat_ids.len(), now)?;
            Some(nid)
        }
        None => None,
    };
    if let Some(max) = caps.per_account {
        check_cap(conn, HoldCap::PerAccount, &h.user_id, max, now)?;
    }
    if let (Some(max), Some(addr)) = (caps.per_address, &caps.client_addr) {
        check_cap(conn, HoldCap::PerAddress, addr, max, now)?;
    }
    let hold = super::holds::create_hold(conn, h)?;
    if caps.client_addr.is_some() || nid.is_some() {
        conn.prepare_cached("UPDATE holds SET client_addr = ?2, nid = ?3 WHERE id = ?1")
            .map_err(db)?
            .execute(params![
                hold.id,
                caps.client_addr,
                nid.as_ref().map(Nid::as_str)
            ])
            .map_err(db)?;
    }
    Ok(hold)
}

fn create_counter_order(
    conn: &Connection,
    o: &NewOrder,
    buyer: &CounterBuyer,
) -> StoreResult<Order> {
    let trip: Option<TripId> = conn
        .prepare_cached("SELECT trip_id FROM holds WHERE id = ?1 AND user_id = ?2")
        .map_err(db)?
        .query_row(params![o.hold_id, o.user_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    if let Some(trip) = trip {
        admit_nid(
            conn,
            &buyer.nid,
            buyer.caps,
            trip,
            Some(o.hold_id),
            o.passengers.len(),
            ts(o.now),
        )?;
    }
    // A missing or inactive hold is refused here, before the buyer is recorded.
    let order = booking::create_order(conn, o)?;
    let nid = buyer.nid.as_str();
    conn.prepare_cached(
        "INSERT INTO counter_sales (hold_id, clerk_id, phone, nid, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (hold_id) DO UPDATE SET phone = excluded.phone, nid = excluded.nid",
    )
    .map_err(db)?
    .execute(params![
        o.hold_id,
        buyer.clerk_id,
        buyer.phone,
        nid,
        ts(o.now)
    ])
    .map_err(db)?;
    conn.prepare_cached("UPDATE holds SET nid = ?2 WHERE id = ?1")
        .map_err(db)?
        .execute(params![o.hold_id, nid])
        .map_err(db)?;
    Ok(order)
}

#[async_trait]
impl LimitStore for SqliteStore {
    async fn create_hold_capped(&self, hold: &NewHold, caps: &HoldCaps) -> StoreResult<Hold> {
        let (hold, caps) = (hold.clone(), caps.clone());
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| {
                use super::region::{TRIP_OF_TRIP, check_fence};
                check_fence(c, fence.as_ref(), TRIP_OF_TRIP, hold.trip_id.0)?;
                create_hold_capped(c, &hold, &caps)
            })
            .await
    }

    async fn create_counter_order(
        &self,
        order: &NewOrder,
        buyer: &CounterBuyer,
    ) -> StoreResult<Order> {
        let (order, buyer) = (order.clone(), buyer.clone());
        let fence = self.fence_now()?;
        self.engine
            .write(move |c| {
                use super::region::{TRIP_OF_HOLD, check_fence};
                check_fence(c, fence.as_ref(), TRIP_OF_HOLD, order.hold_id.0)?;
                create_counter_order(c, &order, &buyer)
            })
            .await
    }
}
