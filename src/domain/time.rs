//! Railway time: service dates and times of day in Bangladesh Standard Time.
//!
//! Bangladesh keeps UTC+6 all year (no daylight saving), so a fixed offset is
//! exact and we need no time-zone database.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use std::fmt;

use super::ParseError;

pub const DHAKA_OFFSET_SECS: i32 = 6 * 3600;

pub fn dhaka() -> FixedOffset {
    FixedOffset::east_opt(DHAKA_OFFSET_SECS).expect("valid offset")
}

/// The calendar date a trip leaves its first station (local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceDate(NaiveDate);

impl ServiceDate {
    /// A date like 2026-03-28, of a year a railway could run on (see
    /// [`ServiceDate::YEARS`]): absurd years are refused here, so no date
    /// arithmetic downstream can overflow.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| ParseError::new("date", format!("'{s}' is not a date like 2026-03-28")))?;
        if !Self::YEARS.contains(&chrono::Datelike::year(&date)) {
            return Err(ParseError::new(
                "date",
                format!(
                    "'{s}' is out of range: years {} to {}",
                    Self::YEARS.start(),
                    Self::YEARS.end()
                ),
            ));
        }
        Ok(ServiceDate(date))
    }

    /// Years a service date may name.
    pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;

    pub fn from_naive(d: NaiveDate) -> Self {
        ServiceDate(d)
    }

    pub fn naive(self) -> NaiveDate {
        self.0
    }

    /// Today's date in Dhaka at the given instant.
    pub fn today_at(now: DateTime<Utc>) -> Self {
        ServiceDate(now.with_timezone(&dhaka()).date_naive())
    }

    /// The date `days` later (earlier if negative), saturating at the
    /// calendar's ends rather than panicking.
    pub fn add_days(self, days: i64) -> Self {
        let moved = Duration::try_days(days).and_then(|d| self.0.checked_add_signed(d));
        ServiceDate(moved.unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        }))
    }

    /// Three-letter English weekday, as timetables print it ("Fri").
    pub fn weekday(self) -> chrono::Weekday {
        chrono::Datelike::weekday(&self.0)
    }

    /// The instant of local time `t` on this date.
    pub fn at(self, t: TripTime) -> DateTime<Utc> {
        // A fixed offset is never ambiguous; only the calendar's first day
        // has no UTC instant for its local midnight.
        let Some(midnight) = dhaka()
            .from_local_datetime(&self.0.and_time(NaiveTime::MIN))
            .single()
        else {
            return DateTime::<Utc>::MIN_UTC;
        };
        // Saturates at the end of time instead of panicking for a date at the
        // calendar's edge (parse keeps such dates out; this is the backstop).
        midnight
            .checked_add_signed(Duration::minutes(t.minutes() as i64))
            .map_or(DateTime::<Utc>::MAX_UTC, |d| d.with_timezone(&Utc))
    }
}

impl fmt::Display for ServiceDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A time on a trip, in minutes after local midnight of the service date.
/// Values of 1440 and more are on the following day(s): Turna 742 leaves
/// 23:15 and reaches Chattogram at 05:15 the next morning (minute 1755).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TripTime(u32);

impl TripTime {
    pub fn from_minutes(m: u32) -> Self {
        TripTime(m)
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    pub fn day_offset(self) -> u32 {
        self.0 / 1440
    }

    /// Parses "HH:MM" or "HH:MM+1" (next day), the fixture notation.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("time", format!("'{s}' is not a time like 16:30 or 05:15+1"));
        let (clock, day) = match s.split_once('+') {
            Some((clock, day)) => (clock, day.parse::<u32>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let t = NaiveTime::parse_from_str(clock, "%H:%M").map_err(|_| bad())?;
        let minutes = chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t);
        Ok(TripTime(day * 1440 + minutes))
    }
}

impl fmt::Display for TripTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0 % 1440;
        write!(f, "{:02}:{:02}", m / 60, m % 60)?;
        if self.day_offset() > 0 {
            write!(f, "+{}", self.day_offset())?;
        }
        Ok(())
    }
}

/// Formats an instant as local Dhaka time with its offset (RFC 3339).
pub fn to_local_rfc3339(t: DateTime<Utc>) -> String {
    t.with_timezone(&dhaka())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_years_are_refused_and_date_arithmetic_never_panics() {
        for bad in [
            "+262142-01-01",
            "262142-01-01",
            "1999-12-31",
            "2200-01-01",
            "-0001-01-01",
        ] {
            assert!(ServiceDate::parse(bad).is_err(), "{bad}");
        }
        assert!(ServiceDate::parse("2199-12-31").is_ok());
        let edge = ServiceDate::from_naive(NaiveDate::MAX);
        assert_eq!(edge.add_days(i64::MAX), edge);
        assert_eq!(
            edge.at(TripTime::parse("23:59+9").unwrap()),
            DateTime::<Utc>::MAX_UTC
        );
        let first = ServiceDate::from_naive(NaiveDate::MIN);
        assert_eq!(first.add_days(i64::MIN), first);
        assert_eq!(
            first.at(TripTime::from_minutes(0)),
            DateTime::<Utc>::MIN_UTC
        );
    }

    #[test]
    fn parses_and_prints_times_past_midnight() {
        let t = TripTime::parse("05:15+1").unwrap();
        assert_eq!(t.minutes(), 1440 + 315);
        assert_eq!(t.to_string(), "05:15+1");
        assert_eq!(TripTime::parse("16:30").unwrap().to_string(), "16:30");
        assert!(TripTime::parse("25:00").is_err());
        assert!(TripTime::parse("4:30 pm").is_err());
    }

    #[test]
    fn local_times_map_to_utc_at_plus_six() {
        let d = ServiceDate::parse("2026-11-25").unwrap();
        let dep = d.at(TripTime::parse("16:30").unwrap());
        assert_eq!(dep.to_rfc3339(), "2026-11-25T10:30:00+00:00");
        assert_eq!(to_local_rfc3339(dep), "2026-11-25T16:30:00+06:00");
        let arr = d.at(TripTime::parse("05:15+1").unwrap());
        assert_eq!(to_local_rfc3339(arr), "2026-11-26T05:15:00+06:00");
    }

    #[test]
    fn bad_dates_are_refused_with_an_example() {
        let e = ServiceDate::parse("25/11/2026").unwrap_err();
        assert!(e.message.contains("2026-03-28"));
        assert!(ServiceDate::parse("2026-02-30").is_err());
    }
}
