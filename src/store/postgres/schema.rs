//! Postgres: schema, settings and counts.

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::rows::*;
use super::{PgStore, db};
use crate::store::prelude::*;
use crate::store::{Backend, Counts, StoreError, StoreResult};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub(super) async fn applied_migrations(pool: &PgPool) -> StoreResult<usize> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if !exists {
        return Ok(0);
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(n as usize)
}

#[async_trait]
impl SchemaStore for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let before = applied_migrations(&self.pool).await?;
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        Ok(applied_migrations(&self.pool).await?.saturating_sub(before))
    }

    async fn is_migrated(&self) -> StoreResult<bool> {
        Ok(applied_migrations(&self.pool).await? >= MIGRATOR.iter().count())
    }

    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(init)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM stations) AS stations, (SELECT COUNT(*) FROM trains) AS trains,
                    (SELECT COUNT(*) FROM train_stops) AS stops, (SELECT COUNT(*) FROM train_coaches) AS coaches,
                    (SELECT COUNT(*) FROM fares) AS fares, (SELECT COUNT(*) FROM trips) AS trips,
                    (SELECT COUNT(*) FROM seats) AS seats, (SELECT COUNT(*) FROM users) AS users",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(Counts {
            stations: get(&r, "stations")?,
            trains: get(&r, "trains")?,
            train_stops: get(&r, "stops")?,
            coaches: get(&r, "coaches")?,
            fares: get(&r, "fares")?,
            trips: get(&r, "trips")?,
            seats: get(&r, "seats")?,
            users: get(&r, "users")?,
        })
    }
}
