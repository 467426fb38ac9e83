//! Storage: one narrow `Store` trait, two real implementations.
//!
//! The backend is chosen once, from the database URL: `sqlite://PATH` (the
//! embedded default) or `postgres://…`. Both pass the same conformance suite
//! (`tests/store_conformance.rs`); behaviour may not differ between them.
//! Only `app` calls the store.

mod counter;
mod identity;
mod limits;
pub mod postgres;
mod records;
pub mod sqlite;

pub use counter::{CounterSale, CounterStore, ShiftTotals};
pub use identity::{Attempt, IdentityStore, Rotation, SessionState};
pub use limits::{CounterBuyer, HoldCap, HoldCaps, LimitStore};
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
    /// Some of the wanted seats were taken (held or sold) for that journey meanwhile.
    #[error("seats already taken: {0:?}")]
    SeatsTaken(Vec<i64>),
    /// The account or client address already has `max` unexpired holds.
    #[error("at most {max} active holds ({}); {already} already", cap.name())]
    HoldCapReached {
        cap: HoldCap,
        max: i64,
        already: i64,
    },
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
pub trait Store: CounterStore + IdentityStore + LimitStore + Send + Sync + 'static {
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

    // ---- holds ----
    /// Takes the seats for the journey atomically: every seat must be free for
    /// `mask`, or nothing changes and `SeatsTaken` names the ones that were not.
    /// Refuses (`Conflict`) when the user would exceed `max_seats_per_user` on the trip.
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<HoldRecord>;
    async fn hold(&self, id: i64) -> StoreResult<Option<HoldRecord>>;
    /// Releases an active hold of `user_id`; false when it was not active.
    async fn release_hold(&self, id: i64, user_id: i64) -> StoreResult<bool>;
    /// Ends active holds whose time is up, returning their seats; returns their ids.
    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>>;

    // ---- orders ----
    /// Turns an active, unexpired hold of the user into a `reserved` order and
    /// records the idempotency key, in one transaction.
    async fn create_order(&self, order: &NewOrder) -> StoreResult<OrderRecord>;
    async fn order(&self, id: i64) -> StoreResult<Option<OrderRecord>>;
    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>>;
    /// Orders in one of `statuses` last changed at or before `before` (whole seconds; for recovery).
    async fn orders_stuck(
        &self,
        statuses: &[crate::domain::OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderRecord>>;
    /// Moves an order from `from` to `to` if it is still in `from` (false otherwise),
    /// with its event in the outbox. Leaving a seat-holding state for one that
    /// does not hold seats returns the seats; cancelling voids the tickets.
    async fn transition_order(
        &self,
        id: i64,
        from: crate::domain::OrderStatus,
        to: crate::domain::OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Confirms a charged order in one transaction (see `Confirmation`), each
    /// transition with its event in the outbox, and returns the order's tickets.
    /// `None` when the order was no longer in `from`: nothing was written.
    /// One write instead of four: each was a separate commit on the saga's path.
    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Vec<TicketRecord>>>;
    async fn idempotency(&self, user_id: i64, key: &str) -> StoreResult<Option<IdempotencyRecord>>;
    async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status_code: u16,
        response: &str,
    ) -> StoreResult<()>;

    // ---- payments ----
    async fn insert_payment_token(
        &self,
        token: &PaymentToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>>;
    /// Records a charge in the gateway's ledger, or returns the one already under that key.
    async fn gateway_record(
        &self,
        charge: &GatewayCharge,
        now: DateTime<Utc>,
    ) -> StoreResult<GatewayCharge>;
    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<GatewayCharge>>;
    /// Raises the refunded total of a succeeded charge to `total` (never beyond its
    /// amount, never lower than before), so repeating a refund is harmless.
    async fn gateway_refund(&self, charge_id: &str, total: i64) -> StoreResult<GatewayCharge>;

    // ---- tickets ----
    /// Inserts the tickets not yet issued (by order and passenger); returns how many were new.
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize>;
    async fn tickets_of_order(&self, order_id: i64) -> StoreResult<Vec<TicketRecord>>;
    async fn ticket(&self, id: i64) -> StoreResult<Option<TicketRecord>>;
    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<TicketRecord>>;

    // ---- outbox and audit ----
    async fn outbox_pending(&self, consumer: Consumer, limit: i64)
    -> StoreResult<Vec<OutboxEvent>>;
    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Appends an outbox event to the hash-chained audit log (once per event).
    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()>;
    /// Appends the events in order, all or none, in one transaction: the audit
    /// consumer sees several events per booking, and one commit each was most
    /// of the SQLite writer's commits during a sale.
    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()>;
    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>>;

    // ---- invariants ----
    /// Every hold's claim on every seat of a trip (all trips when `None`).
    async fn seat_claims(&self, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>>;
    async fn ledger(&self) -> StoreResult<Ledger>;
    /// Every order with the gateway's record under its charge key, and every
    /// gateway charge no order claims (keys `order-<id>`, see `app::booking`).
    async fn money_pairs(&self) -> StoreResult<Vec<MoneyPair>>;
}

/// `url` fit to print: a password in it (`postgres://user:secret@host/db`, or a
/// `password=` query parameter) is replaced by `***`, so banners, logs and
/// error messages never show it.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

/// Opens the store named by `url`: `sqlite://PATH`, a bare file path, or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
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

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/rail",
                "postgres://app:***@db:5432/rail",
            ),
            (
                "postgresql://app:p%40ss@db/rail?sslmode=require",
                "postgresql://app:***@db/rail?sslmode=require",
            ),
            ("postgres://app:a:b@c@db/rail", "postgres://app:***@db/rail"),
            (
                "postgres://db/rail?user=app&password=s3cret",
                "postgres://db/rail?user=app&password=***",
            ),
            (
                "smtp://mail:hunter2@relay:587?tls=required",
                "smtp://mail:***@relay:587?tls=required",
            ),
        ] {
            assert_eq!(redact_url(url), shown);
        }
        for unchanged in [
            "postgres://app@db/rail",
            "postgres://db/rail",
            "sqlite://ticketctl.db",
            "sqlite:///tmp/a@b:c.db",
            "ticketctl.db",
        ] {
            assert_eq!(redact_url(unchanged), unchanged);
        }
    }
}
