//! Queued sales' configuration: which trips are gated by the waiting room,
//! when it opens, how fast it admits and whether it is paused. Kept in the
//! database so every server process (and a restarted one) gates the same
//! trips the same way; the queue's own state is the room's.

use async_trait::async_trait;

use super::{StoreError, StoreResult};
use crate::domain::TripId;
use crate::domain::waiting_room::{QueuedSale, SaleControl};

/// The sale id is taken.
pub(crate) fn sale_exists(id: &str) -> StoreError {
    StoreError::Conflict(format!("sale '{id}' exists"))
}

/// One of the sale's trips is already gated by another queued sale.
pub(crate) fn trip_taken() -> StoreError {
    StoreError::Conflict("a trip of this sale is already in a queued sale".into())
}

/// `trips` without repeats, in ascending order (a sale lists each trip once).
pub(crate) fn distinct_trips(trips: &[TripId]) -> Vec<i64> {
    let set: std::collections::BTreeSet<i64> = trips.iter().map(|t| t.get()).collect();
    set.into_iter().collect()
}

#[async_trait]
pub trait SaleStore: Send + Sync {
    /// Records a new queued sale and claims its trips, all or nothing: refused
    /// with a `Conflict` when the id is taken or a trip is in another queued sale.
    async fn create_queued_sale(&self, sale: &QueuedSale) -> StoreResult<()>;

    /// The queued sale `id`, with its trips in ascending order.
    async fn queued_sale(&self, id: &str) -> StoreResult<Option<QueuedSale>>;

    /// The id of the queued sale that gates `trip`, if any.
    async fn queued_sale_of_trip(&self, trip: TripId) -> StoreResult<Option<String>>;

    /// Applies an admin's live change and returns the sale as it now is (None:
    /// no such sale). Settings it leaves out keep their values.
    async fn control_queued_sale(
        &self,
        id: &str,
        change: &SaleControl,
    ) -> StoreResult<Option<QueuedSale>>;
}
