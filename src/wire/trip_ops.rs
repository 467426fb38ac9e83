//! Operations on whole trips (admin): cancelling a trip and what it did.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::TripId;

/// `POST /v1/admin/trips/{id}/cancel`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TripCancelRequest {
    /// Why the train does not run; told to passengers and kept in the audit log.
    #[schema(min_length = 1, max_length = 256)]
    pub reason: String,
}

/// What a cancellation run did. Running it again for the same trip finishes
/// what an interrupted run left and refunds nothing twice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripCancelled {
    pub trip_id: TripId,
    /// As first recorded (a later run does not change it).
    pub reason: String,
    /// Who cancelled: `user <id>` over the API, `cli <os user>` from the command line.
    pub actor: String,
    /// RFC 3339, Dhaka time.
    pub cancelled_at: String,
    /// False when the trip was already cancelled and this run finished or re-checked it.
    pub newly_cancelled: bool,
    /// Confirmed orders this run cancelled with a full refund.
    pub orders_refunded: u64,
    /// Taka those orders are refunded.
    pub amount_refunded: i64,
    /// Cancelled orders whose refund this run checked with (and, if short, paid through)
    /// their payment method.
    pub refunds_settled: u64,
    /// Seats held without an order, released.
    pub holds_released: u64,
    /// Orders still in payment; run the cancellation again once they settle.
    pub orders_in_flight: u64,
    /// Every order and hold of the trip is settled.
    pub finished: bool,
}
