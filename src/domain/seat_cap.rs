//! How many seats one passenger may buy: Bangladesh Railway allows four per
//! passenger per trip. Online the passenger is the account; at a counter it is
//! the buyer's phone. Both channels ask `SeatCap::admit`; the stores count what
//! the passenger already has and apply it in the same transaction as the sale
//! (SQLite calls `admit` inside its writer command; the Postgres functions
//! compare `already + wanted > max` with the cap's `max`, and the refusal they
//! report is checked and worded here again).

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

/// A sale refused by the cap: the passenger already has `already` seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at most {max} seats per passenger per trip; you already have {already}")]
pub struct SeatCapReached {
    pub already: i64,
    pub max: u32,
}

impl SeatCapReached {
    /// The refusal as a clerk hears it, selling to the passenger with `phone`.
    pub fn for_phone(&self, phone: &str) -> String {
        format!(
            "{phone} already has {} seat(s) on this trip; at most {} per passenger",
            self.already, self.max
        )
    }
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
    fn refusals_say_what_the_passenger_has() {
        let refusal = SeatCap::PER_PASSENGER.admit(3, 2).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "at most 4 seats per passenger per trip; you already have 3"
        );
        assert_eq!(
            refusal.for_phone("+8801711111111"),
            "+8801711111111 already has 3 seat(s) on this trip; at most 4 per passenger"
        );
    }
}
