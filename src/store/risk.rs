//! Storage for fraud-velocity decisions: each step-up or block a rule
//! decided, with its reason, written with its `risk.decided` event (the audit
//! chain and NATS get it through the outbox); blocks stay in force until an
//! admin clears them. The counters the rules judge live outside the database
//! (`app::risk`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::risk::{Outcome, Subject};
use crate::domain::{RiskDecisionId, UserId};

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewRiskDecision {
    pub rule: String,
    /// Step-up or block (allows are not recorded).
    pub outcome: Outcome,
    pub subject: Subject,
    pub reason: String,
    pub user_id: Option<UserId>,
    pub now: DateTime<Utc>,
}

/// A recorded decision, as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskDecision {
    pub id: RiskDecisionId,
    pub rule: String,
    /// "step-up" or "block".
    pub outcome: String,
    pub subject_kind: String,
    pub subject: String,
    pub reason: String,
    pub user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub cleared_by: Option<UserId>,
}

impl RiskDecision {
    /// A block still in force.
    pub fn is_active_block(&self) -> bool {
        self.outcome == Outcome::Block.as_str() && self.cleared_at.is_none()
    }
}

/// How this table keeps time: milliseconds (a clearing restarts counts from its instant).
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[async_trait]
pub trait RiskStore: Send + Sync {
    /// Records a decision and its `risk.decided` event in one transaction.
    async fn record_risk_decision(&self, d: &NewRiskDecision) -> StoreResult<RiskDecisionId>;

    /// The newest `limit` decisions, newest first; only blocks in force when `active_only`.
    async fn risk_decisions(&self, active_only: bool, limit: i64)
    -> StoreResult<Vec<RiskDecision>>;

    /// The blocks on any of `subjects` that are in force or were cleared
    /// after `cleared_since` (a clearing restarts the subject's counts).
    async fn risk_blocks(
        &self,
        subjects: &[Subject],
        cleared_since: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecision>>;

    /// Clears every block in force on `subject`, each with a `risk.cleared`
    /// event, in one transaction; returns the decisions cleared.
    async fn clear_risk(
        &self,
        subject: &Subject,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RiskDecisionId>>;
}
