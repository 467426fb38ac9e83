//! SQLite: payment tokens and the cash ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::wallet::WalletState;
use crate::domain::{Charge, OrderId};
use crate::store::prelude::*;
use crate::store::{
    CallbackClaim, PaymentToken, StoreError, StoreResult, WalletPayment, from_ts, ts,
};

const WALLET_COLUMNS: &str =
    "order_id, provider, number, payment_id, redirect_url, state, created_at, updated_at";

fn wallet_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WalletPayment> {
    Ok(WalletPayment {
        order_id: r.get(0)?,
        provider: r.get(1)?,
        number: r.get(2)?,
        payment_id: r.get(3)?,
        redirect_url: r.get(4)?,
        state: r.get(5)?,
        created_at: from_ts(r.get(6)?),
        updated_at: from_ts(r.get(7)?),
    })
}

fn wallet_where(
    conn: &Connection,
    clause: &str,
    arg: &dyn rusqlite::ToSql,
) -> StoreResult<Option<WalletPayment>> {
    conn.prepare_cached(&format!(
        "SELECT {WALLET_COLUMNS} FROM wallet_payments WHERE {clause}"
    ))
    .map_err(db)?
    .query_row([arg], wallet_row)
    .optional()
    .map_err(db)
}

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

    async fn insert_wallet_payment(&self, p: &WalletPayment) -> StoreResult<()> {
        let p = p.clone();
        self.engine
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO wallet_payments (order_id, provider, number, payment_id, redirect_url, state, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (order_id) DO NOTHING",
                )
                .map_err(db)?
                .execute(params![p.order_id, p.provider, p.number, p.payment_id, p.redirect_url, p.state, ts(p.created_at)])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn wallet_payment(&self, order_id: OrderId) -> StoreResult<Option<WalletPayment>> {
        self.engine
            .read(move |c| wallet_where(c, "order_id = ?1", &order_id))
            .await
    }

    async fn wallet_payment_by_id(&self, payment_id: &str) -> StoreResult<Option<WalletPayment>> {
        let id = payment_id.to_owned();
        self.engine
            .read(move |c| wallet_where(c, "payment_id = ?1", &id))
            .await
    }

    async fn update_wallet_payment(
        &self,
        order_id: OrderId,
        payment_id: Option<&str>,
        redirect_url: Option<&str>,
        state: WalletState,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (payment_id, redirect_url) = (
            payment_id.map(str::to_owned),
            redirect_url.map(str::to_owned),
        );
        self.engine
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE wallet_payments SET payment_id = COALESCE(?2, payment_id),
                       redirect_url = COALESCE(?3, redirect_url), state = ?4, updated_at = ?5
                     WHERE order_id = ?1",
                )
                .map_err(db)?
                .execute(params![order_id, payment_id, redirect_url, state, ts(now)])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn open_wallet_payments_of_settled_orders(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<WalletPayment>> {
        self.engine
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT w.order_id, w.provider, w.number, w.payment_id, w.redirect_url, w.state, w.created_at, w.updated_at FROM wallet_payments w JOIN orders o ON o.id = w.order_id
             WHERE w.state IN ('initiated', 'processing') AND w.payment_id IS NOT NULL
               AND o.status IN ('failed', 'expired')
             ORDER BY w.updated_at LIMIT ?1",
                    )
                    .map_err(db)?;
                let rows = stmt.query_map([limit], wallet_row).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn claim_wallet_callback(
        &self,
        payment_id: &str,
        body_sha256: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<CallbackClaim> {
        let (id, hash) = (payment_id.to_owned(), body_sha256.to_owned());
        self.engine
            .write(move |c| {
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO wallet_callbacks (payment_id, body_sha256, received_at)
                         VALUES (?1, ?2, ?3) ON CONFLICT (payment_id) DO NOTHING",
                    )
                    .map_err(db)?
                    .execute(params![id, hash, ts(now)])
                    .map_err(db)?;
                if inserted == 1 {
                    return Ok(CallbackClaim::First);
                }
                let first: String = c
                    .prepare_cached(
                        "SELECT body_sha256 FROM wallet_callbacks WHERE payment_id = ?1",
                    )
                    .map_err(db)?
                    .query_row([&id], |r| r.get(0))
                    .map_err(db)?;
                Ok(if first == hash {
                    CallbackClaim::Duplicate
                } else {
                    CallbackClaim::Conflicting
                })
            })
            .await
    }
}
