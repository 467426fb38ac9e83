//! SQLite: trip homes and the fencing check (migration 0018). The single
//! writer runs the check and the write in one command, so nothing can move
//! the trip's home between them.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::TripId;
use crate::store::region::{Fence, FenceSlot, HomeCount, RegionStore, TripHome};
use crate::store::{StoreError, StoreResult};

impl SqliteStore {
    /// The fence to apply now; refused at once when the lease has lapsed.
    pub(super) fn fence_now(&self) -> StoreResult<Option<Fence>> {
        match self.fence.get() {
            None => Ok(None),
            Some(f) => f.current().map(|f| Some(f.clone())),
        }
    }
}

/// The fencing check inside a writer command: the trip (found by `sql`, a
/// query of one parameter returning its id; none found is not checked, so a
/// missing hold or order is "not found" as without regions) must be homed in
/// the fence's region at one of its epochs.
pub(super) fn check_fence(
    conn: &Connection,
    fence: Option<&Fence>,
    trip_sql: &str,
    key: i64,
) -> StoreResult<()> {
    let Some(f) = fence else { return Ok(()) };
    let trip: Option<i64> = conn
        .query_row(trip_sql, [key], |r| r.get(0))
        .optional()
        .map_err(db)?;
    let Some(trip) = trip else { return Ok(()) };
    let home: Option<(String, i64)> = conn
        .prepare_cached("SELECT region, epoch FROM trip_homes WHERE trip_id = ?1")
        .map_err(db)?
        .query_row([trip], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?;
    match home {
        None => Err(StoreError::Fenced(format!(
            "trip {trip} has no home region"
        ))),
        Some((region, epoch)) if region != f.region || !f.epochs.contains(&epoch) => {
            Err(StoreError::Fenced(format!(
                "trip {trip} is homed in {region} at epoch {epoch}; this server is {} holding epochs {:?}",
                f.region, f.epochs
            )))
        }
        Some(_) => Ok(()),
    }
}

pub(super) const TRIP_OF_TRIP: &str = "SELECT id FROM trips WHERE id = ?1";
pub(super) const TRIP_OF_HOLD: &str = "SELECT trip_id FROM holds WHERE id = ?1";
pub(super) const TRIP_OF_ORDER: &str = "SELECT trip_id FROM orders WHERE id = ?1";

#[async_trait]
impl RegionStore for SqliteStore {
    fn fence_slot(&self) -> &FenceSlot {
        &self.fence
    }

    async fn trip_home(&self, trip: TripId) -> StoreResult<Option<TripHome>> {
        self.engine
            .read(move |c| {
                c.query_row(
                    "SELECT region, epoch FROM trip_homes WHERE trip_id = ?1",
                    [trip],
                    |r| {
                        Ok(TripHome {
                            trip_id: trip,
                            region: r.get(0)?,
                            epoch: r.get(1)?,
                        })
                    },
                )
                .optional()
                .map_err(db)
            })
            .await
    }

    async fn home_unhomed_trips(&self, regions: &[(String, i64)]) -> StoreResult<u64> {
        if regions.is_empty() {
            return Err(StoreError::Conflict("no regions to home trips in".into()));
        }
        let regions = regions.to_vec();
        self.engine
            .write(move |c| {
                let mut homed = 0;
                for (i, (region, epoch)) in regions.iter().enumerate() {
                    homed += c
                        .execute(
                            "INSERT INTO trip_homes (trip_id, region, epoch)
                             SELECT t.id, ?1, ?2 FROM trips t
                             WHERE t.train_id % ?3 = ?4
                               AND NOT EXISTS (SELECT 1 FROM trip_homes h WHERE h.trip_id = t.id)",
                            params![region, epoch, regions.len() as i64, i as i64],
                        )
                        .map_err(db)? as u64;
                }
                Ok(homed)
            })
            .await
    }

    async fn move_trips(&self, from: &str, to: &str, epoch: i64) -> StoreResult<u64> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.engine
            .write(move |c| {
                Ok(c.execute(
                    "UPDATE trip_homes SET region = ?2, epoch = ?3 WHERE region = ?1",
                    params![from, to, epoch],
                )
                .map_err(db)? as u64)
            })
            .await
    }

    async fn home_counts(&self) -> StoreResult<Vec<HomeCount>> {
        self.engine
            .read(|c| {
                let mut stmt = c
                    .prepare(
                        "SELECT region, epoch, COUNT(*) FROM trip_homes
                         GROUP BY region, epoch ORDER BY region, epoch",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(HomeCount {
                            region: r.get(0)?,
                            epoch: r.get(1)?,
                            trips: r.get(2)?,
                        })
                    })
                    .map_err(db)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db)
            })
            .await
    }

    async fn start_ids_at(&self, _base: i64) -> StoreResult<u64> {
        Ok(0)
    }

    async fn publish_region(&self, _region: &str) -> StoreResult<()> {
        Err(StoreError::Conflict(
            "a SQLite database is not replicated between regions: use Postgres".into(),
        ))
    }

    async fn subscribe_region(&self, region: &str, _conninfo: &str) -> StoreResult<()> {
        self.publish_region(region).await
    }
}
