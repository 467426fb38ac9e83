//! Postgres: payment tokens and the cash ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use super::rows::*;
use super::{PgStore, db};
use crate::domain::wallet::WalletState;
use crate::domain::{Charge, OrderId};
use crate::store::prelude::*;
use crate::store::{
    CallbackClaim, PaymentToken, StoreError, StoreResult, WalletPayment, from_ts, ts,
};

const WALLET_COLUMNS: &str =
    "order_id, provider, number, payment_id, redirect_url, state, created_at, updated_at";

fn wallet_row(r: &sqlx::postgres::PgRow) -> StoreResult<WalletPayment> {
    Ok(WalletPayment {
        order_id: get(r, "order_id")?,
        provider: get(r, "provider")?,
        number: get(r, "number")?,
        payment_id: get(r, "payment_id")?,
        redirect_url: get(r, "redirect_url")?,
        state: get(r, "state")?,
        created_at: from_ts(get(r, "created_at")?),
        updated_at: from_ts(get(r, "updated_at")?),
    })
}

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

    async fn insert_wallet_payment(&self, p: &WalletPayment) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO wallet_payments (order_id, provider, number, payment_id, redirect_url, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(p.order_id)
        .bind(p.provider)
        .bind(&p.number)
        .bind(&p.payment_id)
        .bind(&p.redirect_url)
        .bind(p.state)
        .bind(ts(p.created_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn wallet_payment(&self, order_id: OrderId) -> StoreResult<Option<WalletPayment>> {
        let sql = format!("SELECT {WALLET_COLUMNS} FROM wallet_payments WHERE order_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(wallet_row).transpose()
    }

    async fn wallet_payment_by_id(&self, payment_id: &str) -> StoreResult<Option<WalletPayment>> {
        let sql = format!("SELECT {WALLET_COLUMNS} FROM wallet_payments WHERE payment_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(payment_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(wallet_row).transpose()
    }

    async fn update_wallet_payment(
        &self,
        order_id: OrderId,
        payment_id: Option<&str>,
        redirect_url: Option<&str>,
        state: WalletState,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE wallet_payments SET payment_id = COALESCE($2, payment_id),
               redirect_url = COALESCE($3, redirect_url), state = $4, updated_at = $5
             WHERE order_id = $1",
        )
        .bind(order_id)
        .bind(payment_id)
        .bind(redirect_url)
        .bind(state)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn open_wallet_payments_of_settled_orders(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<WalletPayment>> {
        let rows = sqlx::query(
            "SELECT w.order_id, w.provider, w.number, w.payment_id, w.redirect_url, w.state, w.created_at, w.updated_at FROM wallet_payments w JOIN orders o ON o.id = w.order_id
             WHERE w.state IN ('initiated', 'processing') AND w.payment_id IS NOT NULL
               AND o.status IN ('failed', 'expired')
             ORDER BY w.updated_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(wallet_row).collect()
    }

    async fn claim_wallet_callback(
        &self,
        payment_id: &str,
        body_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CallbackClaim> {
        let inserted = sqlx::query(
            "INSERT INTO wallet_callbacks (payment_id, body_sha256, received_at)
             VALUES ($1, $2, $3) ON CONFLICT (payment_id) DO NOTHING",
        )
        .bind(payment_id)
        .bind(body_sha256)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 1 {
            return Ok(CallbackClaim::First);
        }
        let first: String =
            sqlx::query_scalar("SELECT body_sha256 FROM wallet_callbacks WHERE payment_id = $1")
                .bind(payment_id)
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        Ok(if first == body_sha256 {
            CallbackClaim::Duplicate
        } else {
            CallbackClaim::Conflicting
        })
    }
}
