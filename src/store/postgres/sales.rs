//! Postgres side of `SaleStore`: a sale and its trips are written in one
//! transaction, so a refused sale leaves nothing behind; two sales claiming
//! one trip at once are decided by the trips' primary key.

use async_trait::async_trait;
use chrono::DateTime;
use sqlx::Executor;

use super::rows::get;
use super::{PgStore, db};
use crate::domain::TripId;
use crate::domain::waiting_room::{QueuedSale, SaleControl, SaleSettings};
use crate::store::sales::{distinct_trips, sale_exists, trip_taken};
use crate::store::{SaleStore, StoreError, StoreResult};

async fn load<'e>(
    conn: impl Executor<'e, Database = sqlx::Postgres> + Copy,
    id: &str,
) -> StoreResult<Option<QueuedSale>> {
    let Some(r) = sqlx::query(
        "SELECT opens_at_ms, rate_per_sec, max_active, idle_secs, paused,
                ARRAY(SELECT trip_id FROM queued_sale_trips WHERE sale_id = $1 ORDER BY trip_id) AS trips
         FROM queued_sales WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    let opens_at_ms: i64 = get(&r, "opens_at_ms")?;
    let opens_at = DateTime::from_timestamp_millis(opens_at_ms)
        .ok_or_else(|| StoreError::Backend(format!("sale {id}: bad opening {opens_at_ms}")))?;
    let trips: Vec<i64> = get(&r, "trips")?;
    Ok(Some(QueuedSale {
        settings: SaleSettings {
            id: id.to_owned(),
            opens_at,
            trip_ids: trips.into_iter().map(TripId).collect(),
            rate_per_sec: get(&r, "rate_per_sec")?,
            max_active: get::<i64>(&r, "max_active")? as usize,
            idle_secs: get(&r, "idle_secs")?,
        },
        paused: get(&r, "paused")?,
    }))
}

#[async_trait]
impl SaleStore for PgStore {
    async fn create_queued_sale(&self, sale: &QueuedSale) -> StoreResult<()> {
        let s = &sale.settings;
        let trips = distinct_trips(&s.trip_ids);
        let mut tx = self.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO queued_sales (id, opens_at_ms, rate_per_sec, max_active, idle_secs, paused)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(s.opens_at.timestamp_millis())
        .bind(s.rate_per_sec)
        .bind(s.max_active as i64)
        .bind(s.idle_secs)
        .bind(sale.paused)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 0 {
            return Err(sale_exists(&s.id));
        }
        // A trip claimed by a concurrent sale waits for its commit, then is skipped.
        let claimed = sqlx::query(
            "INSERT INTO queued_sale_trips (trip_id, sale_id) SELECT unnest($1::BIGINT[]), $2
             ON CONFLICT (trip_id) DO NOTHING",
        )
        .bind(&trips)
        .bind(&s.id)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if claimed != trips.len() as u64 {
            // Dropping the transaction rolls the sale back.
            return Err(trip_taken());
        }
        tx.commit().await.map_err(db)
    }

    async fn queued_sale(&self, id: &str) -> StoreResult<Option<QueuedSale>> {
        load(&self.pool, id).await
    }

    async fn queued_sale_of_trip(&self, trip: TripId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT sale_id FROM queued_sale_trips WHERE trip_id = $1")
            .bind(trip.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn control_queued_sale(
        &self,
        id: &str,
        change: &SaleControl,
    ) -> StoreResult<Option<QueuedSale>> {
        sqlx::query(
            "UPDATE queued_sales SET paused = COALESCE($2, paused),
                rate_per_sec = COALESCE($3, rate_per_sec),
                max_active = COALESCE($4, max_active)
             WHERE id = $1",
        )
        .bind(id)
        .bind(change.paused)
        .bind(change.rate_per_sec)
        .bind(change.max_active.map(|m| m as i64))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        load(&self.pool, id).await
    }
}
