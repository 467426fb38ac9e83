//! Postgres: outgoing SMS and their retry schedule.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::get;
use super::{PgStore, db};
use crate::domain::sms::Lang;
use crate::domain::{HoldId, OrderId};
use crate::store::sms::{NewSms, SmsMessage, SmsOutcome, SmsStatus, SmsStore};
use crate::store::{OutboxClaim, StoreResult, ts};

/// Records one attempt on a claimed message and releases its claim.
async fn settle(
    conn: &mut sqlx::PgConnection,
    id: crate::domain::SmsId,
    outcome: &SmsOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (status, next_ms, error, provider_id, done) = match outcome {
        SmsOutcome::Sent { provider_id } => (
            SmsStatus::Sent,
            None,
            None,
            Some(provider_id.as_str()),
            Some(ts(now)),
        ),
        SmsOutcome::Retry { at, error } => (
            SmsStatus::Pending,
            Some(at.timestamp_millis()),
            Some(error.as_str()),
            None,
            None,
        ),
        SmsOutcome::Failed { error } => (
            SmsStatus::Failed,
            None,
            Some(error.as_str()),
            None,
            Some(ts(now)),
        ),
    };
    sqlx::query(
        "UPDATE sms_messages
             SET status = $2, attempts = attempts + 1,
                 next_attempt_ms = COALESCE($3, next_attempt_ms),
                 last_error = COALESCE($4, last_error), provider_id = $5, done_at = $6,
                 claimed_by = NULL, claimed_until = NULL
             WHERE id = $1",
    )
    .bind(id.get())
    .bind(status.as_str())
    .bind(next_ms)
    .bind(error)
    .bind(provider_id)
    .bind(done)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl SmsStore for PgStore {
    async fn sms_enqueue(&self, sms: &NewSms, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO sms_messages (reference, event_id, phone, body, next_attempt_ms, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&sms.reference)
        .bind(sms.event_id.get())
        .bind(&sms.phone)
        .bind(&sms.body)
        .bind(now.timestamp_millis())
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sms_claim(&self, claim: &OutboxClaim, limit: i64) -> StoreResult<Vec<SmsMessage>> {
        // SKIP LOCKED: two processes claiming at once take different messages.
        let rows = sqlx::query(
            "UPDATE sms_messages SET claimed_by = $1, claimed_until = $2
             WHERE id IN (SELECT id FROM sms_messages
                          WHERE status = 'pending' AND next_attempt_ms <= $3
                            AND (claimed_until IS NULL OR claimed_until <= $4 OR claimed_by = $1)
                          ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)
             RETURNING id, reference, phone, body, attempts",
        )
        .bind(&claim.owner)
        .bind(ts(claim.until()))
        .bind(claim.now.timestamp_millis())
        .bind(ts(claim.now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut due = rows
            .iter()
            .map(|r| {
                Ok(SmsMessage {
                    id: crate::domain::SmsId(get(r, "id")?),
                    reference: get(r, "reference")?,
                    phone: get(r, "phone")?,
                    body: get(r, "body")?,
                    attempts: get(r, "attempts")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING promises no order.
        due.sort_by_key(|m| m.id);
        Ok(due)
    }

    async fn sms_settle_all(
        &self,
        outcomes: &[(crate::domain::SmsId, SmsOutcome)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for (id, outcome) in outcomes {
            settle(&mut tx, *id, outcome, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn set_sms_language(&self, hold_id: HoldId, lang: Lang) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sms_languages (hold_id, lang) VALUES ($1, $2)
             ON CONFLICT (hold_id) DO UPDATE SET lang = excluded.lang",
        )
        .bind(hold_id.get())
        .bind(lang.code())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn sms_language(&self, order_id: OrderId) -> StoreResult<Option<Lang>> {
        let code: Option<String> = sqlx::query_scalar(
            "SELECT l.lang FROM sms_languages l JOIN orders o ON o.hold_id = l.hold_id
             WHERE o.id = $1",
        )
        .bind(order_id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(code.as_deref().and_then(Lang::parse))
    }
}
