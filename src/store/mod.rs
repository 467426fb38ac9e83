//! Storage: narrow traits per aggregate (catalog, identity, booking, …),
//! together `Store`, with two real implementations.
//!
//! The backend is chosen once, from the database URL: `sqlite://PATH` (the
//! embedded default) or `postgres://…`. Both pass the same conformance suite
//! (`tests/store_conformance.rs`); behaviour may not differ between them.
//! Only `app` calls the store.

mod booking;
mod catalog;
mod counter;
pub mod export;
mod identity;
mod inputs;
mod invariant;
mod limits;
mod monitor;
mod nid;
mod outbox;
mod payment;
pub mod personal;
pub mod postgres;
mod read_models;
pub mod region;
pub mod risk;
mod sales;
mod schema;
mod seat_feed;
pub mod sms;
pub mod sqlite;
mod ticket;
pub mod trip_ops;

pub use booking::BookingStore;
pub use catalog::CatalogStore;
pub use counter::{CounterSale, CounterStore, ShiftTotals};
pub use export::ExportStore;
pub use identity::{Attempt, IdentityStore, Rotation, SessionState};
pub use inputs::*;
pub use invariant::InvariantStore;
pub use limits::{CounterBuyer, HoldCap, HoldCaps, LimitStore};
pub use monitor::{MonitorStore, OutboxBacklog, PoolUsage, WriterObserver};
pub use nid::{FlaggedNid, NidStore};
pub use outbox::OutboxStore;
pub use payment::{CallbackClaim, PaymentStore, WalletPayment};
pub use personal::PersonalStore;
pub use read_models::*;
pub use region::{Fence, FenceSlot, HomeCount, RegionStore, TripHome};
pub use risk::{NewRiskDecision, RiskDecision, RiskStore};
pub use sales::SaleStore;
pub use schema::SchemaStore;
pub use seat_feed::{SeatChange, SeatFeedStore};
pub use sms::SmsStore;
pub use ticket::TicketStore;
pub use trip_ops::{NewTripCoach, SaleWindowChange, TripCancellation, TripOpsState, TripOpsStore};

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (duplicate phone, trip already exists, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The order's Idempotency-Key is already taken (by a twin of the same
    /// request, perhaps in another server process).
    #[error("conflict: this Idempotency-Key was already used")]
    IdempotencyKeyUsed,
    #[error("not found: {0}")]
    NotFound(String),
    /// The database URL or file could not be used.
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("database error: {0}")]
    Backend(String),
    /// The database cannot do the work right now but may soon: it is
    /// unreachable or restarting, its connections are used up, or (SQLite)
    /// its disk is full. The caller may try again; a write whose answer was
    /// lost with its connection may or may not have been done.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A write for a trip this server may not write (multi-region fencing):
    /// the trip is homed elsewhere or under another epoch, or the region's
    /// lease lapsed. Nothing was written.
    #[error("fenced: {0}")]
    Fenced(String),
    /// Some of the wanted seats were taken (held or sold) for that journey meanwhile.
    #[error("seats already taken: {0:?}")]
    SeatsTaken(Vec<crate::domain::SeatId>),
    /// The NID is already bound to another account.
    #[error("conflict: this NID belongs to another account")]
    NidTaken,
    /// An online hold for an account that has no NID.
    #[error("this account has no NID")]
    NidRequired,
    /// The buyer's NID is flagged: no sale until an admin clears it.
    #[error("this NID is flagged")]
    NidFlagged,
    /// The buyer's NID would own more seats than a cap allows.
    #[error("{0}")]
    NidCapReached(crate::domain::NidCapReached),
    /// The account or client address already has `max` unexpired holds.
    #[error("at most {max} active holds ({}); {already} already", cap.name())]
    HoldCapReached {
        cap: HoldCap,
        max: i64,
        already: i64,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An instant as the backends store it: whole seconds since the epoch.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

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

/// Everything a backend stores, as one object-safe trait: `Arc<dyn Store>` is
/// what the application holds. The methods live in the narrow per-aggregate
/// traits; bring them into scope with `use crate::store::prelude::*`.
pub trait Store:
    SchemaStore
    + CatalogStore
    + IdentityStore
    + BookingStore
    + PaymentStore
    + PersonalStore
    + TicketStore
    + OutboxStore
    + InvariantStore
    + CounterStore
    + LimitStore
    + NidStore
    + SaleStore
    + MonitorStore
    + SeatFeedStore
    + SmsStore
    + RiskStore
    + TripOpsStore
    + ExportStore
    + RegionStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: SchemaStore
        + CatalogStore
        + IdentityStore
        + BookingStore
        + PaymentStore
        + PersonalStore
        + TicketStore
        + OutboxStore
        + InvariantStore
        + CounterStore
        + LimitStore
        + NidStore
        + SaleStore
        + MonitorStore
        + SeatFeedStore
        + SmsStore
        + RiskStore
        + TripOpsStore
        + ExportStore
        + RegionStore
        + Send
        + Sync
        + 'static
{
}

/// Every store trait, for callers of store methods: `use crate::store::prelude::*`.
pub mod prelude {
    pub use super::{
        BookingStore, CatalogStore, CounterStore, ExportStore, IdentityStore, InvariantStore,
        LimitStore, MonitorStore, NidStore, OutboxStore, PaymentStore, PersonalStore, RegionStore,
        RiskStore, SaleStore, SchemaStore, SeatFeedStore, SmsStore, Store, TicketStore,
        TripOpsStore,
    };
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
        let path = sqlite_path(url)
            .ok_or_else(|| StoreError::Open("the SQLite URL names no file".into()))?;
        Ok(Arc::new(sqlite::SqliteStore::open(path)?))
    }
}

/// The file a SQLite database URL names; `None` for Postgres or an empty path.
pub fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    (!path.is_empty()).then(|| std::path::Path::new(path))
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
