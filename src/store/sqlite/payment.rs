//! SQLite: payment tokens and the gateway ledger.

use super::*;

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn insert_payment_token(
        &self,
        token: &PaymentToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token = token.clone();
        self.engine
            .write(move |c| booking::insert_payment_token(c, &token, now))
            .await
    }

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>> {
        let token = token.to_owned();
        self.engine
            .read(move |c| booking::payment_token(c, &token))
            .await
    }

    async fn gateway_record(
        &self,
        charge: &GatewayCharge,
        now: DateTime<Utc>,
    ) -> StoreResult<GatewayCharge> {
        let charge = charge.clone();
        self.engine
            .write(move |c| booking::gateway_record(c, &charge, now))
            .await
    }

    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<GatewayCharge>> {
        let key = idempotency_key.to_owned();
        self.engine
            .read(move |c| booking::gateway_charge(c, &key))
            .await
    }

    async fn gateway_refund(&self, charge_id: &str, amount: i64) -> StoreResult<GatewayCharge> {
        let charge_id = charge_id.to_owned();
        self.engine
            .write(move |c| booking::gateway_refund(c, &charge_id, amount))
            .await
    }
}
