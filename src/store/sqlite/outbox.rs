//! SQLite: the outbox and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::audit::{GENESIS, chain_hash};
use crate::domain::{Event, EventId};
use crate::store::prelude::*;
use crate::store::{AuditRecord, Consumer, OutboxClaim, OutboxEvent, StoreResult, ts};

/// Writes an event to the outbox in the caller's transaction.
pub(super) fn outbox(conn: &Connection, event: &Event, now: DateTime<Utc>) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (kind, subject_id, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![
        event.kind(),
        event.subject(),
        event.payload(),
        ts(now)
    ])
    .map_err(db)?;
    Ok(())
}

pub(super) fn outbox_pending(
    conn: &Connection,
    consumer: Consumer,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    conn.prepare_cached(&format!(
        "SELECT id, kind, subject_id, payload, created_at FROM outbox WHERE {} IS NULL ORDER BY id LIMIT ?1",
        consumer.column()
    ))
    .map_err(db)?
    .query_map([limit], outbox_event_row)
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

/// Whether `consumer` has anything to claim: read first, so an idle consumer
/// costs the single writer nothing.
fn outbox_claimable(
    conn: &Connection,
    consumer: Consumer,
    claim: &OutboxClaim,
) -> StoreResult<bool> {
    let (by, until) = consumer.claim_columns();
    conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE {} IS NULL AND ({until} IS NULL OR {until} <= ?1 OR {by} = ?2))",
        consumer.column()
    ))
    .map_err(db)?
    .query_row(params![ts(claim.now), claim.owner], |r| r.get(0))
    .map_err(db)
}

pub(super) fn outbox_claim(
    conn: &Connection,
    consumer: Consumer,
    claim: &OutboxClaim,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let (by, until) = consumer.claim_columns();
    let mut events: Vec<OutboxEvent> = conn
        .prepare_cached(&format!(
            "UPDATE outbox SET {by} = ?1, {until} = ?2
             WHERE id IN (SELECT id FROM outbox
                          WHERE {} IS NULL AND ({until} IS NULL OR {until} <= ?3 OR {by} = ?1)
                          ORDER BY id LIMIT ?4)
             RETURNING id, kind, subject_id, payload, created_at",
            consumer.column()
        ))
        .map_err(db)?
        .query_map(
            params![claim.owner, ts(claim.until()), ts(claim.now), limit],
            outbox_event_row,
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    // RETURNING promises no order.
    events.sort_by_key(|e| e.id);
    Ok(events)
}

pub(super) fn outbox_mark(
    conn: &Connection,
    consumer: Consumer,
    ids: &[EventId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "UPDATE outbox SET {} = ?2 WHERE id = ?1",
            consumer.column()
        ))
        .map_err(db)?;
    for id in ids {
        stmt.execute(params![id, ts(now)]).map_err(db)?;
    }
    Ok(())
}

pub(super) fn audit_append(conn: &Connection, e: &OutboxEvent) -> StoreResult<()> {
    let prev: String = conn
        .query_row(
            "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = ts(e.created_at);
    let hash = chain_hash(&prev, at, e.kind(), e.subject_id, &e.payload);
    conn.prepare_cached(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
    )
    .map_err(db)?
    .execute(params![
        e.id,
        at,
        e.kind(),
        e.subject_id,
        e.payload,
        prev,
        hash
    ])
    .map_err(db)?;
    Ok(())
}

pub(super) fn audit_log(conn: &Connection) -> StoreResult<Vec<AuditRecord>> {
    conn.prepare_cached("SELECT id, event_id, at, kind, subject_id, detail, prev_hash, hash FROM audit_log ORDER BY id")
        .map_err(db)?
        .query_map([], |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                event_id: r.get(1)?,
                at: r.get(2)?,
                kind: r.get(3)?,
                subject_id: r.get(4)?,
                detail: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        self.engine
            .read(move |c| outbox_pending(c, consumer, limit))
            .await
    }

    async fn outbox_claim(
        &self,
        consumer: Consumer,
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        let look = claim.clone();
        if !self
            .engine
            .read(move |c| outbox_claimable(c, consumer, &look))
            .await?
        {
            return Ok(Vec::new());
        }
        let claim = claim.clone();
        self.engine
            .write(move |c| outbox_claim(c, consumer, &claim, limit))
            .await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[EventId],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ids = ids.to_vec();
        self.engine
            .write(move |c| outbox_mark(c, consumer, &ids, now))
            .await
    }

    async fn outbox_mark_and_claim(
        &self,
        consumer: Consumer,
        done: &[EventId],
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        if done.is_empty() {
            return self.outbox_claim(consumer, claim, limit).await;
        }
        let (done, claim) = (done.to_vec(), claim.clone());
        self.engine
            .write(move |c| {
                // Marked first: the claim below would take these back, as the owner's own.
                outbox_mark(c, consumer, &done, claim.now)?;
                outbox_claim(c, consumer, &claim, limit)
            })
            .await
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let event = event.clone();
        self.engine.write(move |c| audit_append(c, &event)).await
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let events = events.to_vec();
        self.engine
            .write(move |c| events.iter().try_for_each(|e| audit_append(c, e)))
            .await
    }

    async fn audit_append_and_mark(
        &self,
        events: &[OutboxEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let events = events.to_vec();
        self.engine
            .write(move |c| {
                events.iter().try_for_each(|e| audit_append(c, e))?;
                let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
                outbox_mark(c, Consumer::Audit, &ids, now)
            })
            .await
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        self.engine.read(audit_log).await
    }
}
