//! Storage for payments: card tokens, and the gateway's own ledger of
//! charges and refunds (keyed by idempotency key).

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

    /// Records a charge in the gateway's ledger, or returns the one already under that key.
    async fn gateway_record(&self, charge: &Charge, now: DateTime<Utc>) -> StoreResult<Charge>;

    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<Charge>>;

    /// Raises the refunded total of a succeeded charge to `total` (never beyond its
    /// amount, never lower than before), so repeating a refund is harmless.
    async fn gateway_refund(&self, charge_id: &str, total: i64) -> StoreResult<Charge>;
}
