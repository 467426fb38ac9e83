//! Postgres side of `TripOpsStore`: each change and its `trip.operated` event
//! in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::risk::outbox;
use super::rows::{ORDER_COLUMNS, get, order_row};
use super::{PgStore, db};
use crate::domain::{Event, HoldId, Order, OrderId, TripId, UserId};
use crate::store::trip_ops::{
    NewTripCoach, SaleWindowChange, TripCancellation, TripOpsState, TripOpsStore, operated,
};
use crate::store::{StoreError, StoreResult, from_ts, ts};

async fn cancellation(
    conn: &mut PgConnection,
    trip_id: TripId,
) -> StoreResult<Option<TripCancellation>> {
    let row = sqlx::query(
        "SELECT reason, actor, cancelled_at, finished_at FROM trip_cancellations WHERE trip_id = $1",
    )
    .bind(trip_id)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    row.map(|r| {
        Ok(TripCancellation {
            trip_id,
            reason: get(&r, "reason")?,
            actor: get(&r, "actor")?,
            cancelled_at: from_ts(get(&r, "cancelled_at")?),
            finished_at: get::<Option<i64>>(&r, "finished_at")?.map(from_ts),
        })
    })
    .transpose()
}

#[async_trait]
impl TripOpsStore for PgStore {
    async fn record_trip_cancellation(
        &self,
        trip_id: TripId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(TripCancellation, bool)> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO trip_cancellations (trip_id, reason, actor, cancelled_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (trip_id) DO NOTHING",
        )
        .bind(trip_id)
        .bind(reason)
        .bind(actor)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected()
            == 1;
        if inserted {
            let event = operated(trip_id, "cancel", actor, reason.to_owned());
            outbox(&mut tx, &event, now).await?;
        }
        let recorded = cancellation(&mut tx, trip_id)
            .await?
            .ok_or_else(|| StoreError::Backend("cancellation vanished".into()))?;
        tx.commit().await.map_err(db)?;
        Ok((recorded, inserted))
    }

