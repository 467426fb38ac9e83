//! The ranges an admin's waiting-room settings must fall in.
//!
//! A single absurd value once took all online sales down: an `idle_secs` of
//! 10^13 overflowed the admission deadline inside the room's lock. So every
//! number an admin sets is bounded here, when the sale is created or changed,
//! and the room's own arithmetic is checked as well.

use chrono::{DateTime, Duration, Utc};
use std::ops::RangeInclusive;

use super::{SaleControl, SaleSettings};
use crate::domain::ParseError;
use crate::domain::text;

/// Users admitted per second.
pub const RATE_PER_SEC: RangeInclusive<f64> = 0.01..=100_000.0;
/// Shoppers admitted at once.
pub const MAX_ACTIVE: RangeInclusive<usize> = 1..=1_000_000;
/// Seconds an admitted shopper may stay idle (a day at most).
pub const IDLE_SECS: RangeInclusive<i64> = 1..=86_400;
/// Trips one sale may cover (an Eid sale: every train of a few days).
pub const MAX_TRIPS: usize = 1_000;
/// How far before now a sale may open (it opens at once) and how far ahead.
pub const OPENS_BEFORE_DAYS: i64 = 1;
pub const OPENS_AHEAD_DAYS: i64 = 366;

fn out_of(field: &'static str, range: impl std::fmt::Debug) -> ParseError {
    ParseError::new(field, format!("must be within {range:?}"))
}

pub fn check_rate(rate: f64) -> Result<(), ParseError> {
    if RATE_PER_SEC.contains(&rate) {
        Ok(())
    } else {
        Err(out_of("rate_per_sec", RATE_PER_SEC))
    }
}

pub fn check_max_active(max_active: usize) -> Result<(), ParseError> {
    if MAX_ACTIVE.contains(&max_active) {
        Ok(())
    } else {
        Err(out_of("max_active", MAX_ACTIVE))
    }
}

/// Checks an admin's live change against the same ranges as a new sale's.
pub fn check_control(c: &SaleControl) -> Result<(), ParseError> {
    c.rate_per_sec.map(check_rate).transpose()?;
    c.max_active.map(check_max_active).transpose()?;
    Ok(())
}

/// Checks every setting of a new sale against its range at `now`.
pub fn check_settings(s: &SaleSettings, now: DateTime<Utc>) -> Result<(), ParseError> {
    if s.id.trim().is_empty() {
        return Err(ParseError::new("id", "a queued sale needs an id"));
    }
    text::check(&s.id, text::max_chars("id")).map_err(|e| ParseError::new("id", e.to_string()))?;
    if s.trip_ids.is_empty() || s.trip_ids.len() > MAX_TRIPS {
        return Err(ParseError::new(
            "trip_ids",
            format!("a queued sale covers 1 to {MAX_TRIPS} trips"),
        ));
    }
    if s.trip_ids.iter().any(|t| t.get() <= 0) {
        return Err(ParseError::new("trip_ids", "trip ids are positive"));
    }
    check_rate(s.rate_per_sec)?;
    check_max_active(s.max_active)?;
    if !IDLE_SECS.contains(&s.idle_secs) {
        return Err(out_of("idle_secs", IDLE_SECS));
    }
    let earliest = now.checked_sub_signed(Duration::days(OPENS_BEFORE_DAYS));
    let latest = now.checked_add_signed(Duration::days(OPENS_AHEAD_DAYS));
    let in_window =
        earliest.is_some_and(|e| s.opens_at >= e) && latest.is_some_and(|l| s.opens_at <= l);
    if !in_window {
        return Err(ParseError::new(
            "opens_at",
            format!(
                "must be within {OPENS_BEFORE_DAYS} day before now and {OPENS_AHEAD_DAYS} days after"
            ),
        ));
    }
    Ok(())
}

/// `now` plus `secs` seconds, saturating at the latest representable instant
/// instead of panicking (a room's caller may hold its lock).
pub fn secs_after(now: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    Duration::try_seconds(secs)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TripId;

    fn settings(now: DateTime<Utc>) -> SaleSettings {
        SaleSettings {
            id: "eid".into(),
            opens_at: now,
            trip_ids: vec![TripId(1)],
            rate_per_sec: 10.0,
            max_active: 10,
            idle_secs: 60,
        }
    }

    #[test]
    fn each_setting_is_refused_just_outside_its_range() {
        let now = Utc::now();
        type Change = Box<dyn Fn(&mut SaleSettings)>;
        let cases: Vec<(&str, Change)> = vec![
            ("rate_per_sec", Box::new(|s| s.rate_per_sec = 0.0)),
            ("rate_per_sec", Box::new(|s| s.rate_per_sec = 100_000.1)),
            ("max_active", Box::new(|s| s.max_active = 0)),
            ("max_active", Box::new(|s| s.max_active = 1_000_001)),
            ("idle_secs", Box::new(|s| s.idle_secs = 0)),
            ("idle_secs", Box::new(|s| s.idle_secs = 86_401)),
            ("idle_secs", Box::new(|s| s.idle_secs = 10_000_000_000_000)),
            ("trip_ids", Box::new(|s| s.trip_ids = vec![])),
            ("trip_ids", Box::new(|s| s.trip_ids = vec![TripId(0)])),
            ("id", Box::new(|s| s.id = "e\u{202E}id".into())),
            (
                "opens_at",
                Box::new(move |s| s.opens_at = now - Duration::days(2)),
            ),
            (
                "opens_at",
                Box::new(move |s| s.opens_at = now + Duration::days(367)),
            ),
        ];
        for (field, change) in cases {
            let mut s = settings(now);
            change(&mut s);
            assert_eq!(check_settings(&s, now).map_err(|e| e.field), Err(field));
        }
        let mut at_bounds = settings(now);
        at_bounds.rate_per_sec = 100_000.0;
        at_bounds.max_active = 1_000_000;
        at_bounds.idle_secs = 86_400;
        assert_eq!(check_settings(&at_bounds, now), Ok(()));
    }

    #[test]
    fn a_live_change_has_the_same_bounds_and_may_leave_all_out() {
        let change = |rate, max| SaleControl {
            paused: Some(true),
            rate_per_sec: rate,
            max_active: max,
        };
        assert_eq!(check_control(&SaleControl::default()), Ok(()));
        assert_eq!(check_control(&change(Some(100_000.0), Some(1))), Ok(()));
        let field = |c| check_control(&c).map_err(|e| e.field);
        assert_eq!(field(change(Some(0.0), None)), Err("rate_per_sec"));
        assert_eq!(field(change(None, Some(1_000_001))), Err("max_active"));
    }

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = Utc::now();
        assert_eq!(secs_after(now, i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            secs_after(DateTime::<Utc>::MAX_UTC, 1),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(secs_after(now, 60), now + Duration::seconds(60));
    }
}
