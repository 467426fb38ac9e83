//! The order state machine, in one place:
//!
//! ```text
//! pending ──reserve──▶ reserved ──charge ok──▶ paid ──confirm──▶ confirmed ──cancel──▶ refunded
//!    │                    │  │                  ▲                   │
//!    └──────fail──────────┘  │                  │ wallet paid       └──cancel (no refund due)──▶ cancelled
//!                            │  └─await payment─▶ awaiting_payment
//!                            │                    │  (wallet: redirect, callback or status query)
//!                            └─decline/timeout──▶ failed ◀──cancel/failure/payment timeout──┘
//!    └──expire (hold TTL passed before payment)──▶ expired (also from awaiting_payment)
//! ```
//! A wallet payment is confirmed later, by the provider's callback: while it
//! is awaited the order keeps its seats (`awaiting_payment`).
//! Every transition is explicit; anything else is refused, so an illegal state
//! change cannot be written.

use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

use super::{HoldId, Nid, OrderId, ParseError, PassengerName, SeatId, TripId, UserId};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Reserved,
    Paid,
    /// A mobile-wallet payment was started; its outcome arrives by callback.
    #[serde(rename = "awaiting_payment")]
    AwaitingPayment,
    Confirmed,
    Failed,
    Expired,
    Cancelled,
    Refunded,
}

/// What happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The hold's seats now belong to the order.
    Reserve,
    /// A wallet payment was started at the provider: the passenger pays on
    /// the provider's page and the outcome arrives later.
    AwaitPayment,
    /// The gateway (or the wallet provider) took the money.
    ChargeSucceeded,
    /// The gateway refused, timed out, or an earlier step failed.
    Fail,
    /// The hold ran out before the order was paid.
    Expire,
    /// Tickets may now be issued.
    Confirm,
    /// The passenger cancelled a confirmed order; `refund` is false when nothing is due.
    Cancel { refund: bool },
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Pending,
        OrderStatus::Reserved,
        OrderStatus::Paid,
        OrderStatus::AwaitingPayment,
        OrderStatus::Confirmed,
        OrderStatus::Failed,
        OrderStatus::Expired,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    /// The state after `event`, or an error naming the illegal transition.
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::Pending, E::Reserve) => S::Reserved,
            (S::Reserved, E::AwaitPayment) => S::AwaitingPayment,
            (S::Reserved | S::AwaitingPayment, E::ChargeSucceeded) => S::Paid,
            (S::Paid, E::Confirm) => S::Confirmed,
            (S::Pending | S::Reserved | S::AwaitingPayment, E::Fail) => S::Failed,
            (S::Pending | S::Reserved | S::AwaitingPayment, E::Expire) => S::Expired,
            (S::Confirmed, E::Cancel { refund: true }) => S::Refunded,
            (S::Confirmed, E::Cancel { refund: false }) => S::Cancelled,
            _ => return Err(IllegalTransition { from: self, event }),
        };
        Ok(next)
    }

    /// Terminal states never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Failed
                | OrderStatus::Expired
                | OrderStatus::Cancelled
                | OrderStatus::Refunded
        )
    }

    /// While an order is in these states its seats stay taken.
    pub fn holds_seats(self) -> bool {
        matches!(
            self,
            OrderStatus::Pending
                | OrderStatus::Reserved
                | OrderStatus::Paid
                | OrderStatus::AwaitingPayment
                | OrderStatus::Confirmed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Reserved => "reserved",
            OrderStatus::Paid => "paid",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Failed => "failed",
            OrderStatus::Expired => "expired",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }
}

impl FromStr for OrderStatus {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ParseError::new("status", format!("'{s}' is not an order status")))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot {event:?}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

/// The passengers and money for one hold, moving through the states above.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub hold_id: HoldId,
    pub trip_id: TripId,
    pub status: OrderStatus,
    pub amount: i64,
    pub payment_token: String,
    pub charge_id: Option<String>,
    pub refunded_amount: i64,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// One per held seat, in seat order.
    pub passengers: Vec<Passenger>,
}

/// Who travels on one of an order's seats.
#[derive(Debug, Clone, PartialEq)]
pub struct Passenger {
    pub seq: u32,
    pub name: PassengerName,
    pub nid: Option<Nid>,
    pub seat_id: SeatId,
}

impl Order {
    /// What the passenger is owed back in its state, in total: the refund a
    /// cancellation granted, or everything when it failed or expired. `None`
    /// while nothing is owed (the order is in the saga or confirmed).
    pub fn refund_owed(&self) -> Option<i64> {
        match self.status {
            OrderStatus::Refunded | OrderStatus::Cancelled => Some(self.refunded_amount),
            OrderStatus::Failed | OrderStatus::Expired => Some(self.amount),
            _ => None,
        }
    }
}

/// Bangladesh Railway's cancellation deductions, by how long before departure
/// the ticket is returned. Kept as data so operators can change it in config.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RefundRule {
    /// (at least this many hours before departure, percent of the fare deducted),
    /// checked in order; the first that matches applies.
    pub tiers: Vec<(i64, i64)>,
    /// A flat charge per ticket on top (taka), never more than the fare.
    pub flat_per_ticket: i64,
}

