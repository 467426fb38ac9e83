//! Read-only views for the invariant checker: every seat claim, the money
//! ledger, and each order beside the gateway's record of its charge.

use super::{Ledger, MoneyPair, SeatClaim, StoreResult};
use crate::domain::TripId;
use async_trait::async_trait;

#[async_trait]
pub trait InvariantStore: Send + Sync {
    /// Every hold's claim on every seat of a trip (all trips when `None`).
    async fn seat_claims(&self, trip_id: Option<TripId>) -> StoreResult<Vec<SeatClaim>>;

    async fn ledger(&self) -> StoreResult<Ledger>;

    /// Every order with the gateway's record under its charge key, and every
    /// gateway charge no order claims (keys `order-<id>`, see `app::booking`).
    async fn money_pairs(&self) -> StoreResult<Vec<MoneyPair>>;
}
