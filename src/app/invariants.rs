//! Checks of DESIGN.md's invariants against the database, for tests and for
//! the rehearsal's verdict:
//! 1. no seat-segment is held or sold twice, and each seat's mask is exactly the
//!    union of the live claims on it;
//! 2. one valid ticket per passenger of a confirmed order, none elsewhere;
//! 3. every settled order agrees, one by one, with the gateway's own record of
//!    its charge (not only in total: two errors could cancel out in a sum). The
//!    card gateway's records are read from the gateway over HTTP, the wallet
//!    provider's from the provider over HTTP, the cash drawer's from our
//!    database: "money taken = confirmed totals − refunds" across all three.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::domain::{Charge, ChargeStatus, OrderStatus, SeatId, SegmentMask, TripId};
use crate::store::{Ledger, MoneyPair, SeatClaim};

use super::{App, AppResult};

#[derive(Debug, Clone, Serialize)]
pub struct InvariantReport {
    pub seats_checked: usize,
    pub live_claims: usize,
    /// Seats where two live claims share a segment (must be empty).
    pub double_taken: Vec<String>,
    /// Seats whose mask differs from the union of their live claims (must be empty).
    pub mask_mismatches: Vec<String>,
    /// Orders (or gateway charges) whose money disagrees with the gateway's
    /// own record (must be empty).
    pub money_mismatches: Vec<String>,
    pub ledger: Ledger,
}

/// The kinds of violation a report can hold, so a test can name the one it planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Violation {
    /// A seat-segment claimed by two live holds.
    DoubleTaken,
    /// A seat's mask is not the union of its live claims.
    MaskMismatch,
    /// Fewer valid tickets than passengers of confirmed orders.
    MissingTickets,
    /// A valid ticket whose order is not confirmed.
    StrayTickets,
    /// Money our orders say we kept differs from what the gateway says it took.
    MoneyMismatch,
}

impl InvariantReport {
    pub fn tickets_match(&self) -> bool {
        self.ledger.valid_tickets == self.ledger.confirmed_passengers
            && self.ledger.stray_tickets == 0
    }

    pub fn money_matches(&self) -> bool {
        self.money_mismatches.is_empty() && self.ledger.orders_net == self.ledger.gateway_net
    }

    /// Every kind of violation found, in a fixed order (empty when all holds).
    pub fn violations(&self) -> Vec<Violation> {
        let l = &self.ledger;
        let valid_of_confirmed = l.valid_tickets - l.stray_tickets;
        [
            (!self.double_taken.is_empty(), Violation::DoubleTaken),
            (!self.mask_mismatches.is_empty(), Violation::MaskMismatch),
            (
                valid_of_confirmed != l.confirmed_passengers,
                Violation::MissingTickets,
            ),
            (l.stray_tickets != 0, Violation::StrayTickets),
            (!self.money_matches(), Violation::MoneyMismatch),
        ]
        .into_iter()
        .filter_map(|(found, v)| found.then_some(v))
        .collect()
    }

    pub fn ok(&self) -> bool {
        self.violations().is_empty()
    }
}

