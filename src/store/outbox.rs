//! Storage for the outbox (events per consumer) and the hash-chained audit log
//! the audit consumer appends them to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AuditRecord, Consumer, OutboxClaim, OutboxEvent, StoreResult};
use crate::domain::EventId;

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Events `consumer` has not handled, in id order, whether claimed or not
    /// (a look, not a claim: handlers take theirs through `outbox_claim`).
    async fn outbox_pending(&self, consumer: Consumer, limit: i64)
    -> StoreResult<Vec<OutboxEvent>>;

    /// Claims up to `limit` events `consumer` has not handled and nobody holds
    /// a live claim on, in id order, for `claim.owner` until `claim.until()`.
    /// Claims arriving together never share an event (Postgres: SKIP LOCKED).
    /// The owner's own claims count as free to it, so a batch it failed part of
    /// comes round again at once rather than after the lease.
    async fn outbox_claim(
        &self,
        consumer: Consumer,
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>>;

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[EventId],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Marks `done` handled by `consumer` (at `claim.now`), then claims as
    /// `outbox_claim` does, in one write: a consumer working through a stream
    /// of events marks each batch with the claim of the next instead of with a
    /// write of its own (on SQLite every write is a turn of the one writer).
    async fn outbox_mark_and_claim(
        &self,
        consumer: Consumer,
        done: &[EventId],
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>>;

    /// Appends an outbox event to the hash-chained audit log (once per event).
    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()>;

    /// Appends the events in order, all or none, in one transaction: the audit
    /// consumer sees several events per booking, and one commit each was most
    /// of the SQLite writer's commits during a sale.
    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()>;

    /// `audit_append_all`, and the events marked audited at `now`, all or none
    /// in one transaction: the audit consumer's whole batch in one write.
    async fn audit_append_and_mark(
        &self,
        events: &[OutboxEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>>;
}
