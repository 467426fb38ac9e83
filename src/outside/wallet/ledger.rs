//! The mock wallet provider's own ledger: its payments, in a SQLite database
//! of its own (a file with `--ledger`, or memory when embedded). The booking
//! server never opens it; it asks the provider over HTTP.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::outside::ledger_file::LedgerFile;

use crate::domain::wallet::WalletState;
use crate::wire::wallet::{PaymentView, WalletLedgerSummary};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS payments (
    payment_id      TEXT PRIMARY KEY,
    invoice         TEXT NOT NULL UNIQUE,
    amount          INTEGER NOT NULL,
    payer_reference TEXT NOT NULL,
    status          TEXT NOT NULL,   -- initiated | processing | completed | cancelled | failed
    refunded        INTEGER NOT NULL DEFAULT 0,
    callback_url    TEXT NOT NULL,
    redirect_url    TEXT NOT NULL,
    trx_id          TEXT,
    paid_by         TEXT,            -- the number that approved it
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS callbacks_sent (
    n INTEGER NOT NULL
);
INSERT INTO callbacks_sent (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM callbacks_sent);";

pub use crate::outside::ledger_file::{LedgerError, LedgerResult};

const COLUMNS: &str =
    "payment_id, invoice, amount, status, payer_reference, redirect_url, refunded, trx_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PaymentView> {
    let status: String = r.get(3)?;
    Ok(PaymentView {
        payment_id: r.get(0)?,
        merchant_invoice: r.get(1)?,
        amount: r.get(2)?,
        status: status.parse().map_err(|e: crate::domain::ParseError| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        payer_reference: r.get(4)?,
        redirect_url: r.get(5)?,
        refunded: r.get(6)?,
        trx_id: r.get(7)?,
    })
}

/// A payment to record, with where its callback goes.
pub struct NewPayment {
    pub view: PaymentView,
    pub callback_url: String,
}

/// The provider's payments and callbacks, in a ledger file of its own.
#[derive(Clone)]
pub struct Ledger {
    file: LedgerFile,
}

impl Ledger {
    /// Opens (creating if need be) the ledger file at `path`, or one in memory.
    pub fn open(path: Option<&Path>) -> LedgerResult<Ledger> {
        Ok(Ledger {
            file: LedgerFile::open("wallet", path, SCHEMA)?,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> LedgerResult<T> {
        self.file.run(f).await
    }

    /// Records `p`, or returns the payment already made for its invoice.
    pub async fn create(&self, p: NewPayment, now: i64) -> LedgerResult<PaymentView> {
        self.run(move |c| {
            let v = &p.view;
            c.execute(
                "INSERT INTO payments (payment_id, invoice, amount, payer_reference, status, callback_url, redirect_url, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) ON CONFLICT (invoice) DO NOTHING",
                params![v.payment_id, v.merchant_invoice, v.amount, v.payer_reference, v.status.as_str(), p.callback_url, v.redirect_url, now],
            )?;
            c.query_row(
                &format!("SELECT {COLUMNS} FROM payments WHERE invoice = ?1"),
                [&v.merchant_invoice],
                row,
            )
        })
        .await
    }

    pub async fn get(&self, payment_id: &str) -> LedgerResult<Option<PaymentView>> {
        let id = payment_id.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM payments WHERE payment_id = ?1"),
                [id],
                row,
            )
            .optional()
        })
        .await
    }

    pub async fn by_invoice(&self, invoice: &str) -> LedgerResult<Option<PaymentView>> {
        let invoice = invoice.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM payments WHERE invoice = ?1"),
                [invoice],
                row,
            )
            .optional()
        })
        .await
    }

    pub async fn callback_url(&self, payment_id: &str) -> LedgerResult<Option<String>> {
        let id = payment_id.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT callback_url FROM payments WHERE payment_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
        })
        .await
    }

    /// Moves a payment from one of `from` to `to` (recording who paid and the
    /// transaction id when given); `Ok(None)` if it was in no state of `from`.
    pub async fn advance(
        &self,
        payment_id: &str,
        from: &[WalletState],
        to: WalletState,
        paid_by: Option<String>,
        trx_id: Option<String>,
        now: i64,
    ) -> LedgerResult<Option<PaymentView>> {
        let id = payment_id.to_owned();
        let from: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
        self.run(move |c| {
            let tx = c.unchecked_transaction()?;
            let status: Option<String> = tx
                .query_row(
                    "SELECT status FROM payments WHERE payment_id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            if !status.is_some_and(|s| from.contains(&s.as_str())) {
                return Ok(None);
            }
            tx.execute(
                "UPDATE payments SET status = ?2, paid_by = COALESCE(?3, paid_by),
                   trx_id = COALESCE(?4, trx_id), updated_at = ?5 WHERE payment_id = ?1",
                params![id, to.as_str(), paid_by, trx_id, now],
            )?;
            let v = tx.query_row(
                &format!("SELECT {COLUMNS} FROM payments WHERE payment_id = ?1"),
                [&id],
                row,
            )?;
            tx.commit()?;
            Ok(Some(v))
        })
        .await
    }

    /// Raises a completed payment's refunded total to `total` (capped at its
    /// amount, never lowered); `None` if no such payment.
    pub async fn refund(&self, payment_id: &str, total: i64) -> LedgerResult<Option<PaymentView>> {
        let id = payment_id.to_owned();
        self.run(move |c| {
            c.execute(
                "UPDATE payments SET refunded = MAX(refunded, MIN(amount, ?2))
                 WHERE payment_id = ?1 AND status = 'completed'",
                params![id, total],
            )?;
            c.query_row(
                &format!("SELECT {COLUMNS} FROM payments WHERE payment_id = ?1"),
                [id],
                row,
            )
            .optional()
        })
        .await
    }

    pub async fn count_callback(&self) -> LedgerResult<()> {
        self.run(|c| {
            c.execute("UPDATE callbacks_sent SET n = n + 1", [])
                .map(|_| ())
        })
        .await
    }

    pub async fn payments(&self) -> LedgerResult<Vec<PaymentView>> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM payments ORDER BY created_at, invoice"
            ))?;
            let rows = stmt.query_map([], row)?;
            rows.collect()
        })
        .await
    }

    pub async fn summary(&self) -> LedgerResult<WalletLedgerSummary> {
        self.run(|c| {
            c.query_row(
                "SELECT
                   (SELECT COUNT(*) FROM payments),
                   (SELECT COUNT(*) FROM payments WHERE status = 'completed'),
                   (SELECT COALESCE(SUM(amount), 0) FROM payments WHERE status = 'completed'),
                   (SELECT COALESCE(SUM(refunded), 0) FROM payments WHERE status = 'completed'),
                   (SELECT n FROM callbacks_sent)",
                [],
                |r| {
                    let (taken, refunded): (i64, i64) = (r.get(2)?, r.get(3)?);
                    Ok(WalletLedgerSummary {
                        payments: r.get(0)?,
                        completed: r.get(1)?,
                        taken,
                        refunded,
                        net: taken - refunded,
                        callbacks_sent: r.get(4)?,
                    })
                },
            )
        })
        .await
    }
}
