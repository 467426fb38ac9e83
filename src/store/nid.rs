//! Storage for NID-bound identity: binding a verified NID to an account, and
//! the NIDs flagged for abuse (hitting the seat caps again and again, or
//! reported by a clerk). The caps themselves are counted with the sale, in
//! `LimitStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::{Nid, UserId};

/// A flagged NID as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedNid {
    pub nid: Nid,
    /// Sales refused by its caps since it was last cleared.
    pub limit_hits: i64,
    pub flagged_at: DateTime<Utc>,
    pub reason: String,
    /// The clerk who reported it; `None` when the limit count flagged it.
    pub reported_by: Option<UserId>,
}

#[async_trait]
pub trait NidStore: Send + Sync {
    /// Binds `nid` to an account that has none: `NidTaken` when another
    /// account has it, `Conflict` when this one already has an NID,
    /// `NotFound` when there is no such user.
    async fn set_user_nid(&self, user_id: UserId, nid: &Nid) -> StoreResult<()>;

    /// Counts one sale refused by the NID's caps, in one atomic step; the NID
    /// is flagged when this makes `flag_after` refusals since it was last
    /// cleared. Returns whether the NID is flagged now.
    async fn note_nid_limit_hit(
        &self,
        nid: &Nid,
        flag_after: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Flags `nid` (a clerk's report); flagging a flagged NID keeps its first flag.
    async fn flag_nid(
        &self,
        nid: &Nid,
        reason: &str,
        reported_by: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every flagged NID, oldest flag first.
    async fn flagged_nids(&self) -> StoreResult<Vec<FlaggedNid>>;

    /// Clears a flag (and its count of refusals); false when `nid` was not flagged.
    async fn clear_nid_flag(&self, nid: &Nid, now: DateTime<Utc>) -> StoreResult<bool>;
}

/// The reason recorded when the limit count flags an NID.
pub(crate) fn limit_reason(hits: i64) -> String {
    format!("refused by the seat caps {hits} times")
}
