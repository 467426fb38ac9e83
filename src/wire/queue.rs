//! Waiting-room bodies: what a user is told about their place in a queued sale.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum QueueStatus {
    /// Before opening: in the pre-queue, order decided by lot at opening.
    PreQueue {
        opens_at: String,
        waiting: usize,
        /// When to ask again: a crowd polling flat out would crowd out the sale.
        poll_after_secs: u64,
    },
    Waiting {
        position: usize,
        /// From the admissions of the last few seconds (slots free up only as
        /// shoppers finish, so the configured rate alone would promise too much).
        estimated_wait_secs: u64,
        poll_after_secs: u64,
    },
    Admitted {
        token: String,
        expires_at: String,
    },
}

impl QueueStatus {
    /// When the room asks to be asked again; none once admitted.
    pub fn poll_after_secs(&self) -> Option<u64> {
        match self {
            QueueStatus::PreQueue {
                poll_after_secs, ..
            }
            | QueueStatus::Waiting {
                poll_after_secs, ..
            } => Some(*poll_after_secs),
            QueueStatus::Admitted { .. } => None,
        }
    }
}