/// What is wrong with one order's money against the gateway's record, if anything.
/// Orders still in the saga (pending, reserved, paid) may have a charge in
/// flight and are left to recovery.
pub fn money_mismatch(pair: &MoneyPair) -> Option<String> {
    let charge = pair.charge.as_ref();
    let kept_by_gateway = charge
        .filter(|c| c.status == ChargeStatus::Succeeded)
        .map(|c| (c.amount, c.refunded));
    let Some(order) = &pair.order else {
        let c = charge?;
        return (c.kept() > 0).then(|| {
            format!(
                "gateway charge {} ({}) kept {} taka but no order claims it",
                c.charge_id,
                c.idempotency_key,
                c.kept()
            )
        });
    };
    let id = order.id;
    match order.status {
        OrderStatus::Pending
        | OrderStatus::Reserved
        | OrderStatus::Paid
        | OrderStatus::AwaitingPayment => None,
        OrderStatus::Confirmed | OrderStatus::Cancelled | OrderStatus::Refunded => {
            let Some((amount, refunded)) = kept_by_gateway else {
                return Some(format!(
                    "order {id}: {} for {} taka but the gateway holds no succeeded charge for it",
                    order.status, order.amount
                ));
            };
            let owed_back = match order.status {
                OrderStatus::Confirmed => 0,
                _ => order.refunded_amount,
            };
            let charge_id = charge.map(|c| c.charge_id.as_str());
            if amount != order.amount {
                Some(format!(
                    "order {id}: {} for {} taka but the gateway charged {amount}",
                    order.status, order.amount
                ))
            } else if refunded != owed_back {
                Some(format!(
                    "order {id}: {} with {owed_back} taka refunded but the gateway refunded {refunded}",
                    order.status
                ))
            } else if order.charge_id.as_deref() != charge_id {
                Some(format!(
                    "order {id}: records charge {:?} but the gateway's charge is {:?}",
                    order.charge_id, charge_id
                ))
            } else {
                None
            }
        }
        OrderStatus::Failed | OrderStatus::Expired => match kept_by_gateway {
            Some((amount, refunded)) if refunded != amount => Some(format!(
                "order {id}: {} but the gateway kept {} of a {amount} taka charge",
                order.status,
                amount - refunded
            )),
            _ => None,
        },
    }
}

impl App {
    /// Completes our orders' pairs (from our cash ledger) with the card
    /// gateway's charges under their keys, and answers with the money the
    /// gateway keeps; the gateway's charges no order claims are pairs of their own.
    async fn with_gateway_charges(
        &self,
        pairs: Vec<MoneyPair>,
        gateway: Vec<Charge>,
    ) -> AppResult<(Vec<MoneyPair>, i64)> {
        let mut by_key: HashMap<String, Charge> = gateway
            .into_iter()
            .map(|c| (c.idempotency_key.clone(), c))
            .collect();
        let mut net = 0;
        let mut out = Vec::with_capacity(pairs.len() + by_key.len());
        for mut p in pairs {
            if let (Some(o), None) = (&p.order, &p.charge) {
                let key = super::booking::charge_key(o.id);
                p.charge = match by_key.remove(&key) {
                    Some(c) => Some(c),
                    // Only these must have a charge; a failed order's charge
                    // landing after the read keeps no money our orders count.
                    None if matches!(
                        o.status,
                        OrderStatus::Confirmed | OrderStatus::Cancelled | OrderStatus::Refunded
                    ) =>
                    {
                        match self.gateway.lookup(&key).await? {
                            Some(c) => Some(c),
                            None => self.wallet.lookup(&key).await?,
                        }
                    }
                    None => None,
                };
                net += p.charge.as_ref().map_or(0, Charge::kept);
            }
            out.push(p);
        }
        let mut unclaimed: Vec<Charge> = by_key.into_values().collect();
        unclaimed.sort_by(|a, b| a.idempotency_key.cmp(&b.idempotency_key));
        for c in unclaimed {
            net += c.kept();
            out.push(MoneyPair {
                order: None,
                charge: Some(c),
            });
        }
        Ok((out, net))
    }

