//! Storage for payments: the card tokens the gateway issued to our users
//! (token, brand, last four, expiry: never a card number), and the cash
//! drawer's ledger of charges and refunds (keyed by idempotency key). The card
//! gateway's ledger is the gateway's own, reached over HTTP.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PaymentToken, StoreResult};
use crate::domain::Charge;

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
}
