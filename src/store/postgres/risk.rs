//! Postgres side of `RiskStore`: a decision and its event in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;

use super::rows::get;
use super::{PgStore, db};
use crate::domain::risk::Subject;
use crate::domain::{Event, RiskDecisionId, UserId};
use crate::store::StoreResult;
use crate::store::risk::{NewRiskDecision, RiskDecision, RiskStore};
use crate::store::risk::{from_ms, ms};

const COLUMNS: &str = "id, rule, outcome, subject_kind, subject, reason, user_id, created_at, \
                       cleared_at, cleared_by";

fn decision_row(r: &PgRow) -> StoreResult<RiskDecision> {
    Ok(RiskDecision {
        id: RiskDecisionId(get(r, "id")?),
        rule: get(r, "rule")?,
        outcome: get(r, "outcome")?,
        subject_kind: get(r, "subject_kind")?,
        subject: get(r, "subject")?,
        reason: get(r, "reason")?,
        user_id: get::<Option<i64>>(r, "user_id")?.map(UserId),
        created_at: from_ms(get(r, "created_at")?),
        cleared_at: get::<Option<i64>>(r, "cleared_at")?.map(from_ms),
        cleared_by: get::<Option<i64>>(r, "cleared_by")?.map(UserId),
    })
}

pub(super) async fn outbox(
    tx: &mut sqlx::PgConnection,
    event: &Event,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, subject_id, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(event.kind())
    .bind(event.subject().get())
    .bind(event.payload())
    .bind(crate::store::ts(now))
    .execute(tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl RiskStore for PgStore {
    async fn record_risk_decision(&self, d: &NewRiskDecision) -> StoreResult<RiskDecisionId> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO risk_decisions
               (rule, outcome, subject_kind, subject, reason, user_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&d.rule)
        .bind(d.outcome.as_str())
        .bind(d.subject.kind().as_str())
        .bind(d.subject.value())
        .bind(&d.reason)
        .bind(d.user_id.map(|u| u.get()))
        .bind(ms(d.now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let event = Event::RiskDecided {
            decision_id: RiskDecisionId(id),
            rule: d.rule.clone(),
            outcome: d.outcome.as_str().to_owned(),
            subject_kind: d.subject.kind().as_str().to_owned(),
        };
        outbox(&mut tx, &event, d.now).await?;
        tx.commit().await.map_err(db)?;
        Ok(RiskDecisionId(id))
    }

    async fn risk_decisions(
        &self,
        active_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<RiskDecision>> {
        let filter = if active_only {
            "WHERE outcome = 'block' AND cleared_at IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_decisions {filter} ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(decision_row).collect()
    }

    async fn risk_blocks(
        &self,
        subjects: &[Subject],
        cleared_since: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecision>> {
        if subjects.is_empty() {
            return Ok(vec![]);
        }
        let kinds: Vec<&str> = subjects.iter().map(|s| s.kind().as_str()).collect();
        let values: Vec<&str> = subjects.iter().map(|s| s.value()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_decisions
             WHERE outcome = 'block' AND (cleared_at IS NULL OR cleared_at > $3)
               AND (subject_kind, subject) IN (SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[]))
             ORDER BY id"
        )))
        .bind(&kinds)
        .bind(&values)
        .bind(ms(cleared_since))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(decision_row).collect()
    }

    async fn clear_risk(
        &self,
        subject: &Subject,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecisionId>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE risk_decisions SET cleared_at = $3, cleared_by = $4
             WHERE outcome = 'block' AND cleared_at IS NULL AND subject_kind = $1 AND subject = $2
             RETURNING id",
        )
        .bind(subject.kind().as_str())
        .bind(subject.value())
        .bind(ms(now))
        .bind(by.map(|u| u.get()))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        ids.sort_unstable();
        let ids: Vec<RiskDecisionId> = ids.into_iter().map(RiskDecisionId).collect();
        for id in &ids {
            outbox(&mut tx, &Event::RiskCleared { decision_id: *id }, now).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(ids)
    }
}
