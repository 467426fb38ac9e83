//! Checks of DESIGN.md's invariants against the database, for tests and for
//! the rehearsal's verdict:
//! 1. no seat-segment is held or sold twice, and each seat's mask is exactly the
//!    union of the live claims on it;
//! 2. one valid ticket per passenger of a confirmed order, none elsewhere, and
//!    the money the gateway kept equals what the orders say we kept.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::domain::SegmentMask;
use crate::store::{Ledger, SeatClaim};

use super::{App, AppResult};

#[derive(Debug, Clone, Serialize)]
pub struct InvariantReport {
    pub seats_checked: usize,
    pub live_claims: usize,
    /// Seats where two live claims share a segment (must be empty).
    pub double_taken: Vec<String>,
    /// Seats whose mask differs from the union of their live claims (must be empty).
    pub mask_mismatches: Vec<String>,
    pub ledger: Ledger,
}

impl InvariantReport {
    pub fn tickets_match(&self) -> bool {
        self.ledger.valid_tickets == self.ledger.confirmed_passengers
            && self.ledger.stray_tickets == 0
    }

    pub fn money_matches(&self) -> bool {
        self.ledger.orders_net == self.ledger.gateway_net
    }

    pub fn ok(&self) -> bool {
        self.double_taken.is_empty()
            && self.mask_mismatches.is_empty()
            && self.tickets_match()
            && self.money_matches()
    }
}

/// A claim still holds its segments: an active hold (expired or not, until swept)
/// or the hold of an order that owns its seats.
fn is_live(c: &SeatClaim) -> bool {
    c.hold_status == "active"
        || (c.hold_status == "ordered" && c.order_status.is_some_and(|s| s.holds_seats()))
}

impl App {
    /// Checks the inventory of one trip (all seats), or of every trip with holds.
    pub async fn check_invariants(&self, trip_id: Option<i64>) -> AppResult<InvariantReport> {
        let claims = self.store.seat_claims(trip_id).await?;
        let mut by_seat: BTreeMap<i64, (SegmentMask, Vec<&SeatClaim>)> = BTreeMap::new();
        for c in &claims {
            let entry = by_seat.entry(c.seat_id).or_insert((c.seat_taken, vec![]));
            if is_live(c) {
                entry.1.push(c);
            }
        }
        // Seats nobody claims must be entirely free.
        let trips: BTreeSet<i64> = match trip_id {
            Some(t) => [t].into(),
            None => BTreeSet::new(),
        };
        for t in trips {
            for seat in self.store.seats(t).await? {
                by_seat.entry(seat.id).or_insert((seat.taken, vec![]));
            }
        }
        let mut report = InvariantReport {
            seats_checked: by_seat.len(),
            live_claims: by_seat.values().map(|(_, l)| l.len()).sum(),
            double_taken: vec![],
            mask_mismatches: vec![],
            ledger: self.store.ledger().await?,
        };
        for (seat, (taken, live)) in &by_seat {
            let mut union = SegmentMask::EMPTY;
            for c in live {
                if union.overlaps(c.hold_mask) {
                    report.double_taken.push(format!(
                        "seat {seat}: hold {} overlaps another live claim",
                        c.hold_id
                    ));
                }
                union = union.union(c.hold_mask);
            }
            if union != *taken {
                report.mask_mismatches.push(format!(
                    "seat {seat}: mask {:#b} but live claims {:#b}",
                    taken.bits(),
                    union.bits()
                ));
            }
        }
        Ok(report)
    }
}
