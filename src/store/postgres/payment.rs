//! Postgres: payment tokens and the cash ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use super::rows::*;
use super::{PgStore, db};
use crate::domain::Charge;
use crate::store::prelude::*;
use crate::store::{PaymentToken, StoreError, StoreResult, ts};

pub(super) async fn payment_token(pool: &PgPool, token: &str) -> StoreResult<Option<PaymentToken>> {
    let row = sqlx::query("SELECT token, user_id, brand, last4, exp_month, exp_year FROM payment_tokens WHERE token = $1")
        .bind(token)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(payment_token_row).transpose()
}

pub(super) async fn charge_where(
    pool: &PgPool,
    clause: &str,
    arg: &str,
) -> StoreResult<Option<Charge>> {
    let sql = format!(
        "SELECT idempotency_key, charge_id, token, amount, status, refunded FROM cash_charges WHERE {clause}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(charge_row).transpose()
}

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
        payment_token(&self.pool, token).await
    }

    async fn cash_record(&self, c: &Charge, now: DateTime<Utc>) -> StoreResult<Charge> {
        let inserted = sqlx::query(
            "INSERT INTO cash_charges (idempotency_key, charge_id, token, amount, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&c.idempotency_key)
        .bind(&c.charge_id)
        .bind(&c.token)
        .bind(c.amount)
        .bind(c.status)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 1 {
            // Ours, exactly as given (a new charge is never refunded yet): no need to read it back.
            return Ok(Charge {
                refunded: 0,
                ..c.clone()
            });
        }
        charge_where(&self.pool, "idempotency_key = $1", &c.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Backend("charge vanished".into()))
    }

    async fn cash_charge(&self, idempotency_key: &str) -> StoreResult<Option<Charge>> {
        charge_where(&self.pool, "idempotency_key = $1", idempotency_key).await
    }

    async fn cash_refund(&self, charge_id: &str, total: i64) -> StoreResult<Charge> {
        sqlx::query(
            "UPDATE cash_charges SET refunded = GREATEST(refunded, LEAST(amount, $2))
             WHERE charge_id = $1 AND status = 'succeeded'",
        )
        .bind(charge_id)
        .bind(total)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        charge_where(&self.pool, "charge_id = $1", charge_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("charge {charge_id}")))
    }

    async fn cash_charges(&self) -> StoreResult<Vec<Charge>> {
        let rows = sqlx::query(
            "SELECT idempotency_key, charge_id, token, amount, status, refunded FROM cash_charges",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(charge_row).collect()
    }
}
