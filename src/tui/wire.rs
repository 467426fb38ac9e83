//! What the TUI reads from the server's HTTP API. The TUI is a client like any
//! other, so it keeps its own copy of the shapes it needs (only the fields it
//! uses); unknown fields are ignored, so the server may grow.

use crate::domain::{HoldId, OrderId, OrderStatus, TicketId, TicketStatus, TripId, UserId};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Station {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_bn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stations {
    pub stations: Vec<Station>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub id: UserId,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TrainRef {
    pub number: u32,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClassOffer {
    pub class: String,
    pub total: i64,
    pub seats_free: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sale {
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TripOption {
    pub trip_id: TripId,
    pub train: TrainRef,
    pub departs: String,
    pub arrives: String,
    pub sale: Sale,
    pub classes: Vec<ClassOffer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult {
    pub from: Station,
    pub to: Station,
    pub date: String,
    pub trips: Vec<TripOption>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SeatState {
    Free,
    Held,
    Sold,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Seat {
    pub seat: String,
    pub number: u32,
    pub free: bool,
    /// Present when the map was asked for with `detail=true`.
    #[serde(default)]
    pub state: Option<SeatState>,
}

impl Seat {
    pub fn state(&self) -> SeatState {
        self.state.unwrap_or(if self.free {
            SeatState::Free
        } else {
            SeatState::Sold
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Coach {
    pub code: String,
    pub class: String,
    pub layout: String,
    pub free: usize,
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeatMap {
    pub trip_id: TripId,
    pub train: TrainRef,
    pub from: Station,
    pub to: Station,
    pub coaches: Vec<Coach>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Hold {
    pub hold_id: HoldId,
    pub seats: Vec<String>,
    pub fare_per_seat: i64,
    pub total: i64,
    pub expires_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderSeat {
    pub seat: String,
    pub passenger: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub status: OrderStatus,
    pub trip_id: TripId,
    pub train: u32,
    pub date: String,
    pub from: String,
    pub to: String,
    pub departs: String,
    pub class: String,
    pub seats: Vec<OrderSeat>,
    pub amount: i64,
    pub refunded: i64,
}

/// What a ticket says: the signed payload's own schema, shared with the server.
pub use crate::domain::ticket::TicketClaims;

#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    pub ticket_id: TicketId,
    pub pnr: String,
    pub status: TicketStatus,
    pub claims: TicketClaims,
    /// The signed QR payload.
    pub payload: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CounterOrder {
    pub order: Order,
    #[serde(default)]
    pub phone: Option<String>,
    pub paid_by: String,
    pub tickets: Vec<Ticket>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Lookup {
    pub orders: Vec<CounterOrder>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cancelled {
    pub order: Order,
    pub cash_refund: i64,
    pub card_refund: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Shift {
    pub since: String,
    pub orders: i64,
    pub tickets: i64,
    pub cash_in: i64,
    pub refunds: i64,
    pub cash_out: i64,
    pub net_cash: i64,
}

/// An RFC 9457 problem, as every error of the API is.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    /// For `seats-unavailable`: the seats someone else took.
    #[serde(default)]
    pub seats: Vec<String>,
}

impl Problem {
    /// The problem's short name, e.g. "seats-unavailable".
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}
