//! Holds: seats × journey kept for one buyer until a time limit, and what
//! each state of a hold means for its seats.

use chrono::{DateTime, Utc};

use super::status::status_enum;
use super::{HoldId, OrderStatus, Seat, SeatClass, SeatId, SegmentMask, TripId, UserId};

status_enum!(
    /// Where a hold stands. Only `Active` and `Ordered` keep the seats taken;
    /// releasing or expiring returns exactly the hold's segments.
    HoldStatus, "a hold status" {
        /// Holding its seats until `expires_at` (and, once that passed, until swept).
        Active => "active",
        /// Turned into an order: the order's status says whether the seats are still taken.
        Ordered => "ordered",
        /// Given back by the buyer.
        Released => "released",
        /// Swept after its time ran out.
        Expired => "expired",
    }
);

impl HoldStatus {
    /// The status as the buyer sees it at `now`: an active hold whose time is
    /// up is expired, even before the sweeper has marked it so.
    pub fn at(self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> HoldStatus {
        match self {
            HoldStatus::Active if expires_at <= now => HoldStatus::Expired,
            other => other,
        }
    }

    /// Whether a hold in this status still has its bits set in its seats'
    /// masks: an active one (its time up or not, until the sweeper ends it), or
    /// an ordered one whose order (`order`) still owns the seats.
    pub fn keeps_seats(self, order: Option<OrderStatus>) -> bool {
        match self {
            HoldStatus::Active => true,
            HoldStatus::Ordered => order.is_some_and(OrderStatus::holds_seats),
            HoldStatus::Released | HoldStatus::Expired => false,
        }
    }
}

/// Seats × journey held for one buyer until `expires_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub id: HoldId,
    pub trip_id: TripId,
    pub user_id: UserId,
    pub from_stop: u32,
    pub to_stop: u32,
    pub mask: SegmentMask,
    pub class: SeatClass,
    /// Per seat, VAT included.
    pub fare: i64,
    pub status: HoldStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// In coach and seat order.
    pub seats: Vec<Seat>,
}

impl Hold {
    /// Whether its time is still running at `now` (whatever became of it).
    pub fn within_time(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether it still holds its seats for its buyer at `now`, so that an
    /// order may be placed for it: active and within its time.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Active && self.within_time(now)
    }

    /// Its status as the buyer sees it at `now` (see `HoldStatus::at`).
    pub fn status_at(&self, now: DateTime<Utc>) -> HoldStatus {
        self.status.at(self.expires_at, now)
    }

    /// What its seats cost together.
    pub fn total(&self) -> i64 {
        self.fare * self.seats.len() as i64
    }

    pub fn seat_ids(&self) -> Vec<SeatId> {
        self.seats.iter().map(|s| s.id).collect()
    }
}

/// Why an order cannot be placed for a hold: it no longer holds its seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hold {hold_id} is no longer active ({seen}); hold the seats again")]
pub struct HoldNotLive {
    pub hold_id: HoldId,
    /// Its status as the buyer sees it now.
    pub seen: HoldStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(status: HoldStatus, expires_at: i64) -> Hold {
        Hold {
            id: HoldId(1),
            trip_id: TripId(1),
            user_id: UserId(1),
            from_stop: 0,
            to_stop: 2,
            mask: SegmentMask::from_bits(0b11),
            class: SeatClass::Snigdha,
            fare: 450,
            status,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            expires_at: DateTime::from_timestamp(expires_at, 0).unwrap(),
            seats: vec![],
        }
    }

    #[test]
    fn a_hold_is_live_while_active_and_within_its_time() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap();
        let h = hold(HoldStatus::Active, 1_000);
        assert!(h.is_live(at(999)));
        assert!(!h.is_live(at(1_000)), "the time is up at expires_at");
        assert_eq!(h.status_at(at(1_000)), HoldStatus::Expired);
        let ordered = hold(HoldStatus::Ordered, 1_000);
        assert!(
            !ordered.is_live(at(0)),
            "an ordered hold takes no second order"
        );
        assert!(ordered.within_time(at(999)));
        assert!(!ordered.within_time(at(1_000)));
    }

    #[test]
    fn only_active_holds_and_those_of_seat_holding_orders_keep_seats() {
        assert!(HoldStatus::Active.keeps_seats(None));
        assert!(HoldStatus::Ordered.keeps_seats(Some(OrderStatus::Confirmed)));
        assert!(HoldStatus::Ordered.keeps_seats(Some(OrderStatus::Reserved)));
        assert!(!HoldStatus::Ordered.keeps_seats(Some(OrderStatus::Failed)));
        assert!(!HoldStatus::Ordered.keeps_seats(None));
        assert!(!HoldStatus::Released.keeps_seats(None));
        assert!(!HoldStatus::Expired.keeps_seats(Some(OrderStatus::Confirmed)));
    }

    #[test]
    fn an_active_hold_past_its_time_is_seen_as_expired() {
        let expires = DateTime::from_timestamp(1_000, 0).unwrap();
        let before = DateTime::from_timestamp(999, 0).unwrap();
        assert_eq!(HoldStatus::Active.at(expires, before), HoldStatus::Active);
        assert_eq!(HoldStatus::Active.at(expires, expires), HoldStatus::Expired);
        assert_eq!(
            HoldStatus::Ordered.at(expires, expires),
            HoldStatus::Ordered
        );
        assert_eq!(
            HoldStatus::Released.at(expires, before),
            HoldStatus::Released
        );
    }

    #[test]
    fn statuses_read_back_from_their_words() {
        for s in HoldStatus::ALL {
            assert_eq!(s.as_str().parse::<HoldStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(HoldStatus::Active.to_string(), "active");
        assert!("held".parse::<HoldStatus>().is_err());
    }
}
