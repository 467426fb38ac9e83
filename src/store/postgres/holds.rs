//! Postgres: seat holds. Taking, releasing and expiring are plpgsql functions
//! (migration 0004), each one all-or-nothing call.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool};

use super::db;
use super::rows::*;
use crate::domain::{Hold, HoldId, UserId};
use crate::store::{NewHold, StoreResult, ts};

pub(super) async fn create_hold(
    pool: &PgPool,
    h: &NewHold,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<Hold> {
    // One call (ticketctl_create_hold, migration 0004): the limit check, the seat
    // locks, the all-or-nothing take and the inserts in one round trip and one
    // transaction, instead of seven round trips on a pooled connection.
    let call = sqlx::query(
        "SELECT * FROM ticketctl_create_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(h.trip_id)
    .bind(h.user_id)
    .bind(h.from_stop as i64)
    .bind(h.to_stop as i64)
    .bind(h.mask.to_db())
    .bind(h.class.code())
    .bind(h.fare)
    .bind(&h.seat_ids)
    .bind(ts(h.now))
    .bind(ts(h.expires_at))
    .bind(seat_cap_max(h.seat_cap));
    let rows = super::region::fetch_fenced(
        pool,
        fence,
        super::region::FenceTarget::Trip(h.trip_id),
        call,
    )
    .await
    .map_err(db)?;
    hold_from_rows(&rows, h)
}

pub(super) async fn load_hold(conn: &mut PgConnection, id: HoldId) -> StoreResult<Option<Hold>> {
    // The hold and its seats in one round trip: the hold's columns repeat on each
    // seat row (a hold has at most a handful of seats).
    let rows = sqlx::query(
        "SELECT h.id AS hold_id, h.trip_id, h.user_id, h.from_stop, h.to_stop, h.mask, h.class AS hold_class,
                h.fare, h.status, h.created_at, h.expires_at,
                s.id, s.coach_seq, s.coach_code, s.seat_no, s.class, s.taken
         FROM holds h LEFT JOIN hold_seats hs ON hs.hold_id = h.id LEFT JOIN seats s ON s.id = hs.seat_id
         WHERE h.id = $1 ORDER BY s.coach_seq, s.seat_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    hold_row(&rows)
}

pub(super) async fn release_hold(pool: &PgPool, id: HoldId, user_id: UserId) -> StoreResult<bool> {
    sqlx::query_scalar("SELECT ticketctl_release_hold($1, $2)")
        .bind(id)
        .bind(user_id)
        .fetch_one(pool)
        .await
        .map_err(db)
}

pub(super) async fn expire_holds(
    pool: &PgPool,
    now: DateTime<Utc>,
    limit: i64,
    fence: Option<&crate::store::Fence>,
) -> StoreResult<Vec<HoldId>> {
    // A server of a region expires only the holds of trips it may write.
    let Some(f) = fence else {
        return sqlx::query_scalar("SELECT * FROM ticketctl_expire_holds($1, $2, $3)")
            .bind(ts(now))
            .bind(limit)
            .bind(super::event_slots::hold_expired())
            .fetch_all(pool)
            .await
            .map_err(db);
    };
    sqlx::query_scalar("SELECT * FROM ticketctl_expire_holds_homed($1, $2, $3, $4, $5)")
        .bind(ts(now))
        .bind(limit)
        .bind(super::event_slots::hold_expired())
        .bind(&f.region)
        .bind(&f.epochs)
        .fetch_all(pool)
        .await
        .map_err(db)
}
