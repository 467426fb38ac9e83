//! Verifying the audit log's hash chain.

use serde::Serialize;

use crate::domain::audit::{GENESIS, chain_hash};

use super::{App, AppResult};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditCheck {
    pub entries: usize,
    /// The id of the first entry whose link is broken, if any.
    pub first_broken: Option<i64>,
    pub detail: String,
}

impl App {
    pub async fn verify_audit(&self) -> AppResult<AuditCheck> {
        let log = self.store.audit_log().await?;
        let mut prev = GENESIS.to_owned();
        for entry in &log {
            let expected = chain_hash(
                &prev,
                entry.at,
                &entry.kind,
                entry.subject_id,
                &entry.detail,
            );
            if entry.prev_hash != prev || entry.hash != expected {
                return Ok(AuditCheck {
                    entries: log.len(),
                    first_broken: Some(entry.id),
                    detail: format!(
                        "entry {} ({} of subject {}) does not match the chain: altered, removed or reordered",
                        entry.id, entry.kind, entry.subject_id
                    ),
                });
            }
            prev = entry.hash.clone();
        }
        Ok(AuditCheck {
            entries: log.len(),
            first_broken: None,
            detail: format!("{} entries, chain intact", log.len()),
        })
    }
}
