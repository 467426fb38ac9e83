//! SQLite: outgoing SMS and their retry schedule.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::sms::Lang;
use crate::domain::{HoldId, OrderId};
use crate::store::sms::{NewSms, SmsMessage, SmsOutcome, SmsStatus, SmsStore};
use crate::store::{OutboxClaim, StoreResult, ts};

fn claim(conn: &Connection, claim: &OutboxClaim, limit: i64) -> StoreResult<Vec<SmsMessage>> {
    let mut due: Vec<SmsMessage> = conn
        .prepare_cached(
            "UPDATE sms_messages SET claimed_by = ?1, claimed_until = ?2
             WHERE id IN (SELECT id FROM sms_messages
                          WHERE status = 'pending' AND next_attempt_ms <= ?3
                            AND (claimed_until IS NULL OR claimed_until <= ?4 OR claimed_by = ?1)
                          ORDER BY id LIMIT ?5)
             RETURNING id, reference, phone, body, attempts",
        )
        .map_err(db)?
        .query_map(
            params![
                claim.owner,
                ts(claim.until()),
                claim.now.timestamp_millis(),
                ts(claim.now),
                limit
            ],
            |r| {
                Ok(SmsMessage {
                    id: crate::domain::SmsId(r.get(0)?),
                    reference: r.get(1)?,
                    phone: r.get(2)?,
                    body: r.get(3)?,
                    attempts: r.get(4)?,
                })
            },
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    // RETURNING promises no order.
    due.sort_by_key(|m| m.id);
    Ok(due)
}

fn settle(
    conn: &Connection,
    id: crate::domain::SmsId,
    outcome: &SmsOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (status, next_ms, error, provider_id, done) = match outcome {
        SmsOutcome::Sent { provider_id } => (
            SmsStatus::Sent,
            None,
            None,
            Some(provider_id),
            Some(ts(now)),
        ),
        SmsOutcome::Retry { at, error } => (
            SmsStatus::Pending,
            Some(at.timestamp_millis()),
            Some(error),
            None,
            None,
        ),
        SmsOutcome::Failed { error } => (SmsStatus::Failed, None, Some(error), None, Some(ts(now))),
    };
    conn.prepare_cached(
        "UPDATE sms_messages
         SET status = ?2, attempts = attempts + 1,
             next_attempt_ms = COALESCE(?3, next_attempt_ms),
             last_error = COALESCE(?4, last_error), provider_id = ?5, done_at = ?6,
             claimed_by = NULL, claimed_until = NULL
         WHERE id = ?1",
    )
    .map_err(db)?
    .execute(params![
        id.get(),
        status.as_str(),
        next_ms,
        error,
        provider_id,
        done
    ])
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl SmsStore for SqliteStore {
    async fn sms_enqueue(&self, sms: &NewSms, now: DateTime<Utc>) -> StoreResult<bool> {
        let sms = sms.clone();
        self.engine
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO sms_messages (reference, event_id, phone, body, next_attempt_ms, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (reference) DO NOTHING",
                    )
                    .map_err(db)?
                    .execute(params![
                        sms.reference,
                        sms.event_id.get(),
                        sms.phone,
                        sms.body,
                        now.timestamp_millis(),
                        ts(now)
                    ])
                    .map_err(db)?;
                Ok(n == 1)
            })
            .await
    }

    async fn sms_claim(&self, claim_: &OutboxClaim, limit: i64) -> StoreResult<Vec<SmsMessage>> {
        let look = claim_.clone();
        // Read first, so an idle sender costs the single writer nothing.
        let any_due: bool = self
            .engine
            .read(move |c| {
                c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM sms_messages
                     WHERE status = 'pending' AND next_attempt_ms <= ?1
                       AND (claimed_until IS NULL OR claimed_until <= ?2 OR claimed_by = ?3))",
                )
                .map_err(db)?
                .query_row(
                    params![look.now.timestamp_millis(), ts(look.now), look.owner],
                    |r| r.get(0),
                )
                .map_err(db)
            })
            .await?;
        if !any_due {
            return Ok(Vec::new());
        }
        let c = claim_.clone();
        self.engine.write(move |conn| claim(conn, &c, limit)).await
    }

    async fn sms_settle_all(
        &self,
        outcomes: &[(crate::domain::SmsId, SmsOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let outcomes = outcomes.to_vec();
        self.engine
            .write(move |c| {
                outcomes
                    .iter()
                    .try_for_each(|(id, outcome)| settle(c, *id, outcome, now))
            })
            .await
    }

    async fn set_sms_language(&self, hold_id: HoldId, lang: Lang) -> StoreResult<()> {
        self.engine
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO sms_languages (hold_id, lang) VALUES (?1, ?2)
                     ON CONFLICT (hold_id) DO UPDATE SET lang = excluded.lang",
                )
                .map_err(db)?
                .execute(params![hold_id.get(), lang.code()])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn sms_language(&self, order_id: OrderId) -> StoreResult<Option<Lang>> {
        let code: Option<String> = self
            .engine
            .read(move |c| {
                c.prepare_cached(
                    "SELECT l.lang FROM sms_languages l JOIN orders o ON o.hold_id = l.hold_id
                     WHERE o.id = ?1",
                )
                .map_err(db)?
                .query_row([order_id.get()], |r| r.get(0))
                .optional()
                .map_err(db)
            })
            .await?;
        Ok(code.as_deref().and_then(Lang::parse))
    }
}
