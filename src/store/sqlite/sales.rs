//! SQLite side of `SaleStore`: a sale and its trips are written by one writer
//! command, so a refused sale leaves nothing behind.

use async_trait::async_trait;
use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::TripId;
use crate::domain::waiting_room::{QueuedSale, SaleControl, SaleSettings};
use crate::store::sales::{distinct_trips, sale_exists, trip_taken};
use crate::store::{SaleStore, StoreError, StoreResult};

fn create(conn: &Connection, sale: &QueuedSale) -> StoreResult<()> {
    let s = &sale.settings;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO queued_sales (id, opens_at_ms, rate_per_sec, max_active, idle_secs, paused)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
        )
        .map_err(db)?
        .execute(params![
            s.id,
            s.opens_at.timestamp_millis(),
            s.rate_per_sec,
            s.max_active as i64,
            s.idle_secs,
            sale.paused
        ])
        .map_err(db)?;
    if inserted == 0 {
        return Err(sale_exists(&s.id));
    }
    let mut claim = conn
        .prepare_cached(
            "INSERT INTO queued_sale_trips (trip_id, sale_id) VALUES (?1, ?2)
             ON CONFLICT(trip_id) DO NOTHING",
        )
        .map_err(db)?;
    for trip in distinct_trips(&s.trip_ids) {
        if claim.execute(params![trip, s.id]).map_err(db)? == 0 {
            // The writer rolls this command's savepoint back: no sale is left.
            return Err(trip_taken());
        }
    }
    Ok(())
}

fn load(conn: &Connection, id: &str) -> StoreResult<Option<QueuedSale>> {
    let row = conn
        .prepare_cached(
            "SELECT opens_at_ms, rate_per_sec, max_active, idle_secs, paused
             FROM queued_sales WHERE id = ?1",
        )
        .map_err(db)?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })
        .optional()
        .map_err(db)?;
    let Some((opens_at_ms, rate_per_sec, max_active, idle_secs, paused)) = row else {
        return Ok(None);
    };
    let trip_ids = conn
        .prepare_cached("SELECT trip_id FROM queued_sale_trips WHERE sale_id = ?1 ORDER BY trip_id")
        .map_err(db)?
        .query_map([id], |r| r.get::<_, i64>(0).map(TripId))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let opens_at = DateTime::from_timestamp_millis(opens_at_ms)
        .ok_or_else(|| StoreError::Backend(format!("sale {id}: bad opening {opens_at_ms}")))?;
    Ok(Some(QueuedSale {
        settings: SaleSettings {
            id: id.to_owned(),
            opens_at,
            trip_ids,
            rate_per_sec,
            max_active: max_active as usize,
            idle_secs,
        },
        paused,
    }))
}

#[async_trait]
impl SaleStore for SqliteStore {
    async fn create_queued_sale(&self, sale: &QueuedSale) -> StoreResult<()> {
        let sale = sale.clone();
        self.engine.write(move |conn| create(conn, &sale)).await
    }

    async fn queued_sale(&self, id: &str) -> StoreResult<Option<QueuedSale>> {
        let id = id.to_owned();
        self.engine.read(move |conn| load(conn, &id)).await
    }

    async fn queued_sale_of_trip(&self, trip: TripId) -> StoreResult<Option<String>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached("SELECT sale_id FROM queued_sale_trips WHERE trip_id = ?1")
                    .map_err(db)?
                    .query_row([trip.get()], |r| r.get(0))
                    .optional()
                    .map_err(db)
            })
            .await
    }

    async fn control_queued_sale(
        &self,
        id: &str,
        change: &SaleControl,
    ) -> StoreResult<Option<QueuedSale>> {
        let (id, change) = (id.to_owned(), *change);
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE queued_sales SET paused = COALESCE(?2, paused),
                        rate_per_sec = COALESCE(?3, rate_per_sec),
                        max_active = COALESCE(?4, max_active)
                     WHERE id = ?1",
                )
                .map_err(db)?
                .execute(params![
                    id,
                    change.paused,
                    change.rate_per_sec,
                    change.max_active.map(|m| m as i64)
                ])
                .map_err(db)?;
                load(conn, &id)
            })
            .await
    }
}
