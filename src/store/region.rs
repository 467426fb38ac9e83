//! Storage for multi-region serving (docs/multi-region.md §4–§5): each trip's
//! home region and ownership epoch, and the fence every inventory write of a
//! region's server passes in its own transaction.

use async_trait::async_trait;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use super::{StoreError, StoreResult};
use crate::domain::TripId;

/// What a server of a region may write: the trips homed in `region` at one
/// of `epochs`, until `valid_until` (its lease at the witness, less the skew
/// margin, by this process's monotonic clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub region: String,
    pub epochs: Vec<i64>,
    pub valid_until: Instant,
}

impl Fence {
    /// Refuses at once when the lease has lapsed, before touching the database:
    /// a region cut off from the witness stops writing by itself (§5.2).
    pub fn current(&self) -> StoreResult<&Fence> {
        if Instant::now() >= self.valid_until {
            return Err(StoreError::Fenced(format!(
                "region {}'s lease at the witness has lapsed; writes wait for its renewal",
                self.region
            )));
        }
        Ok(self)
    }
}

/// The fence a store applies to its writes; `None` (the default) for a
/// deployment of one region, where nothing is checked.
#[derive(Debug, Clone, Default)]
pub struct FenceSlot(Arc<RwLock<Option<Fence>>>);

impl FenceSlot {
    pub fn set(&self, fence: Option<Fence>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = fence;
    }

    pub fn get(&self) -> Option<Fence> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A trip's home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripHome {
    pub trip_id: TripId,
    pub region: String,
    pub epoch: i64,
}

/// Trips homed in one region at one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeCount {
    pub region: String,
    pub epoch: i64,
    pub trips: i64,
}

#[async_trait]
pub trait RegionStore: Send + Sync {
    /// The fence this store's inventory writes pass (`create_hold`,
    /// `create_order`, `confirm_order`).
    fn fence_slot(&self) -> &FenceSlot;

    async fn trip_home(&self, trip: TripId) -> StoreResult<Option<TripHome>>;

    /// Homes every trip that has none: a trip of train id `t` goes to
    /// `regions[t % regions.len()]` (region, epoch), so the busiest trains
    /// alternate between regions and every region's database, given the same
    /// catalog and list, decides the same. Returns how many were homed.
    async fn home_unhomed_trips(&self, regions: &[(String, i64)]) -> StoreResult<u64>;

    /// Moves every trip homed in `from` to `to` at `epoch` (a takeover), in one
    /// transaction that waits for writes already past their fence check.
    async fn move_trips(&self, from: &str, to: &str, epoch: i64) -> StoreResult<u64>;

    /// Trips per home region and epoch.
    async fn home_counts(&self) -> StoreResult<Vec<HomeCount>>;

    /// Moves every id sequence still below `base` up to it (a region's id
    /// range); returns how many moved. SQLite, which no region replicates,
    /// keeps its ids.
    async fn start_ids_at(&self, base: i64) -> StoreResult<u64>;

    /// Stamps this database's writes with `region` and publishes them to the
    /// other regions (Postgres logical replication; SQLite refuses).
    async fn publish_region(&self, region: &str) -> StoreResult<()>;

    /// Subscribes this database to `region`'s publication at `conninfo`.
    async fn subscribe_region(&self, region: &str, conninfo: &str) -> StoreResult<()>;
}
