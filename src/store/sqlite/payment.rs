//! SQLite: payment tokens and the cash ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::Charge;
use crate::store::prelude::*;
use crate::store::{PaymentToken, StoreError, StoreResult, ts};

pub(super) fn insert_payment_token(
    conn: &Connection,
    t: &PaymentToken,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO payment_tokens (token, user_id, brand, last4, exp_month, exp_year, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(db)?
    .execute(params![t.token, t.user_id, t.brand, t.last4, t.exp_month, t.exp_year, ts(now)])
    .map_err(db)?;
    Ok(())
}

pub(super) fn payment_token(conn: &Connection, token: &str) -> StoreResult<Option<PaymentToken>> {
    conn.prepare_cached("SELECT token, user_id, brand, last4, exp_month, exp_year FROM payment_tokens WHERE token = ?1")
        .map_err(db)?
        .query_row([token], payment_token_row)
        .optional()
        .map_err(db)
}

pub(super) fn charge_where(
    conn: &Connection,
    clause: &str,
    arg: &str,
) -> StoreResult<Option<Charge>> {
    conn.prepare_cached(&format!(
        "SELECT {CHARGE_COLUMNS} FROM cash_charges WHERE {clause}"
    ))
    .map_err(db)?
    .query_row([arg], charge_row)
    .optional()
    .map_err(db)
}

pub(super) fn cash_charge(conn: &Connection, key: &str) -> StoreResult<Option<Charge>> {
    charge_where(conn, "idempotency_key = ?1", key)
}

pub(super) fn cash_record(
    conn: &Connection,
    c: &Charge,
    now: DateTime<Utc>,
) -> StoreResult<Charge> {
    conn.prepare_cached(
        "INSERT INTO cash_charges (idempotency_key, charge_id, token, amount, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .map_err(db)?
    .execute(params![
        c.idempotency_key,
        c.charge_id,
        c.token,
        c.amount,
        c.status,
        ts(now)
    ])
    .map_err(db)?;
    cash_charge(conn, &c.idempotency_key)?
        .ok_or_else(|| StoreError::Backend("charge vanished".into()))
}

pub(super) fn cash_refund(conn: &Connection, charge_id: &str, total: i64) -> StoreResult<Charge> {
    conn.prepare_cached(
        "UPDATE cash_charges SET refunded = MAX(refunded, MIN(amount, ?2)) WHERE charge_id = ?1 AND status = 'succeeded'",
    )
    .map_err(db)?
    .execute(params![charge_id, total])
    .map_err(db)?;
    charge_where(conn, "charge_id = ?1", charge_id)?
        .ok_or_else(|| StoreError::NotFound(format!("charge {charge_id}")))
}

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn insert_payment_token(
        &self,
        token: &PaymentToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token = token.clone();
        self.engine
            .write(move |c| insert_payment_token(c, &token, now))
            .await
    }

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>> {
        let token = token.to_owned();
        self.engine.read(move |c| payment_token(c, &token)).await
    }

    async fn cash_record(&self, charge: &Charge, now: DateTime<Utc>) -> StoreResult<Charge> {
        let charge = charge.clone();
        self.engine
            .write(move |c| cash_record(c, &charge, now))
            .await
    }

    async fn cash_charge(&self, idempotency_key: &str) -> StoreResult<Option<Charge>> {
        let key = idempotency_key.to_owned();
        self.engine.read(move |c| cash_charge(c, &key)).await
    }

    async fn cash_refund(&self, charge_id: &str, amount: i64) -> StoreResult<Charge> {
        let charge_id = charge_id.to_owned();
        self.engine
            .write(move |c| cash_refund(c, &charge_id, amount))
            .await
    }

    async fn cash_charges(&self) -> StoreResult<Vec<Charge>> {
        self.engine
            .read(|c| {
                let mut stmt = c
                    .prepare(&format!("SELECT {CHARGE_COLUMNS} FROM cash_charges"))
                    .map_err(db)?;
                let rows = stmt.query_map([], charge_row).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }
}
