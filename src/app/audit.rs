//! Verifying the audit log's hash chain, optionally against an anchor.
//!
//! The chain alone finds an edited, deleted or reordered entry. It cannot find
//! two things an attacker with write access to the database can do: rewrite an
//! entry and re-hash every entry after it, or cut entries off the end. Both
//! need a record kept outside the database: an *anchor* (the number of entries
//! and the head hash, from `ticketctl audit head`, written down or sent
//! elsewhere). Verifying against it finds both: a re-hashed log no longer has
//! the anchored hash at the anchored position, a truncated one is shorter.

use serde::Serialize;

use crate::domain::audit::{GENESIS, chain_hash};

use super::{App, AppError, AppResult};
use crate::domain::AuditEntryId;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditCheck {
    pub entries: usize,
    /// The id of the first entry whose link is broken, if any.
    pub first_broken: Option<AuditEntryId>,
    /// The chain links up, but does not reach the anchor: re-hashed or truncated.
    pub anchor_mismatch: bool,
    pub detail: String,
}

impl AuditCheck {
    pub fn intact(&self) -> bool {
        self.first_broken.is_none() && !self.anchor_mismatch
    }
}

/// The check as the API answers it.
impl From<AuditCheck> for crate::wire::admin::AuditReport {
    fn from(c: AuditCheck) -> Self {
        crate::wire::admin::AuditReport {
            entries: c.entries,
            first_broken: c.first_broken,
            anchor_mismatch: c.anchor_mismatch,
            detail: c.detail,
        }
    }
}

/// The log's length and head hash at one moment, kept outside the database.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditAnchor {
    pub entries: usize,
    pub head: String,
}

impl AuditAnchor {
    /// Parses `ENTRIES:HEAD` as `ticketctl audit head` prints it.
    pub fn parse(text: &str) -> AppResult<AuditAnchor> {
        let bad = || {
            AppError::Invalid(crate::domain::ParseError::new(
                "anchor",
                "expected ENTRIES:HEAD, as `ticketctl audit head` prints it",
            ))
        };
        let (n, head) = text.trim().split_once(':').ok_or_else(bad)?;
        let entries = n.parse().map_err(|_| bad())?;
        if head.len() != 64 || !head.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(AuditAnchor {
            entries,
            head: head.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for AuditAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.entries, self.head)
    }
}

impl App {
    pub async fn verify_audit(&self) -> AppResult<AuditCheck> {
        self.verify_audit_against(None).await
    }

    /// The anchor for the log as it stands now.
    pub async fn audit_head(&self) -> AppResult<AuditAnchor> {
        let log = self.store.audit_log().await?;
        Ok(AuditAnchor {
            entries: log.len(),
            head: log.last().map_or(GENESIS.to_owned(), |e| e.hash.clone()),
        })
    }

    /// Checks every link, then (given an anchor) that the log still holds the
    /// anchored hash at the anchored position.
    pub async fn verify_audit_against(
        &self,
        anchor: Option<&AuditAnchor>,
    ) -> AppResult<AuditCheck> {
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
                    anchor_mismatch: false,
                    detail: format!(
                        "entry {} ({} of subject {}) does not match the chain: altered, removed or reordered",
                        entry.id, entry.kind, entry.subject_id
                    ),
                });
            }
            prev = entry.hash.clone();
        }
        if let Some(a) = anchor {
            let at_anchor = match a.entries {
                0 => Some(GENESIS),
                n => log.get(n - 1).map(|e| e.hash.as_str()),
            };
            let problem = match at_anchor {
                None => Some(format!(
                    "the log has {} entries but the anchor recorded {}: entries were cut off the end",
                    log.len(),
                    a.entries
                )),
                Some(h) if h != a.head => Some(format!(
                    "entry {} no longer has the anchored hash: the log was rewritten and re-hashed",
                    a.entries
                )),
                Some(_) => None,
            };
            if let Some(detail) = problem {
                return Ok(AuditCheck {
                    entries: log.len(),
                    first_broken: None,
                    anchor_mismatch: true,
                    detail,
                });
            }
        }
        Ok(AuditCheck {
            entries: log.len(),
            first_broken: None,
            anchor_mismatch: false,
            detail: match anchor {
                Some(a) => format!(
                    "{} entries, chain intact and matching the anchor at entry {}",
                    log.len(),
                    a.entries
                ),
                None => format!("{} entries, chain intact", log.len()),
            },
        })
    }
}
