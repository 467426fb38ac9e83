//! What every error of the API looks like: an RFC 9457 problem. The server
//! writes these (from `server/error.rs`, the one place errors become HTTP);
//! clients read them with the fields they know and ignore the rest.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::booking::OrderView;

/// An RFC 9457 problem (`application/problem+json`): its `type`
/// (`/problems/{slug}`), `title`, `status` and `detail`, and the extras that
/// some problems carry. Clients should branch on `type` only.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `/problems/{slug}`; the slugs are listed in the document's `x-problem-types`.
    #[serde(rename = "type", default)]
    #[schema(required = true, example = "/problems/seats-unavailable")]
    pub kind: String,
    #[serde(default)]
    #[schema(required = true)]
    pub title: String,
    /// The HTTP status, repeated.
    #[serde(default)]
    #[schema(required = true)]
    pub status: u16,
    /// What went wrong, for a person to read.
    #[serde(default)]
    #[schema(required = true)]
    pub detail: String,
    /// For `invalid-field`: the field (body, query or path) that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `unknown-station`: what was asked for, and the nearest names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<String>>,
    /// For `seats-unavailable`: the seats someone else took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<String>,
    /// For `hold-limit`: which cap ("account" or "address") and its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// For `payment-failed`: the order whose payment failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Box<OrderView>>,
}

impl Problem {
    /// The path of a problem type: `/problems/{slug}`.
    pub fn type_of(slug: &str) -> String {
        format!("/problems/{slug}")
    }

    /// The problem's short name, e.g. "seats-unavailable".
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}
