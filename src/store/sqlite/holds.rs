//! SQLite: seat holds. Taking, releasing and expiring a hold each run inside
//! one writer command, so the seats' bits and the hold change together.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::db;
use super::outbox::outbox;
use super::rows::*;
use crate::domain::{Event, Hold, HoldId, TripId, UserId};
use crate::store::counter::LIVE_STATUSES;
use crate::store::{NewHold, StoreError, StoreResult, ts};

pub(super) fn seats_taken_by_user(
    conn: &Connection,
    user_id: UserId,
    trip_id: TripId,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    // Seats in the user's live holds on this trip, plus those of orders still holding seats.
    conn.prepare_cached(&format!(
        "SELECT COUNT(*) FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE h.user_id = ?1 AND h.trip_id = ?2
           AND ((h.status = 'active' AND h.expires_at > ?3)
                OR (h.status = 'ordered' AND o.status IN ({LIVE_STATUSES})))"
    ))
    .map_err(db)?
    .query_row(params![user_id, trip_id, ts(now)], |r| r.get(0))
    .map_err(db)
}

pub(super) fn create_hold(conn: &Connection, h: &NewHold) -> StoreResult<Hold> {
    if let Some(cap) = h.seat_cap {
        // Counted and decided in this writer command, before any seat is taken.
        let already = seats_taken_by_user(conn, h.user_id, h.trip_id, h.now)?;
        cap.admit(already, h.seat_ids.len())
            .map_err(|refusal| StoreError::Conflict(refusal.to_string()))?;
    }
    // The conditional update is the whole concurrency story: it succeeds only if
    // no other hold or sale has any of these segments, and the writer (or the row
    // lock on Postgres) makes check-and-set one step.
    let mut take = conn
        .prepare_cached(
            "UPDATE seats SET taken = taken | ?1
             WHERE id = ?2 AND trip_id = ?3 AND class = ?4 AND (taken & ?1) = 0",
        )
        .map_err(db)?;
    let mut lost = Vec::new();
    for seat in &h.seat_ids {
        if take
            .execute(params![h.mask.to_db(), seat, h.trip_id, h.class.code()])
            .map_err(db)?
            == 0
        {
            lost.push(*seat);
        }
    }
    if !lost.is_empty() {
        // Returning an error rolls this command's savepoint back: no seat stays taken.
        return Err(StoreError::SeatsTaken(lost));
    }
    conn.prepare_cached(
        "INSERT INTO holds (trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9)",
    )
    .map_err(db)?
    .execute(params![h.trip_id, h.user_id, h.from_stop, h.to_stop, h.mask.to_db(), h.class.code(), h.fare, ts(h.now), ts(h.expires_at)])
    .map_err(db)?;
    let hold_id = HoldId(conn.last_insert_rowid());
    let mut link = conn
        .prepare_cached("INSERT INTO hold_seats (hold_id, seat_id) VALUES (?1, ?2)")
        .map_err(db)?;
    for seat in &h.seat_ids {
        link.execute(params![hold_id, seat]).map_err(db)?;
    }
    load_hold(conn, hold_id)?.ok_or_else(|| StoreError::Backend("new hold vanished".into()))
}

pub(super) fn load_hold(conn: &Connection, id: HoldId) -> StoreResult<Option<Hold>> {
    let hold = conn
        .prepare_cached(&format!("{HOLD_COLUMNS} WHERE id = ?1"))
        .map_err(db)?
        .query_row([id], hold_row)
        .optional()
        .map_err(db)?;
    let Some(mut hold) = hold else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SEAT_COLUMNS} FROM hold_seats hs JOIN seats s ON s.id = hs.seat_id
             WHERE hs.hold_id = ?1 ORDER BY s.coach_seq, s.seat_no"
        ))
        .map_err(db)?;
    let seats = stmt.query_map([id], seat_row).map_err(db)?;
    hold.seats = seats.collect::<Result<_, _>>().map_err(db)?;
    Ok(Some(hold))
}

/// Clears exactly the hold's bits on exactly its seats.
pub(super) fn free_hold_seats(conn: &Connection, hold_id: HoldId) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE seats SET taken = taken & ~(SELECT mask FROM holds WHERE id = ?1)
         WHERE id IN (SELECT seat_id FROM hold_seats WHERE hold_id = ?1)",
    )
    .map_err(db)?
    .execute([hold_id])
    .map_err(db)?;
    Ok(())
}

pub(super) fn release_hold(conn: &Connection, id: HoldId, user_id: UserId) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached("UPDATE holds SET status = 'released' WHERE id = ?1 AND user_id = ?2 AND status = 'active'")
        .map_err(db)?
        .execute(params![id, user_id])
        .map_err(db)?;
    if changed == 1 {
        free_hold_seats(conn, id)?;
    }
    Ok(changed == 1)
}

pub(super) fn expire_holds(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: i64,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<Vec<HoldId>> {
    // A server of a region expires only the holds of trips it may write
    // (epochs as a JSON array); without regions, every overdue hold.
    let (region, epochs) = match fence {
        Some(f) => (
            Some(f.region.clone()),
            serde_json::to_string(&f.epochs).unwrap_or_default(),
        ),
        None => (None, String::new()),
    };
    let ids: Vec<HoldId> = conn
        .prepare_cached(
            "SELECT id FROM holds WHERE status = 'active' AND expires_at <= ?1
               AND (?3 IS NULL OR trip_id IN (SELECT trip_id FROM trip_homes
                    WHERE region = ?3 AND epoch IN (SELECT value FROM json_each(?4))))
             ORDER BY expires_at LIMIT ?2",
        )
        .map_err(db)?
        .query_map(params![ts(now), limit, region, epochs], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    for id in &ids {
        conn.prepare_cached("UPDATE holds SET status = 'expired' WHERE id = ?1")
            .map_err(db)?
            .execute([id])
            .map_err(db)?;
        free_hold_seats(conn, *id)?;
        outbox(conn, &Event::HoldExpired { hold_id: *id }, now)?;
    }
    Ok(ids)
}
