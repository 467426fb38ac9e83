//! Admin bodies: users and roles, stations, scheduling trips, the audit check,
//! and live control of a queued sale.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{AuditEntryId, Role, TripId};

use super::catalog::StationView;
use super::identity::UserView;

/// `GET /v1/admin/users`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// `PUT /v1/admin/users/{id}/role`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: Role,
}

/// `POST /v1/admin/stations`: adds a station or updates the one with this code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationRequest {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_bn: Option<String>,
    /// Other spellings people type ("Ctg", "Chittagong"), at most 20.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// What adding a station did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StationChange {
    Inserted,
    Updated,
    Unchanged,
}

/// The answer to `POST /v1/admin/stations` (201 when inserted, else 200).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StationSaved {
    pub station: StationView,
    pub result: StationChange,
}

/// `POST /v1/admin/trips`: one day's run of a train.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TripRequest {
    pub train: u32,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// The trip `POST /v1/admin/trips` scheduled (or found already scheduled).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TripScheduled {
    pub trip_id: TripId,
    pub train: u32,
    pub date: String,
}

/// `GET /v1/admin/audit/verify`: whether the audit log's hash chain holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditReport {
    pub entries: usize,
    /// The first entry whose link is broken, if any.
    pub first_broken: Option<AuditEntryId>,
    /// The chain links up but does not reach the anchor (re-hashed or truncated).
    pub anchor_mismatch: bool,
    pub detail: String,
}

/// `POST /v1/admin/queue/{sale}`: a live change to a queued sale; a field left
/// out stays as it is.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueControl {
    #[serde(default)]
    pub paused: Option<bool>,
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    #[serde(default)]
    pub max_active: Option<usize>,
}
