//! Postgres: the outbox and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool};

use super::rows::*;
use super::{PgStore, db};
use crate::domain::EventId;
use crate::domain::audit::{GENESIS, chain_hash};
use crate::store::prelude::*;
use crate::store::{AuditRecord, Consumer, OutboxClaim, OutboxEvent, StoreResult, ts};

/// Serialises appends to the audit chain across processes.
pub(super) const AUDIT_LOCK: i64 = 0x7469_636b_6574; // "ticket"

pub(super) async fn outbox_pending(
    pool: &PgPool,
    consumer: Consumer,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let sql = format!(
        "SELECT id, kind, subject_id, payload, created_at FROM outbox WHERE {} IS NULL ORDER BY id LIMIT $1",
        consumer.column()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(outbox_event_row).collect()
}

pub(super) async fn outbox_claim(
    pool: &PgPool,
    consumer: Consumer,
    claim: &OutboxClaim,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    // A claim with nothing to mark: the same statement, one home for its SQL.
    outbox_mark_and_claim(pool, consumer, &[], claim, limit).await
}

/// `done` marked handled and the next batch claimed in one statement (one
/// round trip): the claim passes over `done`, which the same statement marks.
pub(super) async fn outbox_mark_and_claim(
    pool: &PgPool,
    consumer: Consumer,
    done: &[EventId],
    claim: &OutboxClaim,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let (by, until) = consumer.claim_columns();
    let column = consumer.column();
    // SKIP LOCKED: a claim arriving together with another passes over the rows
    // the other is taking instead of waiting for them and then taking them too.
    let sql = format!(
        "WITH marked AS (UPDATE outbox SET {column} = $3 WHERE id = ANY($5))
         UPDATE outbox SET {by} = $1, {until} = $2
         WHERE id IN (SELECT id FROM outbox
                      WHERE {column} IS NULL AND NOT (id = ANY($5))
                        AND ({until} IS NULL OR {until} <= $3 OR {by} = $1)
                      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id, kind, subject_id, payload, created_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&claim.owner)
        .bind(ts(claim.until()))
        .bind(ts(claim.now))
        .bind(limit)
        .bind(done.to_vec())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let mut events = rows
        .iter()
        .map(outbox_event_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING promises no order.
    events.sort_by_key(|e| e.id);
    Ok(events)
}

async fn outbox_mark(
    conn: &mut PgConnection,
    consumer: Consumer,
    ids: &[EventId],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let sql = format!(
        "UPDATE outbox SET {} = $2 WHERE id = ANY($1)",
        consumer.column()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids.to_vec())
        .bind(ts(now))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(super) async fn audit_append(conn: &mut PgConnection, e: &OutboxEvent) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let prev: String = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = ts(e.created_at);
    let hash = chain_hash(&prev, at, e.kind(), e.subject_id, &e.payload);
    sqlx::query(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(e.id)
    .bind(at)
    .bind(e.kind())
    .bind(e.subject_id)
    .bind(&e.payload)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Appends a batch of events to the audit chain in three round trips whatever its
/// size (the lock, one read, one insert) instead of three per event: the same rows
/// and hashes as appending them one by one.
pub(super) async fn audit_append_all(
    conn: &mut PgConnection,
    events: &[OutboxEvent],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Its own statement: the read below must see what the previous holder committed.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
    let r = sqlx::query(
        "SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS prev,
                ARRAY(SELECT event_id FROM audit_log WHERE event_id = ANY($1)) AS logged",
    )
    .bind(&ids)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let mut prev = get::<Option<String>>(&r, "prev")?.unwrap_or_else(|| GENESIS.to_owned());
    let logged: Vec<EventId> = get(&r, "logged")?;
    // Skip what is logged, and an event given twice in the batch after its first
    // time (as appending one by one would; the insert below would otherwise
    // break the unique event id and lose the whole batch).
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let fresh: Vec<&OutboxEvent> = events
        .iter()
        .filter(|e| !logged.contains(&e.id) && seen.insert(e.id))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    // A redelivered event is skipped, as ON CONFLICT did one by one: the chain
    // runs on from the last row actually written.
    let (mut prevs, mut hashes) = (
        Vec::with_capacity(fresh.len()),
        Vec::with_capacity(fresh.len()),
    );
    for e in &fresh {
        let hash = chain_hash(&prev, ts(e.created_at), e.kind(), e.subject_id, &e.payload);
        prevs.push(std::mem::replace(&mut prev, hash.clone()));
        hashes.push(hash);
    }
    sqlx::query(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         SELECT event_id, at, kind, subject_id, detail, prev_hash, hash FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
           WITH ORDINALITY AS x(event_id, at, kind, subject_id, detail, prev_hash, hash, n)
         ORDER BY n",
    )
    .bind(fresh.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| ts(e.created_at)).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.kind()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.subject_id).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
    .bind(prevs)
    .bind(hashes)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn audit_log(pool: &PgPool) -> StoreResult<Vec<AuditRecord>> {
    let rows = sqlx::query("SELECT id, event_id, at, kind, subject_id, detail, prev_hash, hash FROM audit_log ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(AuditRecord {
                id: get(r, "id")?,
                event_id: get(r, "event_id")?,
                at: get(r, "at")?,
                kind: get(r, "kind")?,
                subject_id: get(r, "subject_id")?,
                detail: get(r, "detail")?,
                prev_hash: get(r, "prev_hash")?,
                hash: get(r, "hash")?,
            })
        })
        .collect()
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        outbox_pending(&self.pool, consumer, limit).await
    }

    async fn outbox_claim(
        &self,
        consumer: Consumer,
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        outbox_claim(&self.pool, consumer, claim, limit).await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[EventId],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        outbox_mark(&mut conn, consumer, ids, now).await
    }

    async fn outbox_mark_and_claim(
        &self,
        consumer: Consumer,
        done: &[EventId],
        claim: &OutboxClaim,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        if done.is_empty() {
            return outbox_claim(&self.pool, consumer, claim, limit).await;
        }
        outbox_mark_and_claim(&self.pool, consumer, done, claim, limit).await
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        audit_append(&mut tx, event).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        audit_append_all(&mut tx, events).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_append_and_mark(
        &self,
        events: &[OutboxEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        audit_append_all(&mut tx, events).await?;
        let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
        outbox_mark(&mut tx, Consumer::Audit, &ids, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        audit_log(&self.pool).await
    }
}
