//! Postgres: trip homes and the fencing check (migration 0018). A fenced
//! write runs the check and the booking function in one transaction; a
//! deployment of one region (no fence) keeps the single-call path.

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::Query;

use super::{PgStore, db};
use crate::domain::{HoldId, OrderId, TripId};
use crate::store::region::{Fence, FenceSlot, HomeCount, RegionStore, TripHome};
use crate::store::{StoreError, StoreResult};

/// What a fenced write writes for, so the check finds its trip.
#[derive(Debug, Clone, Copy)]
pub(super) enum FenceTarget {
    Trip(TripId),
    Hold(HoldId),
    Order(OrderId),
}

impl PgStore {
    /// The fence to apply now; refused at once when the lease has lapsed.
    pub(super) fn fence_now(&self) -> StoreResult<Option<Fence>> {
        match self.fence.get() {
            None => Ok(None),
            Some(f) => f.current().map(|f| Some(f.clone())),
        }
    }
}

/// Runs `q` (one booking function call) after the fencing check, both in one
/// transaction; without a fence, `q` alone in autocommit. A refused check is
/// a database error with SQLSTATE TKF01, which `db` maps to `Fenced`.
pub(super) async fn fetch_fenced<'q>(
    pool: &PgPool,
    fence: Option<&Fence>,
    target: FenceTarget,
    q: Query<'q, Postgres, PgArguments>,
) -> Result<Vec<PgRow>, sqlx::Error> {
    let Some(f) = fence else {
        return q.fetch_all(pool).await;
    };
    let mut tx = pool.begin().await?;
    // A hold or order that does not exist is not checked: the booking
    // function then answers "not found" as it would without regions.
    let check = match target {
        FenceTarget::Trip(t) => sqlx::query("SELECT ticketctl_fence($1, $2, $3)").bind(t),
        FenceTarget::Hold(h) => {
            sqlx::query("SELECT ticketctl_fence(trip_id, $2, $3) FROM holds WHERE id = $1").bind(h)
        }
        FenceTarget::Order(o) => {
            sqlx::query("SELECT ticketctl_fence(trip_id, $2, $3) FROM orders WHERE id = $1").bind(o)
        }
    };
    check
        .bind(&f.region)
        .bind(&f.epochs)
        .execute(&mut *tx)
        .await?;
    let rows = q.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

#[async_trait]
impl RegionStore for PgStore {
    fn fence_slot(&self) -> &FenceSlot {
        &self.fence
    }

    async fn trip_home(&self, trip: TripId) -> StoreResult<Option<TripHome>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT region, epoch FROM trip_homes WHERE trip_id = $1")
                .bind(trip)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(row.map(|(region, epoch)| TripHome {
            trip_id: trip,
            region,
            epoch,
        }))
    }

    async fn home_unhomed_trips(&self, regions: &[(String, i64)]) -> StoreResult<u64> {
        if regions.is_empty() {
            return Err(StoreError::Conflict("no regions to home trips in".into()));
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut homed = 0;
        for (i, (region, epoch)) in regions.iter().enumerate() {
            homed += sqlx::query(
                "INSERT INTO trip_homes (trip_id, region, epoch)
                 SELECT t.id, $1, $2 FROM trips t
                 WHERE t.train_id % $3 = $4
                   AND NOT EXISTS (SELECT 1 FROM trip_homes h WHERE h.trip_id = t.id)",
            )
            .bind(region)
            .bind(epoch)
            .bind(regions.len() as i64)
            .bind(i as i64)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(homed)
    }

    async fn move_trips(&self, from: &str, to: &str, epoch: i64) -> StoreResult<u64> {
        // The UPDATE's row locks wait for writes holding FOR SHARE locks from
        // their fence check; writes after it see the new home and epoch.
        Ok(
            sqlx::query("UPDATE trip_homes SET region = $2, epoch = $3 WHERE region = $1")
                .bind(from)
                .bind(to)
                .bind(epoch)
                .execute(&self.pool)
                .await
                .map_err(db)?
                .rows_affected(),
        )
    }

    async fn home_counts(&self) -> StoreResult<Vec<HomeCount>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT region, epoch, COUNT(*) FROM trip_homes GROUP BY region, epoch ORDER BY region, epoch",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(region, epoch, trips)| HomeCount {
                region,
                epoch,
                trips,
            })
            .collect())
    }

    async fn start_ids_at(&self, base: i64) -> StoreResult<u64> {
        let seqs: Vec<String> = sqlx::query_scalar(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
             WHERE schemaname = current_schema() AND COALESCE(last_value, 0) < $1",
        )
        .bind(base)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        for seq in &seqs {
            sqlx::query("SELECT setval($1::regclass, $2)")
                .bind(seq)
                .bind(base)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(seqs.len() as u64)
    }

    async fn publish_region(&self, region: &str) -> StoreResult<()> {
        self.publish(region).await
    }

    async fn subscribe_region(&self, region: &str, conninfo: &str) -> StoreResult<()> {
        self.subscribe(region, conninfo).await
    }
}
