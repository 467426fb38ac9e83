//! Probe bodies: liveness (`/healthz`) and readiness (`/readyz`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`: the process is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Liveness {
    /// Always "ok".
    pub status: String,
}

/// `GET /readyz`: 200 "ready", or 503 "not ready" with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// "ready" or "not ready".
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