    async fn finish_trip_cancellation(
        &self,
        trip_id: TripId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE trip_cancellations SET finished_at = $2
             WHERE trip_id = $1 AND finished_at IS NULL",
        )
        .bind(trip_id)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn trip_orders_after(
        &self,
        trip_id: TripId,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>> {
        let sql = format!("{ORDER_COLUMNS} WHERE trip_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(trip_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(order_row)
            .collect()
    }

    async fn trip_active_holds(&self, trip_id: TripId) -> StoreResult<Vec<(HoldId, UserId)>> {
        let rows: Vec<(HoldId, UserId)> = sqlx::query_as(
            "SELECT id, user_id FROM holds WHERE trip_id = $1 AND status = 'active' ORDER BY id",
        )
        .bind(trip_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows)
    }

    async fn trip_ops_state(&self, trip_id: TripId) -> StoreResult<TripOpsState> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let sale_closed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM trip_sale_closures WHERE trip_id = $1)",
        )
        .bind(trip_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        let coaches_off_sale: Vec<String> = sqlx::query_scalar(
            "SELECT coach_code FROM coaches_off_sale WHERE trip_id = $1 ORDER BY coach_code",
        )
        .bind(trip_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let delay_minutes: Option<i64> =
            sqlx::query_scalar("SELECT minutes FROM trip_delays WHERE trip_id = $1")
                .bind(trip_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        Ok(TripOpsState {
            cancellation: cancellation(&mut conn, trip_id).await?,
            sale_closed,
            coaches_off_sale,
            delay_minutes,
        })
    }

    async fn record_trip_delay(
        &self,
        trip_id: TripId,
        minutes: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO trip_delays (trip_id, minutes, reason, actor, delayed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (trip_id) DO UPDATE SET minutes = excluded.minutes,
               reason = excluded.reason, actor = excluded.actor, delayed_at = excluded.delayed_at",
        )
        .bind(trip_id)
        .bind(minutes)
        .bind(reason)
        .bind(actor)
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let detail = format!("{minutes} min: {reason}");
        outbox(&mut tx, &operated(trip_id, "delay", actor, detail), now).await?;
        let orders: Vec<OrderId> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE trip_id = $1 AND status = 'confirmed' ORDER BY id",
        )
        .bind(trip_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for &order_id in &orders {
            let event = Event::OrderTripDelayed {
                order_id,
                trip_id,
                minutes,
            };
            outbox(&mut tx, &event, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(orders.len() as u64)
    }

    async fn change_sale_window(
        &self,
        trips: &[TripId],
        change: SaleWindowChange,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for &trip_id in trips {
            match change {
                SaleWindowChange::Close => {
                    sqlx::query(
                        "INSERT INTO trip_sale_closures (trip_id, actor, closed_at)
                         VALUES ($1, $2, $3) ON CONFLICT (trip_id) DO NOTHING",
                    )
                    .bind(trip_id)
                    .bind(actor)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                SaleWindowChange::Open => {
                    sqlx::query("DELETE FROM trip_sale_closures WHERE trip_id = $1")
                        .bind(trip_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    sqlx::query(
                        "UPDATE trips SET sale_opens_at = $2 WHERE id = $1 AND sale_opens_at > $2",
                    )
                    .bind(trip_id)
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                SaleWindowChange::Move(at) => {
                    sqlx::query("UPDATE trips SET sale_opens_at = $2 WHERE id = $1")
                        .bind(trip_id)
                        .bind(ts(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
            }
            let event = operated(trip_id, "sale_window", actor, change.describe());
            outbox(&mut tx, &event, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn set_coach_on_sale(
        &self,
        trip_id: TripId,
        coach_code: &str,
        on_sale: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM seats WHERE trip_id = $1 AND coach_code = $2)",
        )
        .bind(trip_id)
        .bind(coach_code)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if !exists {
            return Err(StoreError::NotFound(format!(
                "trip {trip_id} has no coach {coach_code}"
            )));
        }
        let query = if on_sale {
            sqlx::query("DELETE FROM coaches_off_sale WHERE trip_id = $1 AND coach_code = $2")
        } else {
            sqlx::query(
                "INSERT INTO coaches_off_sale (trip_id, coach_code, actor, taken_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
        };
        let changed = query
            .bind(trip_id)
            .bind(coach_code)
            .bind(actor)
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected()
            == 1;
        if changed {
            let detail = format!(
                "{} {coach_code}",
                if on_sale { "on sale" } else { "off sale" }
            );
            outbox(&mut tx, &operated(trip_id, "coach", actor, detail), now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(changed)
    }

    async fn add_trip_coach(
        &self,
        trip_id: TripId,
        coach: &NewTripCoach,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // One coach added per trip at a time: the new coach's number is the next free one.
        sqlx::query("SELECT id FROM trips WHERE id = $1 FOR UPDATE")
            .bind(trip_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (taken, last): (bool, i64) = sqlx::query_as(
            "SELECT COALESCE(bool_or(coach_code = $2), false), COALESCE(MAX(coach_seq), 0)
             FROM seats WHERE trip_id = $1",
        )
        .bind(trip_id)
        .bind(&coach.code)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if taken {
            return Err(StoreError::Conflict(format!(
                "trip {trip_id} already has a coach {}",
                coach.code
            )));
        }
        sqlx::query(
            "INSERT INTO seats (trip_id, coach_seq, coach_code, seat_no, class)
             SELECT $1, $2, $3, n, $4 FROM generate_series(1, $5::bigint) AS n",
        )
        .bind(trip_id)
        .bind(last + 1)
        .bind(&coach.code)
        .bind(coach.class.code())
        .bind(coach.seats as i64)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let detail = format!("add {} {} x{}", coach.code, coach.class, coach.seats);
        outbox(&mut tx, &operated(trip_id, "coach", actor, detail), now).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }
}
