//! The one source of "now" for every time rule of the app (sale windows, hold
//! expiry, refunds, lockouts, token and admission expiry, recovery).
//!
//! Production reads the system clock. Tests use a manual clock they set and
//! advance, so a rule can be checked at its boundary to the second, on any
//! calendar date, without sleeping. Only wall-clock instants go through here:
//! monotonic timers (cache ages, rate limiting, timeouts) stay on `Instant`.

use chrono::{DateTime, Duration, Utc};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Where the app reads the time from.
#[derive(Clone, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// The system clock moved by a fixed amount: time passes as usual, on
    /// another date ("run the suite as if it were a Sunday").
    Shifted(Duration),
    /// A clock that stands still until a test sets or advances it.
    Manual(Arc<ManualClock>),
}

impl Clock {
    /// A manual clock standing at `at`.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock::Manual(Arc::new(ManualClock::new(at)))
    }

    /// The system clock running from `at` onwards (as of this call).
    pub fn shifted_to(at: DateTime<Utc>) -> Clock {
        Clock::Shifted(at - Utc::now())
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Shifted(by) => Utc::now() + *by,
            Clock::Manual(m) => m.now(),
        }
    }

    /// The manual clock behind this one, if it is manual (tests set it through this).
    pub fn as_manual(&self) -> Option<&ManualClock> {
        match self {
            Clock::System | Clock::Shifted(_) => None,
            Clock::Manual(m) => Some(m),
        }
    }
}

/// FOR TESTS ONLY: the environment variable that runs a process as if today
/// were another date (`YYYY-MM-DD`, Dhaka). It lets the suite start the real
/// binary on a chosen weekday; production never sets it.
pub const TEST_TODAY_ENV: &str = "TICKETCTL_TEST_TODAY";

impl Clock {
    /// The system clock, or with `TICKETCTL_TEST_TODAY=YYYY-MM-DD` (tests
    /// only) the system clock moved by whole days so that today (in Dhaka) is
    /// that date, at the real time of day. Whole days, not "this moment", so
    /// that every process of a test run (the suite and the binaries it starts
    /// and restarts minutes later) reads the same time.
    pub fn from_env() -> Result<Clock, crate::domain::ParseError> {
        match std::env::var(TEST_TODAY_ENV) {
            Ok(day) => {
                let day = crate::domain::ServiceDate::parse(&day)?;
                tracing::warn!(%day, "{TEST_TODAY_ENV} is set: the clock runs as if today were {day} (for tests only)");
                let noon = crate::domain::TripTime::from_minutes(12 * 60);
                let today = crate::domain::ServiceDate::today_at(Utc::now());
                Ok(Clock::Shifted(day.at(noon) - today.at(noon)))
            }
            Err(_) => Ok(Clock::System),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Clock::System => f.write_str("Clock::System"),
            Clock::Shifted(by) => write!(f, "Clock::Shifted({by})"),
            Clock::Manual(m) => write!(f, "Clock::Manual({})", m.now().to_rfc3339()),
        }
    }
}

/// A settable instant, shared by every clone of the `Clock` that holds it.
///
/// Kept as microseconds since the epoch in an atomic: no lock to poison, and
/// the resolution matches what both databases store.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock {
            micros: AtomicI64::new(at.timestamp_micros()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst))
            .expect("a manual clock only holds instants it was given")
    }

    /// Moves the clock to `at` (backwards too: tests of "before" and "after").
    pub fn set(&self, at: DateTime<Utc>) {
        self.micros.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    /// Moves the clock on by `by` and returns the new instant.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let by = by
            .num_microseconds()
            .expect("a test advances by less than 290,000 years");
        let micros = self.micros.fetch_add(by, Ordering::SeqCst) + by;
        DateTime::from_timestamp_micros(micros).expect("advanced within chrono's range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_set_or_advanced_and_clones_share_it() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-06T10:00:00+06:00")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::manual(t0);
        let copy = clock.clone();
        assert_eq!(clock.now(), t0);
        assert_eq!(clock.now(), t0, "no time passes by itself");
        let later = clock.as_manual().unwrap().advance(Duration::seconds(90));
        assert_eq!(later, t0 + Duration::seconds(90));
        assert_eq!(copy.now(), later, "clones read the same clock");
        copy.as_manual().unwrap().set(t0 - Duration::days(1));
        assert_eq!(clock.now(), t0 - Duration::days(1));
    }

    #[test]
    fn a_shifted_clock_runs_on_another_date() {
        let sunday = DateTime::parse_from_rfc3339("2031-01-05T10:00:00+06:00")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::shifted_to(sunday);
        let now = clock.now();
        assert!(
            now >= sunday && now - sunday < Duration::seconds(5),
            "{now}"
        );
        assert!(clock.as_manual().is_none());
    }

    #[test]
    fn the_system_clock_is_the_default_and_not_settable() {
        let clock = Clock::default();
        assert!(clock.as_manual().is_none());
        let before = Utc::now();
        let now = clock.now();
        assert!(now >= before && now <= Utc::now());
    }
}
