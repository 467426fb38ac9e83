//! Storage: one narrow `Store` trait, two real implementations.
//!
//! The backend is chosen once, from the database URL: `sqlite://PATH` (the
//! embedded default) or `postgres://…`. Both pass the same conformance suite
//! (`tests/store_conformance.rs`); behaviour may not differ between them.
//! Only `app` calls the store.

pub mod postgres;
mod records;
pub mod sqlite;

pub use records::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::domain::{Fare, FareRate, SeatClass, SegmentMask, ServiceDate, StationCode, Train};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (duplicate phone, trip already exists, …).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The database URL or file could not be used.
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What an idempotent write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Inserted,
    Updated,
    Unchanged,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies pending migrations; returns how many were applied.
    async fn migrate(&self) -> StoreResult<usize>;

    /// True when the schema has been created (used by `serve` to migrate an empty database).
    async fn is_migrated(&self) -> StoreResult<bool>;

    /// Returns the stored value of `key`, storing `init` first if there is none.
    /// Every server process on one database thus agrees on generated secrets.
    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String>;

    // ---- catalog ----
    async fn upsert_station(&self, station: &NewStation) -> StoreResult<Upsert>;
    async fn list_stations(&self) -> StoreResult<Vec<crate::domain::Station>>;

    /// Inserts or updates a train with its stops and coaches. Refuses to change the
    /// stops of a train that already has trips (their seat masks index those stops).
    async fn upsert_train(&self, train: &Train) -> StoreResult<Upsert>;
    async fn list_trains(&self) -> StoreResult<Vec<TrainRecord>>;
    async fn train_by_number(&self, number: u32) -> StoreResult<Option<TrainRecord>>;

    /// Returns how many fare rows were inserted or changed.
    async fn upsert_fares(&self, fares: &[FareRow]) -> StoreResult<usize>;
    async fn upsert_fare_rates(&self, rates: &[(SeatClass, FareRate)]) -> StoreResult<usize>;
    async fn fares_between(
        &self,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<Vec<(SeatClass, Fare)>>;
    async fn fare_rates(&self) -> StoreResult<Vec<(SeatClass, FareRate)>>;

    /// Creates a trip and its seat inventory from the train's coaches.
    /// Returns `None` when the train already has a trip on that date.
    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<i64>>;
    async fn trip(&self, id: i64) -> StoreResult<Option<TripRecord>>;
    /// Trips whose service date is within `first..=last`, ordered by date and train number.
    async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Vec<TripRecord>>;
    /// Per trip and class, the number of seats free for the given journey mask.
    async fn free_seat_counts(
        &self,
        journeys: &[(i64, SegmentMask)],
    ) -> StoreResult<Vec<FreeCount>>;
    async fn seats(&self, trip_id: i64) -> StoreResult<Vec<SeatRecord>>;

    // ---- identity ----
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Finds a user by normalised phone or e-mail.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn set_role(&self, id: i64, role: crate::domain::Role) -> StoreResult<()>;
    /// Counts a failed login; once `max_failures` are reached in a row the account
    /// is locked until `now + lock_for`. Returns the updated user.
    async fn record_failed_login(
        &self,
        id: i64,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<User>;
    async fn clear_failed_logins(&self, id: i64) -> StoreResult<()>;
    async fn set_totp(&self, id: i64, secret: Option<&str>, enabled: bool) -> StoreResult<()>;
    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Deletes the token and returns its user if it was valid at `now` (refresh tokens rotate).
    async fn take_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>>;

    /// Row counts of the main tables, for reports and for proving idempotency.
    async fn counts(&self) -> StoreResult<Counts>;
}

/// Opens the store named by `url`: `sqlite://PATH`, a bare file path, or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let _ = postgres::PgStore::connect(url).await?;
        Err(StoreError::Open("x".into()))
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Open("the SQLite URL names no file".into()));
        }
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?))
    }
}
