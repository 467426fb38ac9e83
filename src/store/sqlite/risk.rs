//! SQLite side of `RiskStore`: writes are one writer command each, with
//! their outbox events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Row, params, params_from_iter};

use super::outbox::outbox;
use super::{SqliteStore, db};
use crate::domain::risk::Subject;
use crate::domain::{Event, RiskDecisionId, UserId};
use crate::store::StoreResult;
use crate::store::risk::{NewRiskDecision, RiskDecision, RiskStore};
use crate::store::risk::{from_ms, ms};

const COLUMNS: &str = "id, rule, outcome, subject_kind, subject, reason, user_id, created_at, \
                       cleared_at, cleared_by";

fn decision_row(r: &Row<'_>) -> rusqlite::Result<RiskDecision> {
    Ok(RiskDecision {
        id: RiskDecisionId(r.get(0)?),
        rule: r.get(1)?,
        outcome: r.get(2)?,
        subject_kind: r.get(3)?,
        subject: r.get(4)?,
        reason: r.get(5)?,
        user_id: r.get::<_, Option<i64>>(6)?.map(UserId),
        created_at: from_ms(r.get(7)?),
        cleared_at: r.get::<_, Option<i64>>(8)?.map(from_ms),
        cleared_by: r.get::<_, Option<i64>>(9)?.map(UserId),
    })
}

#[async_trait]
impl RiskStore for SqliteStore {
    async fn record_risk_decision(&self, d: &NewRiskDecision) -> StoreResult<RiskDecisionId> {
        let d = d.clone();
        self.engine
            .write(move |conn| {
                let id: i64 = conn
                    .prepare_cached(
                        "INSERT INTO risk_decisions
                           (rule, outcome, subject_kind, subject, reason, user_id, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                    )
                    .map_err(db)?
                    .query_row(
                        params![
                            d.rule,
                            d.outcome.as_str(),
                            d.subject.kind().as_str(),
                            d.subject.value(),
                            d.reason,
                            d.user_id.map(|u| u.get()),
                            ms(d.now)
                        ],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                let event = Event::RiskDecided {
                    decision_id: RiskDecisionId(id),
                    rule: d.rule.clone(),
                    outcome: d.outcome.as_str().to_owned(),
                    subject_kind: d.subject.kind().as_str().to_owned(),
                };
                outbox(conn, &event, d.now)?;
                Ok(RiskDecisionId(id))
            })
            .await
    }

    async fn risk_decisions(
        &self,
        active_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<RiskDecision>> {
        self.engine
            .read(move |conn| {
                let filter = if active_only {
                    "WHERE outcome = 'block' AND cleared_at IS NULL"
                } else {
                    ""
                };
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM risk_decisions {filter} ORDER BY id DESC LIMIT ?1"
                ))
                .map_err(db)?
                .query_map([limit], decision_row)
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)
            })
            .await
    }

    async fn risk_blocks(
        &self,
        subjects: &[Subject],
        cleared_since: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecision>> {
        if subjects.is_empty() {
            return Ok(vec![]);
        }
        let pairs: Vec<(String, String)> = subjects
            .iter()
            .map(|s| (s.kind().as_str().to_owned(), s.value().to_owned()))
            .collect();
        let since = ms(cleared_since);
        self.engine
            .read(move |conn| {
                let any: Vec<String> = (0..pairs.len())
                    .map(|i| {
                        format!(
                            "(subject_kind = ?{} AND subject = ?{})",
                            2 * i + 2,
                            2 * i + 3
                        )
                    })
                    .collect();
                let mut args: Vec<rusqlite::types::Value> = vec![since.into()];
                for (kind, value) in &pairs {
                    args.push(kind.clone().into());
                    args.push(value.clone().into());
                }
                conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM risk_decisions
                     WHERE outcome = 'block' AND (cleared_at IS NULL OR cleared_at > ?1)
                       AND ({}) ORDER BY id",
                    any.join(" OR ")
                ))
                .map_err(db)?
                .query_map(params_from_iter(args.iter()), decision_row)
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)
            })
            .await
    }

    async fn clear_risk(
        &self,
        subject: &Subject,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecisionId>> {
        let (kind, value) = (subject.kind().as_str(), subject.value().to_owned());
        self.engine
            .write(move |conn| {
                let ids: Vec<i64> = conn
                    .prepare_cached(
                        "UPDATE risk_decisions SET cleared_at = ?3, cleared_by = ?4
                         WHERE outcome = 'block' AND cleared_at IS NULL
                           AND subject_kind = ?1 AND subject = ?2
                         RETURNING id",
                    )
                    .map_err(db)?
                    .query_map(params![kind, value, ms(now), by.map(|u| u.get())], |r| {
                        r.get(0)
                    })
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                let mut ids: Vec<RiskDecisionId> = ids.into_iter().map(RiskDecisionId).collect();
                ids.sort();
                for id in &ids {
                    outbox(conn, &Event::RiskCleared { decision_id: *id }, now)?;
                }
                Ok(ids)
            })
            .await
    }
}
