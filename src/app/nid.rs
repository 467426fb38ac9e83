//! NID-bound identity: an account's national ID is verified at the NID
//! registry (an outside party, behind `NidRegistry`) before it is bound to the
//! account, one account per NID; the seat caps count per NID across online and
//! counter sales (`domain::seat_cap`, applied by the stores with the sale);
//! NIDs that hit the caps again and again, or that a clerk reports, are
//! flagged and cannot buy until an admin clears them.
//!
//! An NID is personal data: it is stored and shown to staff, never logged
//! (`Nid`'s `Debug` hides it) and never put in an error message.

use async_trait::async_trait;

use crate::domain::{BirthDate, Nid, NidCaps, ParseError, ServiceDate, UserId};
use crate::store::{FlaggedNid, StoreError};

use super::{App, AppError, AppResult};

/// What is sent to the registry: the NID, the date of birth, and the name when
/// the caller has one (the registry then checks it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NidClaim {
    pub nid: Nid,
    pub date_of_birth: BirthDate,
    pub name: Option<String>,
}

/// The registry's answer to a claim it could judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NidVerdict {
    Verified,
    /// No citizen has this NID.
    NotFound,
    /// The NID exists with another date of birth.
    DobMismatch,
    /// The NID and date of birth match, the name does not.
    NameMismatch,
}

impl NidVerdict {
    /// The registry's word for it (`reason` in its answer).
    pub fn reason(self) -> &'static str {
        match self {
            NidVerdict::Verified => "verified",
            NidVerdict::NotFound => "not_found",
            NidVerdict::DobMismatch => "dob_mismatch",
            NidVerdict::NameMismatch => "name_mismatch",
        }
    }

    pub fn from_reason(reason: &str) -> Option<NidVerdict> {
        [
            NidVerdict::Verified,
            NidVerdict::NotFound,
            NidVerdict::DobMismatch,
            NidVerdict::NameMismatch,
        ]
        .into_iter()
        .find(|v| v.reason() == reason)
    }
}

/// The registry could not judge the claim: down, slow, or refusing our key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the NID registry is unavailable: {0}")]
pub struct RegistryUnavailable(pub String);

/// The national ID registry (the Election Commission's verification service
/// in Bangladesh), reached over HTTP by `adapters::nid_http`.
#[async_trait]
pub trait NidRegistry: Send + Sync {
    async fn verify(&self, claim: &NidClaim) -> Result<NidVerdict, RegistryUnavailable>;
}

/// The registry of an app nothing was plugged into: it answers no one, so an
/// NID can be bound only where a registry is configured.
pub(crate) struct NoRegistry;

#[async_trait]
impl NidRegistry for NoRegistry {
    async fn verify(&self, _: &NidClaim) -> Result<NidVerdict, RegistryUnavailable> {
        Err(RegistryUnavailable("no NID registry is configured".into()))
    }
}

/// Why a sale or a registration was refused over an NID; each is its own
/// problem type (server/error.rs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NidRefusal {
    #[error("this NID is already bound to another account")]
    Taken,
    #[error("buying online needs a verified NID on the account: add one with POST /v1/me/nid")]
    Required,
    #[error("this NID is flagged for review and cannot buy until an admin clears it")]
    Flagged,
    #[error("{0}")]
    Limit(crate::domain::NidCapReached),
    /// The registry refused the claim (`reason` as it said).
    #[error("the NID registry did not verify this NID and date of birth ({})", .0.reason())]
    NotVerified(NidVerdict),
}

/// Seconds a client waits before asking again when the registry is down.
const REGISTRY_RETRY_SECS: u64 = 5;

/// The longest reason a clerk may give when reporting an NID.
const MAX_REASON_CHARS: usize = 200;

impl App {
    /// The NID caps every sale passes (the rule's four per trip, and the
    /// configured cap per travel day).
    pub(crate) fn nid_caps(&self) -> NidCaps {
        NidCaps::with_day_cap(self.config.seats_per_nid_per_day)
    }