    /// Checks the inventory of one trip (all seats), or of every trip with holds,
    /// and the tickets and money of every order.
    pub async fn check_invariants(&self, trip_id: Option<TripId>) -> AppResult<InvariantReport> {
        let claims = self.store.seat_claims(trip_id).await?;
        let mut by_seat: BTreeMap<SeatId, (SegmentMask, Vec<&SeatClaim>)> = BTreeMap::new();
        for c in &claims {
            let entry = by_seat.entry(c.seat_id).or_insert((c.seat_taken, vec![]));
            // A claim still holds its segments while its hold keeps its seats.
            if c.hold_status.keeps_seats(c.order_status) {
                entry.1.push(c);
            }
        }
        // Seats nobody claims must be entirely free.
        let trips: BTreeSet<TripId> = match trip_id {
            Some(t) => [t].into(),
            None => BTreeSet::new(),
        };
        for t in trips {
            for seat in self.store.seats(t).await? {
                by_seat.entry(seat.id).or_insert((seat.taken, vec![]));
            }
        }
        // The gateway's ledger first: an order is made before its charge, so
        // every charge read here has its order in what we read next. Orders
        // settled after this read are looked up one by one.
        let mut gateway = self.gateway.charges().await?;
        let wallet = self.wallet.charges().await?;
        let wallet_net: i64 = wallet.iter().map(Charge::kept).sum();
        gateway.extend(wallet);
        let mut ledger = self.store.ledger().await?;
        let cash_net = ledger.gateway_net;
        let pairs = self.store.money_pairs().await?;
        let (pairs, gateway_net) = self.with_gateway_charges(pairs, gateway).await?;
        ledger.gateway_net += gateway_net;
        ledger.cash_net = cash_net;
        ledger.wallet_net = wallet_net;
        ledger.card_net = ledger.gateway_net - cash_net - wallet_net;
        let money_mismatches = pairs.iter().filter_map(money_mismatch).collect();
        let mut report = InvariantReport {
            seats_checked: by_seat.len(),
            live_claims: by_seat.values().map(|(_, l)| l.len()).sum(),
            double_taken: vec![],
            mask_mismatches: vec![],
            money_mismatches,
            ledger,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Charge;
    use crate::domain::OrderId;
    use crate::store::OrderMoney;

    fn order(status: OrderStatus, refunded: i64) -> OrderMoney {
        OrderMoney {
            id: OrderId(7),
            status,
            amount: 450,
            refunded_amount: refunded,
            charge_id: Some("ch_1".into()),
        }
    }

    fn charge(status: ChargeStatus, amount: i64, refunded: i64) -> Charge {
        Charge {
            idempotency_key: "order-7".into(),
            charge_id: "ch_1".into(),
            token: "tok".into(),
            amount,
            status,
            refunded,
        }
    }

    fn check(order: Option<OrderMoney>, charge: Option<Charge>) -> Option<String> {
        money_mismatch(&MoneyPair { order, charge })
    }

    #[test]
    fn settled_orders_that_agree_with_the_gateway_pass() {
        let ok = [
            check(
                Some(order(OrderStatus::Confirmed, 0)),
                Some(charge(ChargeStatus::Succeeded, 450, 0)),
            ),
            check(
                Some(order(OrderStatus::Refunded, 300)),
                Some(charge(ChargeStatus::Succeeded, 450, 300)),
            ),
            check(
                Some(order(OrderStatus::Cancelled, 0)),
                Some(charge(ChargeStatus::Succeeded, 450, 0)),
            ),
            check(Some(order(OrderStatus::Failed, 0)), None),
            check(
                Some(order(OrderStatus::Failed, 0)),
                Some(charge(ChargeStatus::Declined, 450, 0)),
            ),
            check(
                Some(order(OrderStatus::Expired, 0)),
                Some(charge(ChargeStatus::Succeeded, 450, 450)),
            ),
            // A charge no order claims is fine once it keeps nothing.
            check(None, Some(charge(ChargeStatus::Succeeded, 100, 100))),
            check(None, Some(charge(ChargeStatus::Declined, 100, 0))),
        ];
        assert_eq!(ok, [None, None, None, None, None, None, None, None]);
    }

    #[test]
    fn orders_still_in_the_saga_are_left_to_recovery() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Reserved,
            OrderStatus::Paid,
        ] {
            assert_eq!(check(Some(order(status, 0)), None), None);
            assert_eq!(
                check(
                    Some(order(status, 0)),
                    Some(charge(ChargeStatus::Succeeded, 1, 0))
                ),
                None
            );
        }
    }

    #[test]
    fn a_confirmed_order_must_hold_its_own_charge_id() {
        let mut o = order(OrderStatus::Confirmed, 0);
        o.charge_id = Some("ch_other".into());
        assert_eq!(
            check(Some(o), Some(charge(ChargeStatus::Succeeded, 450, 0))).as_deref(),
            Some(
                r#"order 7: records charge Some("ch_other") but the gateway's charge is Some("ch_1")"#
            )
        );
    }

    #[test]
    fn a_confirmed_order_with_money_given_back_is_a_mismatch() {
        assert_eq!(
            check(
                Some(order(OrderStatus::Confirmed, 0)),
                Some(charge(ChargeStatus::Succeeded, 450, 50))
            )
            .as_deref(),
            Some("order 7: confirmed with 0 taka refunded but the gateway refunded 50")
        );
    }
}
