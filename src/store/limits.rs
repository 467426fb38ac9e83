//! Limits that must be checked and recorded in one step: a hold that counts
//! the caller's other holds and the seats of the account's NID, a counter sale
//! that counts the seats the buyer's NID already has (online and at counters). Each method checks and writes in one transaction
//! (SQLite: one writer command; Postgres: one function call that locks the
//! limit's key first), so requests arriving together cannot all pass a check
//! that only one of them should.

use async_trait::async_trait;

use super::{NewHold, NewOrder, StoreResult};
use crate::domain::{Hold, Nid, NidCaps, Order, UserId};

/// Which cap refused a hold (also the name clients see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldCap {
    /// Unexpired holds (not yet ordered) of one account.
    PerAccount,
    /// Unexpired holds made from one client address.
    PerAddress,
}

impl HoldCap {
    pub fn name(self) -> &'static str {
        match self {
            HoldCap::PerAccount => "active_holds_per_account",
            HoldCap::PerAddress => "active_holds_per_address",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<HoldCap> {
        [HoldCap::PerAccount, HoldCap::PerAddress]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// The caps a hold must pass; `None` turns a cap off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldCaps {
    /// Where the request came from (an IP address), recorded with the hold.
    pub client_addr: Option<String>,
    /// Unexpired holds one account may have at once.
    pub per_account: Option<i64>,
    /// Unexpired holds one client address may have at once (needs `client_addr`).
    pub per_address: Option<i64>,
    /// Count the hold against the account's NID with these caps: refused with
    /// `NidRequired` when the account has no NID, `NidFlagged`, or
    /// `NidCapReached`; the hold records the NID. `None`: no NID rule.
    pub nid: Option<NidCaps>,
}

/// Who buys a counter sale, and the caps on their NID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterBuyer {
    pub clerk_id: UserId,
    /// The passenger's phone, normalised (`+8801…`).
    pub phone: String,
    /// The buyer's NID: their seats online and at counters count together.
    pub nid: Nid,
    pub caps: NidCaps,
}

#[async_trait]
pub trait LimitStore: Send + Sync {
    /// `create_hold`, refused with `StoreError::HoldCapReached` (nothing written)
    /// when the account or the address already has its cap of unexpired holds.
    async fn create_hold_capped(&self, hold: &NewHold, caps: &HoldCaps) -> StoreResult<Hold>;

    /// `create_order` for a counter sale: refused (`NidFlagged` or
    /// `NidCapReached`, nothing written) when the buyer's NID is flagged or
    /// would own more than its caps allow; otherwise the order, the sale's
    /// buyer (phone and NID) and the hold's NID are recorded together.
    async fn create_counter_order(
        &self,
        order: &NewOrder,
        buyer: &CounterBuyer,
    ) -> StoreResult<Order>;
}