impl Default for RefundRule {
    /// Modelled on BR's published rule: 48 h+ before: Tk 30 per ticket; 48–24 h:
    /// 25 %; 24–12 h: 50 %; later than 12 h before departure: no refund.
    fn default() -> Self {
        RefundRule {
            tiers: vec![(48, 0), (24, 25), (12, 50)],
            flat_per_ticket: 30,
        }
    }
}

impl RefundRule {
    /// Parses tiers written as `HOURS:PERCENT,…` (e.g. `48:0,24:25,12:50`), most hours first.
    pub fn parse_tiers(text: &str, flat_per_ticket: i64) -> Result<RefundRule, ParseError> {
        let bad = || {
            ParseError::new(
                "refund-tiers",
                format!("'{text}' is not like 48:0,24:25,12:50"),
            )
        };
        let mut tiers = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (h, p) = part.split_once(':').ok_or_else(bad)?;
            let (h, p): (i64, i64) = (
                h.trim().parse().map_err(|_| bad())?,
                p.trim().parse().map_err(|_| bad())?,
            );
            if h < 0 || !(0..=100).contains(&p) {
                return Err(bad());
            }
            tiers.push((h, p));
        }
        if tiers.is_empty() || tiers.windows(2).any(|w| w[0].0 <= w[1].0) {
            return Err(bad());
        }
        Ok(RefundRule {
            tiers,
            flat_per_ticket: flat_per_ticket.max(0),
        })
    }

    /// The refund for `amount` paid for `tickets` tickets, `hours_before` departure.
    /// `None` when the rule grants no refund at all (too close to departure).
    pub fn refund(&self, amount: i64, tickets: i64, hours_before: i64) -> Option<i64> {
        let (_, percent) = self.tiers.iter().find(|(h, _)| hours_before >= *h)?;
        let deduction = amount * percent / 100 + self.flat_per_ticket * tickets;
        Some((amount - deduction).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    #[test]
    fn the_happy_path() {
        let s = S::Pending.apply(E::Reserve).unwrap();
        let s = s.apply(E::ChargeSucceeded).unwrap();
        let s = s.apply(E::Confirm).unwrap();
        assert_eq!(s, S::Confirmed);
        assert_eq!(s.apply(E::Cancel { refund: true }).unwrap(), S::Refunded);
    }

    #[test]
    fn the_wallet_path_waits_for_payment_with_its_seats() {
        let s = S::Reserved.apply(E::AwaitPayment).unwrap();
        assert_eq!(s, S::AwaitingPayment);
        assert!(s.holds_seats() && !s.is_final());
        assert_eq!(s.apply(E::ChargeSucceeded).unwrap(), S::Paid);
        assert_eq!(s.apply(E::Fail).unwrap(), S::Failed);
        assert_eq!(s.apply(E::Expire).unwrap(), S::Expired);
        assert!(s.apply(E::Confirm).is_err(), "paid first, then confirmed");
        assert_eq!(s.as_str().parse::<S>().unwrap(), s);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"awaiting_payment\"");
    }

    #[test]
    fn only_listed_transitions_are_legal() {
        let events = [
            E::Reserve,
            E::AwaitPayment,
            E::ChargeSucceeded,
            E::Fail,
            E::Expire,
            E::Confirm,
            E::Cancel { refund: true },
            E::Cancel { refund: false },
        ];
        let mut legal = 0;
        for from in S::ALL {
            for e in events {
                if from.apply(e).is_ok() {
                    legal += 1;
                    assert!(!from.is_final(), "{from} is final but moved on {e:?}");
                }
            }
        }
        assert_eq!(legal, 13, "exactly the transitions of the diagram");
        assert!(
            S::Paid.apply(E::AwaitPayment).is_err(),
            "only a reserved order starts a wallet payment"
        );
        assert!(S::Paid.apply(E::Fail).is_err(), "money taken: only confirm");
        assert!(S::Confirmed.apply(E::Expire).is_err());
        assert!(S::Failed.apply(E::Reserve).is_err());
    }

    #[test]
    fn statuses_round_trip_and_seats_follow_the_state() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
            assert_eq!(s.holds_seats(), !s.is_final());
        }
    }

    #[test]
    fn refund_tiers_parse_from_config_text() {
        assert_eq!(
            RefundRule::parse_tiers("48:0, 24:25, 12:50", 30).unwrap(),
            RefundRule::default()
        );
        for bad in ["", "48", "24:25,48:0", "48:120", "x:1"] {
            assert!(RefundRule::parse_tiers(bad, 30).is_err(), "{bad}");
        }
    }

    #[test]
    fn refund_rule_tiers() {
        let r = RefundRule::default();
        assert_eq!(r.refund(900, 2, 72), Some(840));
        assert_eq!(r.refund(900, 2, 30), Some(900 - 225 - 60));
        assert_eq!(r.refund(900, 2, 12), Some(900 - 450 - 60));
        assert_eq!(r.refund(900, 2, 11), None);
        assert_eq!(r.refund(20, 1, 72), Some(0), "never negative");
    }
}
