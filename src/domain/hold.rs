//! Holds: seats × journey kept for one buyer until a time limit, and what
//! each state of a hold means for its seats.

use chrono::{DateTime, Utc};

use super::status::status_enum;

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