    /// Parses and verifies an NID claim at the registry: `Invalid` for a
    /// malformed NID or date, `NotVerified` when the registry says no,
    /// `Unavailable` (503, retry) when it cannot be asked.
    pub(crate) async fn verify_nid(
        &self,
        nid: &str,
        date_of_birth: &str,
        name: Option<&str>,
    ) -> AppResult<Nid> {
        let nid = Nid::parse_field(nid, "nid")?;
        let today = ServiceDate::today_at(self.now()).naive();
        let date_of_birth = BirthDate::parse(date_of_birth, today)?;
        let claim = NidClaim {
            nid,
            date_of_birth,
            name: name.map(str::to_owned),
        };
        match self.nid_registry.verify(&claim).await {
            Ok(NidVerdict::Verified) => Ok(claim.nid),
            Ok(refused) => Err(NidRefusal::NotVerified(refused).into()),
            Err(e) => {
                tracing::warn!(error = %e, "NID registry unavailable");
                Err(AppError::Unavailable {
                    detail: "the NID registry cannot be reached just now; nothing was \
                             saved, please try again"
                        .into(),
                    retry_after_secs: REGISTRY_RETRY_SECS,
                })
            }
        }
    }

    /// Binds a verified NID to an account that has none (`POST /v1/me/nid`).
    pub async fn add_nid(&self, user_id: UserId, nid: &str, date_of_birth: &str) -> AppResult<()> {
        let user = self.user(user_id).await?;
        if user.nid.is_some() {
            return Err(AppError::Conflict("this account already has an NID".into()));
        }
        let nid = self
            .verify_nid(nid, date_of_birth, Some(&user.name))
            .await?;
        Ok(self.store.set_user_nid(user_id, &nid).await?)
    }

    /// A store refusal over an NID, as the app reports it; a cap's refusal is
    /// counted against the NID (which may flag it). `nid` is the NID that was
    /// refused, when the caller knows it (a counter sale's buyer); otherwise
    /// the account's NID is looked up.
    pub(crate) async fn nid_refused(
        &self,
        e: StoreError,
        nid: Option<&Nid>,
        user_id: UserId,
    ) -> AppError {
        if let StoreError::NidCapReached(_) = e {
            let nid = match nid {
                Some(n) => Some(n.clone()),
                None => self
                    .store
                    .user(user_id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|u| u.nid),
            };
            if let Some(nid) = nid {
                let flag_after = self.config.nid_flag_after;
                if let Err(err) = self
                    .store
                    .note_nid_limit_hit(&nid, flag_after, self.now())
                    .await
                {
                    tracing::warn!(error = %err, "could not count an NID's refusal");
                }
            }
        }
        e.into()
    }

    /// A clerk reports an NID (a buyer trying to get round the caps): it is
    /// flagged until an admin clears it.
    pub async fn report_nid(&self, clerk_id: UserId, nid: &str, reason: &str) -> AppResult<()> {
        let nid = Nid::parse_field(nid, "nid")?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ParseError::new(
                "reason",
                format!("say why in 1 to {MAX_REASON_CHARS} characters"),
            )
            .into());
        }
        Ok(self
            .store
            .flag_nid(&nid, reason, clerk_id, self.now())
            .await?)
    }

    pub async fn flagged_nids(&self) -> AppResult<Vec<FlaggedNid>> {
        Ok(self.store.flagged_nids().await?)
    }

    /// Clears a flag; `NotFound` when the NID is not flagged.
    pub async fn clear_nid(&self, nid: &str) -> AppResult<()> {
        let nid = Nid::parse_field(nid, "nid")?;
        if self.store.clear_nid_flag(&nid, self.now()).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("this NID is not flagged".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_through_the_registry_words() {
        for v in [
            NidVerdict::Verified,
            NidVerdict::NotFound,
            NidVerdict::DobMismatch,
            NidVerdict::NameMismatch,
        ] {
            assert_eq!(NidVerdict::from_reason(v.reason()), Some(v));
        }
        assert_eq!(NidVerdict::from_reason("maybe"), None);
    }
}
