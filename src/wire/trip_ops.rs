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

/// `POST /v1/admin/trips/sale-window`: one trip (`trip_id`) or every trip of a
/// range of service dates (`from`, `to`, at most 62 days).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleWindowRequest {
    #[serde(default)]
    pub trip_id: Option<TripId>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// `open` (now, lifting a closure), `close` (no new sales), or `move` (to `opens_at`).
    pub action: String,
    /// RFC 3339, for `move` only.
    #[serde(default)]
    pub opens_at: Option<String>,
}

/// The trips whose sale window changed, with each one's opening time now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SaleWindowChanged {
    pub change: String,
    pub trips: Vec<TripId>,
    /// RFC 3339, Dhaka time, in the order of `trips`.
    pub sale_opens_at: Vec<String>,
}

/// `POST /v1/admin/trips/{id}/coaches`: add a coach to this trip only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCoachRequest {
    /// Coach code, 1 to 8 letters or digits (e.g. `UMA`).
    pub coach: String,
    /// A seat class the train carries (e.g. `S_CHAIR`).
    pub class: String,
    #[schema(minimum = 1, maximum = 120)]
    pub seats: u32,
}

/// `POST /v1/admin/trips/{id}/coaches/{coach}/sale`: in or out of sale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoachSaleRequest {
    pub on_sale: bool,
}

/// A coach added, or taken out of / put back into sale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripCoachChanged {
    pub trip_id: TripId,
    pub coach: String,
    pub on_sale: bool,
    /// False when it already was as asked.
    pub changed: bool,
}

/// `POST /v1/admin/trips/{id}/delay`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TripDelayRequest {
    /// How late the train runs, 1 to 1440 minutes.
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: i64,
    #[schema(min_length = 1, max_length = 256)]
    pub reason: String,
}

/// A trip delayed: its passengers are being told.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripDelayed {
    pub trip_id: TripId,
    pub minutes: i64,
    /// The new departure from the first station, RFC 3339, Dhaka time.
    pub departs_at: String,
    /// Confirmed orders whose passengers are told (each may now cancel with a full refund).
    pub orders_told: u64,
}
