//! Postgres: payment tokens and the gateway ledger.

use super::*;

#[async_trait]
impl PaymentStore for PgStore {
    async fn insert_payment_token(&self, t: &PaymentToken, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO payment_tokens (token, user_id, brand, last4, exp_month, exp_year, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.token)
        .bind(t.user_id)
        .bind(&t.brand)
        .bind(&t.last4)
        .bind(t.exp_month as i64)
        .bind(t.exp_year as i64)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>> {
        booking::payment_token(&self.pool, token).await
    }

    async fn gateway_record(
        &self,
        c: &GatewayCharge,
        now: DateTime<Utc>,
    ) -> StoreResult<GatewayCharge> {
        let inserted = sqlx::query(
            "INSERT INTO gateway_charges (idempotency_key, charge_id, token, amount, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&c.idempotency_key)
        .bind(&c.charge_id)
        .bind(&c.token)
        .bind(c.amount)
        .bind(&c.status)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 1 {
            // Ours, exactly as given (a new charge is never refunded yet): no need to read it back.
            return Ok(GatewayCharge {
                refunded: 0,
                ..c.clone()
            });
        }
        booking::charge_where(&self.pool, "idempotency_key = $1", &c.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Backend("charge vanished".into()))
    }

    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<GatewayCharge>> {
        booking::charge_where(&self.pool, "idempotency_key = $1", idempotency_key).await
    }

    async fn gateway_refund(&self, charge_id: &str, total: i64) -> StoreResult<GatewayCharge> {
        sqlx::query(
            "UPDATE gateway_charges SET refunded = GREATEST(refunded, LEAST(amount, $2))
             WHERE charge_id = $1 AND status = 'succeeded'",
        )
        .bind(charge_id)
        .bind(total)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        booking::charge_where(&self.pool, "charge_id = $1", charge_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("charge {charge_id}")))
    }
}
