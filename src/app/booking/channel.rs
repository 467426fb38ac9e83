//! Where a sale comes from (online or a station counter), and so which gates
//! a hold or an order passes: the waiting room, the per-passenger seat limit
//! and the hold caps.
//!
//! Only the choice of gates lives here; the steps that apply them are in
//! `hold` and `order`.

use std::net::IpAddr;

use crate::app::queue::GatePass;
use crate::app::{App, AppConfig, AppResult};
use crate::domain::{NidCaps, SeatCap, TripId, UserId};
use crate::store::{CounterBuyer, HoldCaps};

/// Where a sale comes from, and so which gates it passes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Channel<'a> {
    /// A passenger online: the waiting room (for queued sales), the seat caps
    /// of the account's NID (an account without one cannot buy online), and
    /// the caps on unexpired holds per account and per address.
    Online {
        admission: Option<&'a str>,
        client: Option<IpAddr>,
    },
    /// A clerk at a station counter: no waiting room and no hold caps; the seat
    /// caps are the buyer's NID's (`buyer`), checked when the order is placed.
    Counter { buyer: Option<&'a CounterBuyer> },
}

impl Channel<'_> {
    pub(super) async fn pass_gate(
        self,
        app: &App,
        trip_id: TripId,
        user_id: UserId,
    ) -> AppResult<GatePass> {
        match self {
            Channel::Online { admission, .. } => app.queue.gate(trip_id, user_id, admission).await,
            Channel::Counter { .. } => Ok(GatePass::default()),
        }
    }

    /// The cap checked with the hold: the passenger's own online; none for a
    /// clerk, who holds for many passengers (each phone's cap is checked when
    /// its order is placed).
    pub(super) fn seat_cap(self) -> Option<SeatCap> {
        match self {
            Channel::Online { .. } => Some(SeatCap::PER_PASSENGER),
            Channel::Counter { .. } => None,
        }
    }

    pub(super) fn hold_caps(self, config: &AppConfig) -> HoldCaps {
        match self {
            Channel::Online { client, .. } => HoldCaps {
                client_addr: client.map(|a| a.to_string()),
                per_account: config.max_holds_per_account,
                per_address: config.max_holds_per_address,
                // Online, the account's NID is the passenger: its seats online
                // and at counters count together.
                nid: Some(NidCaps::with_day_cap(config.seats_per_nid_per_day)),
            },
            Channel::Counter { .. } => HoldCaps::default(),
        }
    }
}
