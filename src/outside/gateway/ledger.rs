//! The mock gateway's own ledger: its card tokens and its charges, in a SQLite
//! database of its own (a file with `--ledger`, or memory when embedded). The
//! booking server never opens it; it asks the gateway over HTTP.
//!
//! Like a real gateway's vault it is the one place a card is known; even so
//! the mock keeps no card number, only a fingerprint (SHA-256 of the digits),
//! the brand, the last four digits and the expiry.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::outside::ledger_file::LedgerFile;
use sha2::{Digest, Sha256};

use crate::wire::gateway::{CardToken, ChargeView, LedgerSummary};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,   -- SHA-256 of the card digits, never the digits
    brand       TEXT NOT NULL,
    last4       TEXT NOT NULL,
    exp_month   INTEGER NOT NULL,
    exp_year    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    idempotency_key TEXT PRIMARY KEY,
    charge_id       TEXT NOT NULL UNIQUE,
    token           TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    status          TEXT NOT NULL,   -- succeeded | declined | declined_funds
    refunded        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);";

/// A stored card token, with what decides its test-card behaviour.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub card: CardToken,
    pub fingerprint: String,
}

/// The fingerprint a card number is known by in the ledger.
pub fn fingerprint(digits: &str) -> String {
    hex::encode(Sha256::digest(digits.as_bytes()))
}

pub use crate::outside::ledger_file::{LedgerError, LedgerResult};

/// The gateway's tokens and charges, in a ledger file of its own.
#[derive(Clone)]
pub struct Ledger {
    file: LedgerFile,
}

const CHARGE_COLUMNS: &str = "charge_id, idempotency_key, token, amount, status, refunded";

fn charge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChargeView> {
    Ok(ChargeView {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        token: r.get(2)?,
        amount: r.get(3)?,
        status: r.get(4)?,
        refunded: r.get(5)?,
    })
}

impl Ledger {
    /// Opens (creating if need be) the ledger file at `path`, or one in memory.
    pub fn open(path: Option<&Path>) -> LedgerResult<Ledger> {
        Ok(Ledger {
            file: LedgerFile::open("gateway", path, SCHEMA)?,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> LedgerResult<T> {
        self.file.run(f).await
    }

    pub async fn insert_token(&self, t: StoredToken, now: i64) -> LedgerResult<()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO tokens (token, fingerprint, brand, last4, exp_month, exp_year, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![t.card.token, t.fingerprint, t.card.brand, t.card.last4, t.card.exp_month, t.card.exp_year, now],
            )
            .map(|_| ())
        })
        .await
    }

    pub async fn token(&self, token: &str) -> LedgerResult<Option<StoredToken>> {
        let token = token.to_owned();
        self.run(move |c| {
            c.query_row(
                "SELECT token, brand, last4, exp_month, exp_year, fingerprint FROM tokens WHERE token = ?1",
                [token],
                |r| {
                    Ok(StoredToken {
                        card: CardToken {
                            token: r.get(0)?,
                            brand: r.get(1)?,
                            last4: r.get(2)?,
                            exp_month: r.get(3)?,
                            exp_year: r.get(4)?,
                        },
                        fingerprint: r.get(5)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    pub async fn charge(&self, key: &str) -> LedgerResult<Option<ChargeView>> {
        let key = key.to_owned();
        self.run(move |c| {
            c.query_row(
                &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE idempotency_key = ?1"),
                [key],
                charge_row,
            )
            .optional()
        })
        .await
    }

    /// Records `charge`, or returns the one already under its key (a retry
    /// never charges twice).
    pub async fn record(&self, charge: ChargeView, now: i64) -> LedgerResult<ChargeView> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO charges (idempotency_key, charge_id, token, amount, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
                params![charge.idempotency_key, charge.id, charge.token, charge.amount, charge.status, now],
            )?;
            c.query_row(
                &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE idempotency_key = ?1"),
                [&charge.idempotency_key],
                charge_row,
            )
        })
        .await
    }

    /// Writes `charge` as given, replacing whatever is under its key: the test
    /// helpers' way to stage what a gateway "said" (see `test_helpers`).
    pub async fn put(&self, charge: ChargeView, now: i64) -> LedgerResult<ChargeView> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO charges (idempotency_key, charge_id, token, amount, status, refunded, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (idempotency_key) DO UPDATE SET charge_id = excluded.charge_id,
                   token = excluded.token, amount = excluded.amount, status = excluded.status,
                   refunded = excluded.refunded",
                params![charge.idempotency_key, charge.id, charge.token, charge.amount, charge.status, charge.refunded, now],
            )?;
            Ok(charge)
        })
        .await
    }

    /// Raises a succeeded charge's refunded total to `total` (capped at its
    /// amount, never lowered); `None` if no such charge.
    pub async fn refund(&self, charge_id: &str, total: i64) -> LedgerResult<Option<ChargeView>> {
        let charge_id = charge_id.to_owned();
        self.run(move |c| {
            c.execute(
                "UPDATE charges SET refunded = MAX(refunded, MIN(amount, ?2))
                 WHERE charge_id = ?1 AND status = 'succeeded'",
                params![charge_id, total],
            )?;
            c.query_row(
                &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE charge_id = ?1"),
                [charge_id],
                charge_row,
            )
            .optional()
        })
        .await
    }

    pub async fn charges(&self) -> LedgerResult<Vec<ChargeView>> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CHARGE_COLUMNS} FROM charges ORDER BY created_at, idempotency_key"
            ))?;
            let rows = stmt.query_map([], charge_row)?;
            rows.collect()
        })
        .await
    }

    pub async fn summary(&self) -> LedgerResult<LedgerSummary> {
        self.run(|c| {
            c.query_row(
                "SELECT
                   (SELECT COUNT(*) FROM charges),
                   (SELECT COUNT(*) FROM charges WHERE status = 'succeeded'),
                   (SELECT COALESCE(SUM(amount), 0) FROM charges WHERE status = 'succeeded'),
                   (SELECT COALESCE(SUM(refunded), 0) FROM charges WHERE status = 'succeeded'),
                   (SELECT COUNT(*) FROM tokens)",
                [],
                |r| {
                    let (taken, refunded): (i64, i64) = (r.get(2)?, r.get(3)?);
                    Ok(LedgerSummary {
                        charges: r.get(0)?,
                        succeeded: r.get(1)?,
                        taken,
                        refunded,
                        net: taken - refunded,
                        tokens: r.get(4)?,
                    })
                },
            )
        })
        .await
    }
}
