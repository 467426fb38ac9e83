//! Storage for counter sales: which clerk sold an order for cash to which
//! passenger phone, cash handed back, a clerk's shift totals, and the live
//! holds of a trip (the seat map's "held" state). Kept in its own trait so the
//! counter's tables and queries live in one place per backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{HoldId, OrderId, SeatId, SegmentMask, TripId, UserId};

/// A cash sale at a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSale {
    pub order_id: OrderId,
    pub clerk_id: UserId,
    /// The passenger's phone, normalised (`+8801…`).
    pub phone: String,
    pub created_at: DateTime<Utc>,
}

/// A clerk's cash since the start of a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ShiftTotals {
    /// Orders the clerk sold and was paid for (including ones cancelled since).
    pub orders: i64,
    pub tickets: i64,
    /// Cash taken for those orders.
    pub cash_in: i64,
    /// Orders the clerk refunded in cash, and how much went back.
    pub refunds: i64,
    pub cash_out: i64,
}

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Records who buys a hold at a counter, before its order is placed; a
    /// retry before the order exists replaces the phone (the last attempt wins).
    async fn record_counter_sale(
        &self,
        hold_id: HoldId,
        clerk_id: UserId,
        phone: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn counter_sale(&self, order_id: OrderId) -> StoreResult<Option<CounterSale>>;
    /// Records cash handed back for an order; false when it was already recorded.
    async fn record_counter_refund(
        &self,
        order_id: OrderId,
        clerk_id: UserId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Orders bought by this phone: at a counter, or online by the account with that phone.
    async fn order_ids_by_phone(&self, phone: &str) -> StoreResult<Vec<OrderId>>;
    /// Seats this phone holds in live counter orders on a trip (for the 4-seat rule).
    async fn counter_seats_on_trip(&self, phone: &str, trip_id: TripId) -> StoreResult<i64>;
    async fn shift_totals(
        &self,
        clerk_id: UserId,
        since: DateTime<Utc>,
    ) -> StoreResult<ShiftTotals>;
    /// Seats of a trip blocked by holds that are not sold (yet): active holds and
    /// holds whose order is still being paid; with the hold's segments.
    async fn pending_hold_seats(&self, trip_id: TripId) -> StoreResult<Vec<(SeatId, SegmentMask)>>;
}

/// Order statuses in which a counter sale's cash is in the drawer (or was, before a refund).
pub(crate) const PAID_STATUSES: &str = "'confirmed', 'cancelled', 'refunded'";
/// Order statuses whose seats are still the passenger's (or about to be).
pub(crate) const LIVE_STATUSES: &str =
    "'pending', 'reserved', 'paid', 'awaiting_payment', 'confirmed'";
/// Order statuses of an order still being paid: its seats are held, not sold.
pub(crate) const PAYING_STATUSES: &str = "'pending', 'reserved', 'paid', 'awaiting_payment'";
