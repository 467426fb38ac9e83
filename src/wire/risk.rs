//! Fraud-velocity bodies: the admin's list of decisions and clearing a
//! subject, and the step-up SMS a passenger asks for.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{RiskDecisionId, UserId};

/// One step-up or block a velocity rule decided.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RiskDecisionView {
    pub id: RiskDecisionId,
    /// The rule's name (`holds_per_account`, `cards_per_account`, …).
    pub rule: String,
    /// `step-up` or `block`.
    pub outcome: String,
    /// `nid`, `phone`, `account`, `card`, `wallet` or `address`.
    pub subject_kind: String,
    /// The subject's value, as `POST /v1/admin/risk/clear` takes it.
    pub subject: String,
    pub reason: String,
    /// The account whose request tripped the rule.
    pub user_id: Option<UserId>,
    /// Local Dhaka time (RFC 3339).
    pub created_at: String,
    pub cleared_at: Option<String>,
    pub cleared_by: Option<UserId>,
    /// A block still in force.
    pub active: bool,
}

/// `GET /v1/admin/risk`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RiskDecisionList {
    /// Newest first, at most 500.
    pub decisions: Vec<RiskDecisionView>,
}

/// `GET /v1/admin/risk?active=true`: only blocks in force.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RiskListQuery {
    /// Only blocks still in force.
    pub active: Option<bool>,
}

/// `POST /v1/admin/risk/clear`: a subject as the list names it. The value is
/// in the body, never the path, so an NID stays out of access logs.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskClearRequest {
    /// `nid`, `phone`, `account`, `card`, `wallet` or `address`.
    pub subject: String,
    /// 1 to 64 visible characters.
    pub value: String,
}

impl std::fmt::Debug for RiskClearRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskClearRequest")
            .field("subject", &self.subject)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// What clearing did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RiskCleared {
    /// The blocks cleared.
    pub cleared: Vec<RiskDecisionId>,
}

/// `POST /v1/me/step-up/sms`: where the code went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpSent {
    /// The account's phone, masked.
    pub sent_to: String,
    /// Seconds the code is good for.
    pub expires_in: i64,
}
