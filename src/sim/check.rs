//! The invariants checked after each schedule, once every fault has healed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::model::{Charge, RegionState, SaleState, Time, Told};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two live orders share a seat-segment in one region's database.
    SoldTwice {
        region: char,
        first: u64,
        second: u64,
    },
    /// One region has an order live that the other does not.
    Disagree { order: u64 },
    /// A confirmation given after the other region had the order is gone.
    LostSynchronous { order: u64, at: Time, by: char },
    /// An asynchronous confirmation given without a truly valid lease is gone.
    LostAfterLease { order: u64, at: Time, by: char },
    /// A row still in doubt (or moved but not arrived) after everything healed.
    Unsettled { region: char, order: u64 },
    /// Money taken for an order that is neither ticketed nor refunded.
    ChargeNeither { order: u64 },
    /// An order both ticketed and refunded.
    ChargeBoth { order: u64 },
    /// A live order with no charge behind it.
    LiveUncharged { order: u64 },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::SoldTwice {
                region,
                first,
                second,
            } => write!(
                f,
                "region {region} sold a seat-segment twice (orders {first} and {second})"
            ),
            Violation::Disagree { order } => {
                write!(f, "the regions disagree on whether order {order} stands")
            }
            Violation::LostSynchronous { order, at, by } => write!(
                f,
                "order {order}, confirmed by region {by} at {:.1} s after both regions had it, is gone",
                *at as f64 / 1000.0
            ),
            Violation::LostAfterLease { order, at, by } => write!(
                f,
                "order {order}, confirmed by region {by} at {:.1} s when its lease had run out, is gone",
                *at as f64 / 1000.0
            ),
            Violation::Unsettled { region, order } => write!(
                f,
                "region {region} still has order {order} in doubt after every fault healed"
            ),
            Violation::ChargeNeither { order } => {
                write!(
                    f,
                    "order {order} was charged, and neither ticketed nor refunded"
                )
            }
            Violation::ChargeBoth { order } => {
                write!(f, "order {order} is both ticketed and refunded")
            }
            Violation::LiveUncharged { order } => write!(f, "order {order} stands uncharged"),
        }
    }
}

/// Checks the final state; returns how many checks ran and what failed.
pub fn check(
    regions: &[RegionState; 2],
    told: &BTreeMap<u64, Told>,
    charges: &BTreeMap<u64, Charge>,
) -> (u64, Vec<Violation>) {
    let mut checks = 0;
    let mut violations = Vec::new();
    let name = |i: usize| if i == 0 { 'A' } else { 'B' };

    for (i, region) in regions.iter().enumerate() {
        let live: Vec<_> = region.db.live().collect();
        for (k, a) in live.iter().enumerate() {
            for b in &live[k + 1..] {
                checks += 1;
                if a.intent.overlaps(&b.intent) {
                    violations.push(Violation::SoldTwice {
                        region: name(i),
                        first: a.intent.order,
                        second: b.intent.order,
                    });
                }
            }
        }
        for sale in region.db.sales.values() {
            checks += 1;
            if matches!(sale.state, SaleState::Doubt | SaleState::Moved) {
                violations.push(Violation::Unsettled {
                    region: name(i),
                    order: sale.intent.order,
                });
            }
        }
    }

    let live_in =
        |i: usize| -> BTreeSet<u64> { regions[i].db.live().map(|s| s.intent.order).collect() };
    let (a, b) = (live_in(0), live_in(1));
    for order in a.symmetric_difference(&b) {
        violations.push(Violation::Disagree { order: *order });
    }
    checks += a.len().max(b.len()) as u64;
    let standing: BTreeSet<u64> = a.union(&b).copied().collect();

    for (order, told) in told {
        checks += 1;
        if standing.contains(order) {
            continue;
        }
        let (order, at, by) = (*order, told.at, told.by.name());
        if told.synchronous {
            violations.push(Violation::LostSynchronous { order, at, by });
        } else if !told.lease_truly_valid {
            violations.push(Violation::LostAfterLease { order, at, by });
        }
    }

    for (order, charge) in charges {
        checks += 1;
        match (standing.contains(order), charge.refunded) {
            (true, true) => violations.push(Violation::ChargeBoth { order: *order }),
            (false, false) => violations.push(Violation::ChargeNeither { order: *order }),
            _ => {}
        }
    }
    for order in &standing {
        checks += 1;
        if !charges.contains_key(order) {
            violations.push(Violation::LiveUncharged { order: *order });
        }
    }
    (checks, violations)
}
