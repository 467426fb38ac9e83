//! SQLite: schema, settings and counts.

use async_trait::async_trait;
use rusqlite::params;
use rusqlite_migration::{M, Migrations};

use super::{SqliteStore, db};
use crate::store::prelude::*;
use crate::store::{Backend, Counts, StoreError, StoreResult};

pub(super) const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!(
        "../../../migrations/sqlite/0001_catalog_identity.sql"
    )),
    M::up(include_str!("../../../migrations/sqlite/0002_booking.sql")),
    M::up(include_str!("../../../migrations/sqlite/0003_counter.sql")),
    M::up(include_str!(
        "../../../migrations/sqlite/0005_identity_sessions.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0006_booking_limits.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0007_queued_sales.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0008_outbox_relay.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0009_events_and_claims.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0010_nid_identity.sql"
    )),
    M::up(include_str!("../../../migrations/sqlite/0011_sms.sql")),
    M::up(include_str!(
        "../../../migrations/sqlite/0012_cash_ledger.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0013_wallet_payments.sql"
    )),
    M::up(include_str!("../../../migrations/sqlite/0014_risk.sql")),
    M::up(include_str!(
        "../../../migrations/sqlite/0015_personal_data.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0016_trip_operations.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0018_trip_homes.sql"
    )),
];

#[async_trait]
impl SchemaStore for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<usize> {
        self.engine
            .exclusive(|conn| {
                let before: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(db)?;
                Migrations::from_slice(MIGRATIONS)
                    .to_latest(conn)
                    .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
                Ok(MIGRATIONS.len().saturating_sub(before as usize))
            })
            .await
    }

    async fn is_migrated(&self) -> StoreResult<bool> {
        self.engine
            .read(|conn| {
                let v: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(db)?;
                Ok(v as usize >= MIGRATIONS.len())
            })
            .await
    }

    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String> {
        let (key, init) = (key.to_owned(), init.to_owned());
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                    params![key, init],
                )
                .map_err(db)?;
                conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .map_err(db)
            })
            .await
    }

    async fn counts(&self) -> StoreResult<Counts> {
        self.engine
            .read(|conn| {
                conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM stations), (SELECT COUNT(*) FROM trains),
                            (SELECT COUNT(*) FROM train_stops), (SELECT COUNT(*) FROM train_coaches),
                            (SELECT COUNT(*) FROM fares), (SELECT COUNT(*) FROM trips),
                            (SELECT COUNT(*) FROM seats), (SELECT COUNT(*) FROM users)",
                    [],
                    |r| {
                        Ok(Counts {
                            stations: r.get(0)?,
                            trains: r.get(1)?,
                            train_stops: r.get(2)?,
                            coaches: r.get(3)?,
                            fares: r.get(4)?,
                            trips: r.get(5)?,
                            seats: r.get(6)?,
                            users: r.get(7)?,
                        })
                    },
                )
                .map_err(db)
            })
            .await
    }
}
