//! What the booking steps take and answer: the request bodies and views of
//! holds and orders, as the API (and the counter) sends and receives them.
//!
//! Plain data with serde derives only: no `App` methods, no store access, no
//! rules (those live in the step modules beside this one).

use serde::{Deserialize, Serialize};

use crate::domain::{
    HoldId, HoldStatus, OrderId, OrderStatus, SeatClass, TicketId, TicketStatus, TripId,
};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub trip_id: TripId,
    pub from: String,
    pub to: String,
    pub class: String,
    /// Particular seats ("KA-12"), or…
    #[serde(default)]
    pub seats: Option<Vec<String>>,
    /// …a number of seats for the system to choose (1–4).
    #[serde(default)]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldView {
    pub hold_id: HoldId,
    pub trip_id: TripId,
    pub train: u32,
    pub from: String,
    pub to: String,
    pub class: SeatClass,
    pub seats: Vec<String>,
    pub fare_per_seat: i64,
    pub total: i64,
    pub status: HoldStatus,
    pub expires_at: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PassengerBody {
    pub name: String,
    #[serde(default)]
    pub nid: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub hold_id: HoldId,
    pub passengers: Vec<PassengerBody>,
    pub payment_token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderSeat {
    pub seat: String,
    pub passenger: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderTicket {
    pub ticket_id: TicketId,
    pub pnr: String,
    pub seat: String,
    pub status: TicketStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub trip_id: TripId,
    pub train: u32,
    pub date: String,
    pub from: String,
    pub to: String,
    pub departs: String,
    pub class: SeatClass,
    pub seats: Vec<OrderSeat>,
    pub amount: i64,
    pub refunded: i64,
    pub failure: Option<String>,
    pub tickets: Vec<OrderTicket>,
    pub created_at: String,
}

/// What `POST /v1/orders` answers, stored for idempotent replays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderReply {
    pub status: u16,
    pub body: serde_json::Value,
}
