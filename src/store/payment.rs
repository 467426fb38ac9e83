//! Storage for payments: the card tokens the gateway issued to our users
//! (token, brand, last four, expiry: never a card number), and the cash
//! drawer's ledger of charges and refunds (keyed by idempotency key). The card
//! gateway's ledger is the gateway's own, reached over HTTP.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PaymentToken, StoreResult};
use crate::domain::Charge;
use crate::domain::OrderId;
use crate::domain::wallet::{WalletProvider, WalletState};

/// A mobile-wallet payment as we keep it: one per order paid by wallet.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletPayment {
    pub order_id: OrderId,
    pub provider: WalletProvider,
    /// The payer's wallet number (`01…`).
    pub number: String,
    /// The provider's id, once it made the payment.
    pub payment_id: Option<String>,
    pub redirect_url: Option<String>,
    /// What the provider last told us.
    pub state: WalletState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What recording a callback's body for its payment came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackClaim {
    /// The first callback for this payment.
    First,
    /// The same body came before: an exact duplicate.
    Duplicate,
    /// A different body came before for this payment: a replay or a forgery.
    Conflicting,
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    async fn insert_payment_token(
        &self,
        token: &PaymentToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>>;

    /// Records a cash charge, or returns the one already under that key.
    async fn cash_record(&self, charge: &Charge, now: DateTime<Utc>) -> StoreResult<Charge>;

    async fn cash_charge(&self, idempotency_key: &str) -> StoreResult<Option<Charge>>;

    /// Raises the refunded total of a succeeded charge to `total` (never beyond its
    /// amount, never lower than before), so repeating a refund is harmless.
    async fn cash_refund(&self, charge_id: &str, total: i64) -> StoreResult<Charge>;

    /// Every charge in the cash ledger.
    async fn cash_charges(&self) -> StoreResult<Vec<Charge>>;

    /// Records a wallet payment; one already recorded for its order stays.
    async fn insert_wallet_payment(&self, payment: &WalletPayment) -> StoreResult<()>;

    async fn wallet_payment(&self, order_id: OrderId) -> StoreResult<Option<WalletPayment>>;

    async fn wallet_payment_by_id(&self, payment_id: &str) -> StoreResult<Option<WalletPayment>>;

    /// Records the provider's id and page (once known: `None` keeps what is
    /// there) and what it last said of the payment.
    async fn update_wallet_payment(
        &self,
        order_id: OrderId,
        payment_id: Option<&str>,
        redirect_url: Option<&str>,
        state: WalletState,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Wallet payments we last knew open (initiated or processing) whose
    /// order has given up (failed or expired): money may still arrive for
    /// them, with its callback lost. At most `limit`, oldest first.
    async fn open_wallet_payments_of_settled_orders(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<WalletPayment>>;

    /// Records the body of the first callback for `payment_id`, atomically,
    /// and says how this one compares.
    async fn claim_wallet_callback(
        &self,
        payment_id: &str,
        body_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CallbackClaim>;
}
