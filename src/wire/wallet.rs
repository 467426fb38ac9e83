//! The mobile-wallet provider's contract (the mock in `outside::wallet` and
//! the client in `adapters::wallet_http` both read and write these shapes),
//! shaped after bKash's tokenized checkout: the merchant creates a payment
//! for an invoice and sends the passenger to the provider's page; the
//! provider tells the merchant the outcome by a signed callback, and answers
//! status queries, cancellations and refunds.
//!
//! Also the callback's answer from the booking server.

use serde::{Deserialize, Serialize};

use crate::domain::wallet::WalletState;

/// `POST /v1/payments` at the provider (merchant key).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentBody {
    /// Whole taka.
    pub amount: i64,
    /// The merchant's own reference: one payment per invoice, however often asked.
    pub merchant_invoice: String,
    /// Where the provider posts the outcome.
    pub callback_url: String,
    /// The payer's wallet number, filled in on the provider's page.
    pub payer_reference: String,
}

/// A payment as the provider describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PaymentView {
    pub payment_id: String,
    pub merchant_invoice: String,
    pub amount: i64,
    pub status: WalletState,
    pub payer_reference: String,
    /// The provider's page where the passenger approves or cancels it.
    pub redirect_url: String,
    /// Given back so far (never more than `amount`).
    pub refunded: i64,
    /// The provider's transaction id, once the money moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trx_id: Option<String>,
}

/// `POST /pay/{id}/approve` on the provider's page: the wallet number that
/// pays (default: the payer reference). Its test numbers decide the outcome.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// `POST /v1/payments/{id}/refunds`: raise the refunded total to `total`
/// (never beyond the amount, never lower than before), so a retry is harmless.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WalletRefundBody {
    pub total: i64,
}

/// `GET /v1/ledger/payments`: every payment, for reconciliation one by one.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PaymentList {
    pub payments: Vec<PaymentView>,
}

/// `GET /v1/ledger/summary`: what the provider took and gave back, in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct WalletLedgerSummary {
    pub payments: i64,
    pub completed: i64,
    pub taken: i64,
    pub refunded: i64,
    /// `taken - refunded`: the money the provider still holds for the merchant.
    pub net: i64,
    /// Callbacks sent (each attempt counts once).
    pub callbacks_sent: i64,
}

/// The callback the provider posts to the merchant's `callback_url`, signed
/// in the `x-wallet-signature` header (see `domain::wallet::sign`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletCallback {
    pub payment_id: String,
    pub merchant_invoice: String,
    /// `completed`, `cancelled` or `failed`.
    pub status: WalletState,
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trx_id: Option<String>,
}

/// The booking server's answer to a callback (the same for an exact duplicate).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CallbackAck {
    pub payment_id: String,
    pub order_id: crate::domain::OrderId,
    pub order_status: crate::domain::OrderStatus,
}

/// An error answer from the provider: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WalletErrorBody {
    pub error: WalletError,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WalletError {
    /// `invalid_request`, `unauthorized`, `not_found`, `conflict` or `internal`.
    pub code: String,
    pub message: String,
}
