//! Storage for operations staff perform on whole trips: a cancellation
//! (recorded first, finished later), and what keeps a trip or a coach from
//! being sold. Each change writes its `trip.operated` event in the same
//! transaction, so the audit chain names who did it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{HoldId, Order, OrderId, SeatClass, TripId, UserId};

/// A trip's cancellation as recorded: why, by whom, when, and when every
/// order and hold of the trip was settled (`None` while some are left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripCancellation {
    pub trip_id: TripId,
    pub reason: String,
    pub actor: String,
    pub cancelled_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What staff have done to one trip that bears on selling it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TripOpsState {
    pub cancellation: Option<TripCancellation>,
    /// Staff closed the trip's sale (until they reopen it).
    pub sale_closed: bool,
    /// Codes of coaches taken out of sale, in code order.
    pub coaches_off_sale: Vec<String>,
    /// Minutes staff delayed the trip by, if they did.
    pub delay_minutes: Option<i64>,
}

/// A change to trips' sale windows (an Eid wave moves many at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleWindowChange {
    /// No new sales until reopened.
    Close,
    /// Sales may go on: a closure is lifted, and a window not yet open opens now.
    Open,
    /// The window opens at this instant instead (a closure stays as it is).
    Move(DateTime<Utc>),
}

impl SaleWindowChange {
    /// The change as the audit log's detail says it.
    pub fn describe(&self) -> String {
        match self {
            SaleWindowChange::Close => "close".into(),
            SaleWindowChange::Open => "open".into(),
            SaleWindowChange::Move(at) => {
                format!("move to {}", crate::domain::time::to_local_rfc3339(*at))
            }
        }
    }
}

/// A coach added to one trip: `seats` seats numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTripCoach {
    pub code: String,
    pub class: SeatClass,
    pub seats: u32,
}

#[async_trait]
pub trait TripOpsStore: Send + Sync {
    /// Records the trip's cancellation with its event. A trip already
    /// cancelled keeps its first record, which is returned with `false`.
    async fn record_trip_cancellation(
        &self,
        trip_id: TripId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<(TripCancellation, bool)>;

    /// Marks the cancellation finished (every order settled, every hold released).
    async fn finish_trip_cancellation(
        &self,
        trip_id: TripId,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The trip's orders with ids above `after`, in id order, at most `limit`
    /// (a keyset page: a trip's orders are walked without loading them all).
    async fn trip_orders_after(
        &self,
        trip_id: TripId,
        after: OrderId,
        limit: i64,
    ) -> StoreResult<Vec<Order>>;

    /// The trip's active holds (holds that have not become an order), with their owners.
    async fn trip_active_holds(&self, trip_id: TripId) -> StoreResult<Vec<(HoldId, UserId)>>;

    /// Read fresh from the database on every sale, not from a cache: a
    /// cancellation made by another process must stop the next hold.
    async fn trip_ops_state(&self, trip_id: TripId) -> StoreResult<TripOpsState>;

    /// Records the trip's delay (a later delay replaces an earlier one) and,
    /// in the same transaction, an `order.trip_delayed` event for every
    /// confirmed order, so each passenger is told. Returns how many orders.
    async fn record_trip_delay(
        &self,
        trip_id: TripId,
        minutes: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Applies `change` to each of `trips` with one event each, in one transaction.
    async fn change_sale_window(
        &self,
        trips: &[TripId],
        change: SaleWindowChange,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes a coach of the trip out of sale (`on_sale` false) or back into
    /// it. `NotFound` when the trip has no such coach; false when it already
    /// was as asked (nothing written).
    async fn set_coach_on_sale(
        &self,
        trip_id: TripId,
        coach_code: &str,
        on_sale: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Adds a coach to one trip's inventory, after its last coach. `Conflict`
    /// when the trip already has a coach with that code.
    async fn add_trip_coach(
        &self,
        trip_id: TripId,
        coach: &NewTripCoach,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The event every trip operation writes with its change.
pub(crate) fn operated(
    trip_id: TripId,
    action: &str,
    actor: &str,
    detail: String,
) -> crate::domain::Event {
    crate::domain::Event::TripOperated {
        trip_id,
        action: action.to_owned(),
        actor: actor.to_owned(),
        detail,
    }
}
