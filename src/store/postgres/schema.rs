//! Postgres: schema, settings and counts.

use super::*;

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
