//! Storage for the booking saga: seat holds, orders and their status
//! transitions (each with its outbox event), and idempotency keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Hold, HoldId, Order, OrderId, UserId};

use super::{
    Confirmation, Confirmed, IdempotencyRecord, NewHold, NewOrder, OrderChange, RecordedAnswer,
    StoreResult,
};

#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Takes the seats for the journey atomically: every seat must be free for
    /// `mask`, or nothing changes and `SeatsTaken` names the ones that were not.
    /// Refuses (`Conflict`) when the user would exceed its `seat_cap` on the trip.
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<Hold>;

    async fn hold(&self, id: HoldId) -> StoreResult<Option<Hold>>;

    /// Releases an active hold of `user_id`; false when it was not active.
    async fn release_hold(&self, id: HoldId, user_id: UserId) -> StoreResult<bool>;

    /// Ends active holds whose time is up, returning their seats; returns their ids.
    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<HoldId>>;

    /// Turns an active, unexpired hold of the user into a `reserved` order and
    /// records the idempotency key, in one transaction.
    async fn create_order(&self, order: &NewOrder) -> StoreResult<Order>;

    async fn order(&self, id: OrderId) -> StoreResult<Option<Order>>;

    async fn orders_of_user(&self, user_id: UserId) -> StoreResult<Vec<Order>>;

    /// Orders in one of `statuses` last changed at or before `before` (whole seconds; for recovery).
    async fn orders_stuck(
        &self,
        statuses: &[crate::domain::OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<Order>>;

    /// Moves an order from `from` to `to` if it is still in `from` (false otherwise),
    /// with its event in the outbox. Leaving a seat-holding state for one that
    /// does not hold seats returns the seats; cancelling voids the tickets.
    async fn transition_order(
        &self,
        id: OrderId,
        from: crate::domain::OrderStatus,
        to: crate::domain::OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Confirms a charged order in one transaction (see `Confirmation`), each
    /// transition with its event in the outbox, records the answer given with
    /// it, and returns the order's tickets and that answer if it was recorded.
    /// `None` when the order was no longer in `from`: nothing was written.
    /// One write instead of five: each was a separate commit on the saga's path.
    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Confirmed>>;

    async fn idempotency(
        &self,
        user_id: UserId,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>>;

    /// Records the answer of the key's request, unless one is recorded
    /// already (the first answer stands); true when this one was recorded.
    async fn finish_idempotency(
        &self,
        user_id: UserId,
        key: &str,
        answer: &RecordedAnswer,
    ) -> StoreResult<bool>;
}
