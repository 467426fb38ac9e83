//! SQLite side of `TripOpsStore`: each change is one writer command with its
//! `trip.operated` event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::outbox;
use super::rows::{ORDER_COLUMNS, order_row};
use super::{SqliteStore, db};
use crate::domain::{Event, HoldId, Order, OrderId, TripId, UserId};
use crate::store::trip_ops::{
    NewTripCoach, SaleWindowChange, TripCancellation, TripOpsState, TripOpsStore, operated,
};
use crate::store::{StoreError, StoreResult, from_ts, ts};

fn cancellation(conn: &Connection, trip_id: TripId) -> StoreResult<Option<TripCancellation>> {
    conn.prepare_cached(
        "SELECT reason, actor, cancelled_at, finished_at FROM trip_cancellations WHERE trip_id = ?1",
    )
    .map_err(db)?
    .query_row([trip_id], |r| {
        Ok(TripCancellation {
            trip_id,
            reason: r.get(0)?,
            actor: r.get(1)?,
            cancelled_at: from_ts(r.get(2)?),
            finished_at: r.get::<_, Option<i64>>(3)?.map(from_ts),
        })
    })
    .optional()
    .map_err(db)
}

#[async_trait]
impl TripOpsStore for SqliteStore {
    async fn record_trip_cancellation(
        &self,
        trip_id: TripId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(TripCancellation, bool)> {
        let (reason, actor) = (reason.to_owned(), actor.to_owned());
        self.engine
            .write(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO trip_cancellations (trip_id, reason, actor, cancelled_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trip_id) DO NOTHING",
                    )
                    .map_err(db)?
                    .execute(params![trip_id, reason, actor, ts(now)])
                    .map_err(db)?
                    == 1;
                if inserted {
                    outbox(conn, &operated(trip_id, "cancel", &actor, reason), now)?;
                }
                let recorded = cancellation(conn, trip_id)?
                    .ok_or_else(|| StoreError::Backend("cancellation vanished".into()))?;
                Ok((recorded, inserted))
            })
            .await
    }

    async fn finish_trip_cancellation(
        &self,
        trip_id: TripId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE trip_cancellations SET finished_at = ?2
                     WHERE trip_id = ?1 AND finished_at IS NULL",
                    params![trip_id, ts(now)],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn trip_orders_after(
        &self,
        trip_id: TripId,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "{ORDER_COLUMNS} WHERE trip_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))
                .map_err(db)?
                .query_map(params![trip_id, after, limit], order_row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
            })
            .await
    }

    async fn trip_active_holds(&self, trip_id: TripId) -> StoreResult<Vec<(HoldId, UserId)>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, user_id FROM holds WHERE trip_id = ?1 AND status = 'active' ORDER BY id",
                )
                .map_err(db)?
                .query_map([trip_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)
            })
            .await
    }

    async fn trip_ops_state(&self, trip_id: TripId) -> StoreResult<TripOpsState> {
        self.engine
            .read(move |conn| {
                let sale_closed = conn
                    .prepare_cached("SELECT 1 FROM trip_sale_closures WHERE trip_id = ?1")
                    .map_err(db)?
                    .exists([trip_id])
                    .map_err(db)?;
                let coaches_off_sale = conn
                    .prepare_cached(
                        "SELECT coach_code FROM coaches_off_sale WHERE trip_id = ?1 ORDER BY coach_code",
                    )
                    .map_err(db)?
                    .query_map([trip_id], |r| r.get(0))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                let delay_minutes = conn
                    .prepare_cached("SELECT minutes FROM trip_delays WHERE trip_id = ?1")
                    .map_err(db)?
                    .query_row([trip_id], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                Ok(TripOpsState {
                    cancellation: cancellation(conn, trip_id)?,
                    sale_closed,
                    coaches_off_sale,
                    delay_minutes,
                })
            })
            .await
    }

    async fn record_trip_delay(
        &self,
        trip_id: TripId,
        minutes: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let (reason, actor) = (reason.to_owned(), actor.to_owned());
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO trip_delays (trip_id, minutes, reason, actor, delayed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (trip_id) DO UPDATE SET minutes = excluded.minutes,
                       reason = excluded.reason, actor = excluded.actor, delayed_at = excluded.delayed_at",
                    params![trip_id, minutes, reason, actor, ts(now)],
                )
                .map_err(db)?;
                let detail = format!("{minutes} min: {reason}");
                outbox(conn, &operated(trip_id, "delay", &actor, detail), now)?;
                let orders: Vec<OrderId> = conn
                    .prepare_cached(
                        "SELECT id FROM orders WHERE trip_id = ?1 AND status = 'confirmed' ORDER BY id",
                    )
                    .map_err(db)?
                    .query_map([trip_id], |r| r.get(0))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                for &order_id in &orders {
                    let event = Event::OrderTripDelayed {
                        order_id,
                        trip_id,
                        minutes,
                    };
                    outbox(conn, &event, now)?;
                }
                Ok(orders.len() as u64)
            })
            .await
    }

    async fn change_sale_window(
        &self,
        trips: &[TripId],
        change: SaleWindowChange,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (trips, actor) = (trips.to_vec(), actor.to_owned());
        self.engine
            .write(move |conn| {
                for &trip_id in &trips {
                    match change {
                        SaleWindowChange::Close => conn.execute(
                            "INSERT INTO trip_sale_closures (trip_id, actor, closed_at)
                             VALUES (?1, ?2, ?3) ON CONFLICT (trip_id) DO NOTHING",
                            params![trip_id, actor, ts(now)],
                        ),
                        SaleWindowChange::Open => conn
                            .execute("DELETE FROM trip_sale_closures WHERE trip_id = ?1", [trip_id])
                            .and_then(|_| {
                                conn.execute(
                                    "UPDATE trips SET sale_opens_at = ?2 WHERE id = ?1 AND sale_opens_at > ?2",
                                    params![trip_id, ts(now)],
                                )
                            }),
                        SaleWindowChange::Move(at) => conn.execute(
                            "UPDATE trips SET sale_opens_at = ?2 WHERE id = ?1",
                            params![trip_id, ts(at)],
                        ),
                    }
                    .map_err(db)?;
                    outbox(conn, &operated(trip_id, "sale_window", &actor, change.describe()), now)?;
                }
                Ok(())
            })
            .await
    }

    async fn set_coach_on_sale(
        &self,
        trip_id: TripId,
        coach_code: &str,
        on_sale: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (code, actor) = (coach_code.to_owned(), actor.to_owned());
        self.engine
            .write(move |conn| {
                let exists = conn
                    .prepare_cached(
                        "SELECT 1 FROM seats WHERE trip_id = ?1 AND coach_code = ?2 LIMIT 1",
                    )
                    .map_err(db)?
                    .exists(params![trip_id, code])
                    .map_err(db)?;
                if !exists {
                    return Err(StoreError::NotFound(format!(
                        "trip {trip_id} has no coach {code}"
                    )));
                }
                let changed = if on_sale {
                    conn.execute(
                        "DELETE FROM coaches_off_sale WHERE trip_id = ?1 AND coach_code = ?2",
                        params![trip_id, code],
                    )
                } else {
                    conn.execute(
                        "INSERT INTO coaches_off_sale (trip_id, coach_code, actor, taken_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                        params![trip_id, code, actor, ts(now)],
                    )
                }
                .map_err(db)?
                    == 1;
                if changed {
                    let detail = format!("{} {code}", if on_sale { "on sale" } else { "off sale" });
                    outbox(conn, &operated(trip_id, "coach", &actor, detail), now)?;
                }
                Ok(changed)
            })
            .await
    }

    async fn add_trip_coach(
        &self,
        trip_id: TripId,
        coach: &NewTripCoach,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (coach, actor) = (coach.clone(), actor.to_owned());
        self.engine
            .write(move |conn| {
                let (taken, last): (bool, u32) = conn
                    .query_row(
                        "SELECT COALESCE(MAX(coach_code = ?2), 0), COALESCE(MAX(coach_seq), 0)
                         FROM seats WHERE trip_id = ?1",
                        params![trip_id, coach.code],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(db)?;
                if taken {
                    return Err(StoreError::Conflict(format!(
                        "trip {trip_id} already has a coach {}",
                        coach.code
                    )));
                }
                let mut insert = conn
                    .prepare_cached(
                        "INSERT INTO seats (trip_id, coach_seq, coach_code, seat_no, class) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(db)?;
                for no in 1..=coach.seats {
                    insert
                        .execute(params![trip_id, last + 1, coach.code, no, coach.class.code()])
                        .map_err(db)?;
                }
                let detail = format!("add {} {} x{}", coach.code, coach.class, coach.seats);
                outbox(conn, &operated(trip_id, "coach", &actor, detail), now)?;
                Ok(())
            })
            .await
    }
}
