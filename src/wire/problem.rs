//! What every error of the API looks like: an RFC 9457 problem. The server
//! writes these (from `server/error.rs`, the one place errors become HTTP);
//! clients read them with the fields they know and ignore the rest.

use serde::{Deserialize, Serialize};

use super::booking::OrderView;

/// An RFC 9457 problem as a client reads it: its `type`, `status` and
/// `detail`, and the extras that some problems carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub detail: String,
    /// For `seats-unavailable`: the seats someone else took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<String>,
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
