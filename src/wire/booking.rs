//! Booking bodies: holding seats, card tokens, placing and viewing orders.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    HoldId, HoldStatus, OrderId, OrderStatus, SeatClass, TicketId, TicketStatus, TripId,
};

/// `POST /v1/holds` (and `/v1/counter/holds`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    pub trip_id: TripId,
    pub from: String,
    pub to: String,
    pub class: String,
    /// Particular seats ("KA-12"), or…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<Vec<String>>,
    /// …a number of seats for the system to choose (up to the seat cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// `POST /v1/payments/tokens`: registers a token the client got from the card
/// gateway (`GatewayInfo` says where). Card details never come here.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A token the card gateway issued, e.g. `tok_4f0c…`.
    pub gateway_token: String,
}

/// `GET /v1/payments/gateway`: where a client sends a card to get a token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GatewayInfo {
    /// POST the card here as JSON (`number`, `exp_month`, `exp_year`, `cvc`)
    /// with `Authorization: Bearer <publishable_key>`; the answer's `token`
    /// is what `POST /v1/payments/tokens` takes.
    pub tokens_url: String,
    pub publishable_key: String,
}

/// A card token, to pay an order with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassengerBody {
    pub name: String,
    #[serde(default)]
    pub nid: Option<String>,
}

/// `POST /v1/orders`, under an Idempotency-Key.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    pub hold_id: HoldId,
    pub passengers: Vec<PassengerBody>,
    /// A card token (`POST /v1/payments/tokens`); or pay by `wallet` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
    /// Pay with a mobile wallet instead of a card: the order is answered 202
    /// `awaiting_payment` with the provider's page to approve it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletBody>,
}

/// A mobile wallet to pay an order with.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBody {
    /// `bkash`, `nagad` or `rocket`.
    #[schema(example = "bkash")]
    pub provider: String,
    /// The wallet's 11-digit number.
    #[schema(example = "01712345678")]
    pub number: String,
}

/// An order's mobile-wallet payment as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletPaymentView {
    pub provider: crate::domain::wallet::WalletProvider,
    pub number_last4: String,
    /// The provider's payment id, once it made the payment.
    pub payment_id: Option<String>,
    /// Where the passenger approves the payment (send them there).
    pub redirect_url: Option<String>,
    /// What the provider last told us.
    pub state: crate::domain::wallet::WalletState,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderSeat {
    pub seat: String,
    pub passenger: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderTicket {
    pub ticket_id: TicketId,
    pub pnr: String,
    pub seat: String,
    pub status: TicketStatus,
}

/// An order as the API shows it; also the body of a placed order (201) and
/// the `order` of a failed payment's problem (402).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// The mobile-wallet payment, for an order paid by wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletPaymentView>,
}

/// `GET /v1/orders`: the caller's orders.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderList {
    pub orders: Vec<OrderView>,
}
