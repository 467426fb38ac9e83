//! The waiting room's state, behind one trait with two keepers: this process's
//! memory (one `serve` process, the SQLite default) or Redis (every process of
//! a deployment shares one room, and it outlives restarts).
//!
//! A room keeps only the queue: who waits where, who is admitted, which
//! admissions are spent. Which trips a sale gates, and its settings, come from
//! the database (`directory`); signing tokens and the answers users see are in
//! `super`. Every call gets the sale's settings, so a room that has lost its
//! state (a restarted process, a Redis that was emptied) starts it afresh, and
//! "now" from the app's clock, never its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::app::AppResult;
use crate::domain::UserId;
use crate::domain::waiting_room::{Place, QueuedSale, Refusal};

/// A sale's room at one moment, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// In the pre-queue or the queue.
    pub waiting: u64,
    /// Admitted and shopping now.
    pub admitted: u64,
    /// Admissions made since the sale started.
    pub admissions: u64,
}

#[async_trait]
pub trait WaitingRoom: Send + Sync {
    /// Where the room is kept ("memory" or "redis"), for logs.
    fn kind(&self) -> &'static str;

    /// Forgets whatever the room keeps under this sale's id: a new sale starts
    /// with an empty queue even if an old one of that name left state behind.
    async fn reset(&self, sale: &QueuedSale) -> AppResult<()>;

    /// Takes an admin's change (pause, rate, cap) into the running room.
    async fn configure(&self, sale: &QueuedSale, now: DateTime<Utc>) -> AppResult<()>;

    /// Joins the pre-queue or the queue (a user already in keeps their place)
    /// and says where the user now stands.
    async fn join(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<Place>;

    /// Where the user stands, or None when they are not in the room.
    async fn status(
        &self,
        sale: &QueuedSale,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Place>>;

    /// Leaves the queue or gives up the admission, freeing the slot.
    async fn leave(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<()>;

    /// Honours admission `jti` of `user` (its token's signature already
    /// checked) if it is their current one and not idle too long; using it
    /// counts as activity. The inner error says why it is not honoured.
    async fn touch(
        &self,
        sale: &QueuedSale,
        user: UserId,
        jti: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Result<(), Refusal>>;

    /// Ends the user's admission after a checkout: its token is spent.
    async fn check_out(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>)
    -> AppResult<()>;

    /// The users admitted now, in the order they were admitted (tests and
    /// operators; it reads every admission, so it is not for request paths).
    async fn admission_order(&self, sale: &QueuedSale) -> AppResult<Vec<UserId>>;

    /// How many wait and are admitted, as the room last stood: it reads, it
    /// does not admit anyone (monitoring, on a timer).
    async fn census(&self, sale: &QueuedSale) -> AppResult<Census>;
}
