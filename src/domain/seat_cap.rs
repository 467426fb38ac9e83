//! How many seats one person may buy: Bangladesh Railway allows four per
//! person per trip, and since March 2023 the person is their national ID
//! (NID), whichever channel sells: online the account's NID, at a counter the
//! buyer's NID the clerk types. Besides the trip cap, an NID may have at most
//! a configurable number of seats on all trains of one travel day.
//!
//! Both channels ask `NidCaps::admit` (and the older per-account and
//! per-phone checks ask `SeatCap::admit`); the stores count what the NID
//! already has and apply the caps in the same transaction as the sale (SQLite
//! calls `admit` inside its writer command; the Postgres functions return the
//! counts under a lock on the NID, and the refusal is decided and worded here).

/// Seats one passenger may hold or own on one trip (Bangladesh Railway: 4).
pub const SEATS_PER_PASSENGER: u32 = 4;

/// A cap on the seats one passenger may hold or own on one trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatCap {
    max: u32,
}

impl SeatCap {
    /// The rule every sale goes through.
    pub const PER_PASSENGER: SeatCap = SeatCap {
        max: SEATS_PER_PASSENGER,
    };

    /// A cap of `max` seats: for tests of the stores' enforcement, which need
    /// fewer seats than the rule's four to reach it.
    pub const fn of(max: u32) -> SeatCap {
        SeatCap { max }
    }

    pub fn max(self) -> u32 {
        self.max
    }

    /// Whether one booking of `seats` seats is a size the cap allows at all
    /// (at least one, at most the cap), before anything is counted.
    pub fn allows_booking_of(self, seats: usize) -> bool {
        (1..=self.max as usize).contains(&seats)
    }

    /// Whether `wanted` more seats fit beside the `already` held or owned.
    pub fn admit(self, already: i64, wanted: usize) -> Result<(), SeatCapReached> {
        let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
        if already.saturating_add(wanted) > i64::from(self.max) {
            return Err(SeatCapReached {
                already,
                max: self.max,
            });
        }
        Ok(())
    }
}

/// Seats one NID may hold or own on all trains of one travel day, unless
/// `serve --seats-per-nid-per-day` says otherwise: two full trips (out and
/// back the same day) and no more.
pub const SEATS_PER_NID_PER_DAY: u32 = 8;

/// What a refused NID cap counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapScope {
    /// The seats of one trip.
    Trip,
    /// The seats of every trip of one travel (service) date.
    Day,
}

impl CapScope {
    /// The name clients see (`limit` in the problem).
    pub fn name(self) -> &'static str {
        match self {
            CapScope::Trip => "seats_per_nid_per_trip",
            CapScope::Day => "seats_per_nid_per_day",
        }
    }
}

/// The caps on one NID's seats: per trip (the rule's four) and, optionally,
/// per travel day across trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NidCaps {
    pub per_trip: SeatCap,
    pub per_day: Option<SeatCap>,
}

impl NidCaps {
    /// The rule's four per trip, and `per_day` seats a day (`None`: no day cap).
    pub const fn with_day_cap(per_day: Option<u32>) -> NidCaps {
        NidCaps {
            per_trip: SeatCap::PER_PASSENGER,
            per_day: match per_day {
                Some(n) => Some(SeatCap::of(n)),
                None => None,
            },
        }
    }

    /// Whether `wanted` more seats fit beside the NID's `on_trip` seats on this
    /// trip and `on_day` seats on all trips of its day (which include `on_trip`).
    pub fn admit(self, on_trip: i64, on_day: i64, wanted: usize) -> Result<(), NidCapReached> {
        let refusal = |scope, cap: SeatCap, already| NidCapReached {
            scope,
            already,
            max: cap.max(),
        };
        self.per_trip
            .admit(on_trip, wanted)
            .map_err(|_| refusal(CapScope::Trip, self.per_trip, on_trip))?;
        if let Some(day) = self.per_day {
            day.admit(on_day, wanted)
                .map_err(|_| refusal(CapScope::Day, day, on_day))?;
        }
        Ok(())
    }
}

/// A sale refused by an NID cap: the NID already has `already` seats in `scope`.
/// The NID itself is not in the message: refusals are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NidCapReached {
    pub scope: CapScope,
    pub already: i64,
    pub max: u32,
}

impl NidCapReached {
    fn describe(&self) -> String {
        let (max, already) = (self.max, self.already);
        match self.scope {
            CapScope::Trip => format!(
                "at most {max} seats per NID per trip, online and at counters together; \
                 this NID already has {already} on this trip"
            ),
            CapScope::Day => format!(
                "at most {max} seats per NID on all trains of one travel day; \
                 this NID already has {already} that day"
            ),
        }
    }
}

/// A sale refused by the cap: the passenger already has `already` seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at most {max} seats per passenger per trip; you already have {already}")]
pub struct SeatCapReached {
    pub already: i64,
    pub max: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_seats_per_passenger_and_not_one_more() {
        let cap = SeatCap::PER_PASSENGER;
        assert_eq!(cap.max(), 4);
        assert_eq!(cap.admit(0, 4), Ok(()));
        assert_eq!(cap.admit(3, 1), Ok(()));
        assert_eq!(cap.admit(3, 2), Err(SeatCapReached { already: 3, max: 4 }));
        assert!(cap.admit(4, 1).is_err());
        assert!(cap.admit(0, 5).is_err());
        assert!(cap.admit(i64::MAX, usize::MAX).is_err(), "no overflow");
    }

    #[test]
    fn a_booking_takes_one_to_four_seats() {
        let cap = SeatCap::PER_PASSENGER;
        assert!(!cap.allows_booking_of(0));
        assert!(cap.allows_booking_of(1));
        assert!(cap.allows_booking_of(4));
        assert!(!cap.allows_booking_of(5));
        assert!(SeatCap::of(2).allows_booking_of(2));
        assert!(!SeatCap::of(2).allows_booking_of(3));
    }

    #[test]
    fn an_nid_has_four_seats_a_trip_and_its_day_cap_across_trips() {
        let caps = NidCaps::with_day_cap(Some(8));
        assert_eq!(caps.admit(0, 0, 4), Ok(()));
        assert_eq!(caps.admit(3, 7, 1), Ok(()));
        assert_eq!(
            caps.admit(4, 4, 1),
            Err(NidCapReached {
                scope: CapScope::Trip,
                already: 4,
                max: 4
            })
        );
        assert_eq!(
            caps.admit(0, 6, 3),
            Err(NidCapReached {
                scope: CapScope::Day,
                already: 6,
                max: 8
            })
        );
        assert_eq!(NidCaps::with_day_cap(None).admit(0, 1_000, 4), Ok(()));
        let refusal = caps.admit(2, 2, 3).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "at most 4 seats per NID per trip, online and at counters together; \
             this NID already has 2 on this trip"
        );
        assert_eq!(refusal.scope.name(), "seats_per_nid_per_trip");
    }

    #[test]
    fn refusals_say_what_the_passenger_has() {
        let refusal = SeatCap::PER_PASSENGER.admit(3, 2).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "at most 4 seats per passenger per trip; you already have 3"
        );
    }
}
