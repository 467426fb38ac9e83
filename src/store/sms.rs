//! Storage for outgoing SMS: each message the notification consumer decided
//! to send, until the gateway took it or refused it for good.
//!
//! The outbox says *that* a traveller is to be told; this table holds *each
//! message* with its own retry schedule, so one number the gateway keeps
//! failing waits out its backoff without holding up everyone else's messages
//! (the outbox consumers stop at a failed event to keep order; SMS need no order).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{OutboxClaim, StoreResult};
use crate::domain::sms::Lang;
use crate::domain::{EventId, HoldId, OrderId};

/// A message to send, written once per reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSms {
    /// Unique per message and the same on every attempt (`ev<event id>`): the
    /// gateway's `csms_id`, so a message resent after a lost answer is kept once.
    pub reference: String,
    pub event_id: EventId,
    /// Normalised (`+8801…`).
    pub phone: String,
    pub body: String,
}

/// A message due for sending, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub id: crate::domain::SmsId,
    pub reference: String,
    pub phone: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsStatus {
    Pending,
    Sent,
    Failed,
}

impl SmsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Pending => "pending",
            SmsStatus::Sent => "sent",
            SmsStatus::Failed => "failed",
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsOutcome {
    Sent {
        provider_id: String,
    },
    /// Not taken this time: try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Refused for good (or out of attempts): never tried again.
    Failed {
        error: String,
    },
}

#[async_trait]
pub trait SmsStore: Send + Sync {
    /// Queues a message due now; false when its reference was queued already
    /// (a redelivered outbox event queues nothing new).
    async fn sms_enqueue(&self, sms: &NewSms, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Claims up to `limit` pending messages that are due at `claim.now` and
    /// not under another live claim, in id order. As with the outbox, the
    /// owner's own claims count as free to it, and claims arriving together
    /// never share a message (Postgres: SKIP LOCKED).
    async fn sms_claim(&self, claim: &OutboxClaim, limit: i64) -> StoreResult<Vec<SmsMessage>>;

    /// Records one attempt on each of a batch's claimed messages (by id) and
    /// releases their claims, all in one transaction: one commit per batch
    /// rather than per message keeps the SQLite writer free for sales.
    async fn sms_settle_all(
        &self,
        outcomes: &[(crate::domain::SmsId, SmsOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records the language a counter buyer asked for, against the hold
    /// before its order is placed (a retry replaces it: the last one wins).
    async fn set_sms_language(&self, hold_id: HoldId, lang: Lang) -> StoreResult<()>;

    /// The language recorded for the hold of an order, if any.
    async fn sms_language(&self, order_id: OrderId) -> StoreResult<Option<Lang>>;
}
