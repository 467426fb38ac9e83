//! Multi-region admin bodies: what a region's server says about epochs,
//! leases and trip homes, and the takeover of a lost region's trips.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One epoch at the witness and the region holding it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EpochGrant {
    pub epoch: i64,
    pub region: String,
    /// The holding region's lease is alive at the witness.
    pub leased: bool,
}

/// Trips homed in one region at one epoch, in this region's database.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HomeCountView {
    pub region: String,
    pub epoch: i64,
    pub trips: i64,
}

/// `GET /v1/admin/regions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionStatusView {
    /// This server's region; `null` when the deployment is one region.
    pub region: Option<String>,
    /// Epochs this server may write under now (empty when its lease lapsed).
    pub held: Vec<i64>,
    pub grants: Vec<EpochGrant>,
    pub homes: Vec<HomeCountView>,
}

/// `POST /v1/admin/regions/takeover`: this server's region takes over the
/// trips of region `from`, whose lease must have expired at the witness.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeoverRequest {
    /// 1 to 32 letters, digits, `-` or `_`.
    pub from: String,
}

/// The answer to a takeover.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TakeoverView {
    pub from: String,
    pub to: String,
    /// The new epoch the moved trips are homed under.
    pub epoch: i64,
    /// Trips moved in this region's database.
    pub trips: u64,
}
