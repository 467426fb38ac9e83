//! Counter bodies, for the clerks' terminal: selling for cash, looking up,
//! cancelling with a cash refund, and the shift's cash.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{HoldId, UserId};

use super::booking::{OrderView, PassengerBody};
use super::tickets::TicketView;

/// `POST /v1/counter/orders`: the held seats, who travels, and the buyer's
/// phone and NID (the seat caps are per NID, online and at counters together).
#[derive(Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterOrderRequest {
    pub hold_id: HoldId,
    pub passengers: Vec<PassengerBody>,
    pub phone: String,
    /// The buyer's national ID: 10, 13 or 17 digits.
    pub nid: String,
    /// The language of the buyer's SMS: `bn` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<crate::domain::sms::Lang>,
}

/// Without the buyer's NID: request bodies end up in logs.
impl std::fmt::Debug for CounterOrderRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterOrderRequest")
            .field("hold_id", &self.hold_id)
            .field("passengers", &self.passengers.len())
            .field("phone", &self.phone)
            .field("nid", &"<redacted>")
            .field("lang", &self.lang)
            .finish()
    }
}

/// An order as the counter sees it: with the buyer's phone and the signed
/// tickets, so a clerk can reprint them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CounterOrderView {
    pub order: OrderView,
    /// Set for counter sales; online orders have the account's phone elsewhere.
    #[serde(default)]
    pub phone: Option<String>,
    /// "cash" for counter sales, "card" for online ones.
    pub paid_by: String,
    pub tickets: Vec<TicketView>,
}

/// `GET /v1/counter/lookup?pnr|phone`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CounterLookup {
    pub orders: Vec<CounterOrderView>,
}

/// What a counter cancellation did with the money.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CounterCancelView {
    pub order: OrderView,
    /// Cash to hand back now (0 when the refund goes to the card, or nothing is due).
    pub cash_refund: i64,
    /// Refunded to the passenger's card by the gateway.
    pub card_refund: i64,
}

/// `GET /v1/counter/shift`: one clerk's cash since a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShiftView {
    pub clerk_id: UserId,
    pub since: String,
    pub orders: i64,
    pub tickets: i64,
    pub cash_in: i64,
    pub refunds: i64,
    pub cash_out: i64,
    /// What the drawer should hold: cash in less cash out.
    pub net_cash: i64,
}
