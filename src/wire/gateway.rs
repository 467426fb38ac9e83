//! The card gateway's contract (the mock in `outside::gateway` and the client
//! in `adapters::gateway_http` both read and write these shapes), shaped
//! after Stripe's: cards become tokens at the gateway, charges are made with
//! a token under an Idempotency-Key, refunds raise a charge's refunded total.
//!
//! Only `CardBody` ever carries a card number, and only from a passenger's
//! client to the gateway: the booking server never builds or reads one.

use serde::{Deserialize, Serialize};

/// `POST /v1/tokens` at the gateway (publishable key): the card, sent by the
/// passenger's own client straight to the gateway.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
}

impl std::fmt::Debug for CardBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardBody(redacted)")
    }
}

/// A card token as the gateway describes it: what the booking server may keep.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CardToken {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

/// `POST /v1/charges` at the gateway (secret key, Idempotency-Key header).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeBody {
    pub token: String,
    /// Whole taka.
    pub amount: i64,
}

/// A charge in the gateway's ledger. `status` is `succeeded`, `declined` or
/// `declined_funds`; a declined charge is answered 200 like a succeeded one
/// (the decline is the charge's outcome, not a failed request).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ChargeView {
    pub id: String,
    pub idempotency_key: String,
    pub token: String,
    pub amount: i64,
    pub status: String,
    pub refunded: i64,
}

/// `POST /v1/charges/{id}/refunds`: raise the refunded total to `total`
/// (never beyond the amount, never lower than before), so a retry is harmless.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub total: i64,
}

/// `GET /v1/ledger/summary`: what the gateway took and gave back, in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct LedgerSummary {
    pub charges: i64,
    pub succeeded: i64,
    pub taken: i64,
    pub refunded: i64,
    /// `taken - refunded`: the money the gateway still holds for the merchant.
    pub net: i64,
    pub tokens: i64,
}

/// `GET /v1/ledger/charges`: every charge, for reconciliation one by one.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChargeList {
    pub charges: Vec<ChargeView>,
}

/// An error answer from the gateway, Stripe's shape: `{"error": {…}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GatewayErrorBody {
    pub error: GatewayError,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GatewayError {
    /// `invalid_request_error`, `authentication_error` or `api_error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    /// The field at fault, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}
