//! NID bodies: adding an NID to an account, the admin's flagged NIDs, a
//! clerk's report, and the NID registry's verification API (spoken by the
//! mock registry in `outside::nid` and the client in `adapters::nid_http`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::UserId;

/// `POST /v1/me/nid`: the account's national ID, verified at the registry.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NidRequest {
    /// 10, 13 or 17 digits.
    pub nid: String,
    /// `YYYY-MM-DD`, as the registry records it.
    pub date_of_birth: String,
}

impl std::fmt::Debug for NidRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NidRequest(<redacted>)")
    }
}

/// `POST /v1/admin/nids/clear`: the NID is in the body, not the path, so it
/// never reaches an access log.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NidClearRequest {
    pub nid: String,
}

impl std::fmt::Debug for NidClearRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NidClearRequest(<redacted>)")
    }
}

/// `POST /v1/counter/nids/report`: a clerk flags a buyer's NID for review.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NidReportRequest {
    pub nid: String,
    /// Why, in 1 to 200 characters.
    pub reason: String,
}

impl std::fmt::Debug for NidReportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NidReportRequest")
            .field("nid", &"<redacted>")
            .field("reason", &self.reason)
            .finish()
    }
}

/// One flagged NID, for admins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlaggedNidView {
    pub nid: String,
    /// Sales refused by its seat caps since it was last cleared.
    pub limit_hits: i64,
    pub flagged_at: String,
    pub reason: String,
    /// The clerk who reported it; absent when the refusals flagged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<UserId>,
}

/// `GET /v1/admin/nids/flagged`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlaggedNids {
    pub nids: Vec<FlaggedNidView>,
}

/// The NID registry's `POST /v1/verify` (header `X-Api-Key`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub nid: String,
    /// `YYYY-MM-DD`.
    pub dob: String,
    /// When given, the registry checks it too (case and spacing aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyRequest(<redacted>)")
    }
}

/// The registry's answer to a claim it could judge: `reason` is `verified`,
/// `not_found`, `dob_mismatch` or `name_mismatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub verified: bool,
    pub reason: String,
}
