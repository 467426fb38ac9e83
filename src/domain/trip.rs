//! Trips: one train on one service date, with its sale window.

use chrono::{DateTime, Utc};

use super::time::{ServiceDate, TripTime};

/// When the sale of a trip opens: `days_ahead` days before the service date
/// at `open_hour` local time. Bangladesh Railway opens advance sale 10 days
/// ahead at 08:00; the Eid special sale uses its own values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalePolicy {
    pub days_ahead: u32,
    pub open_hour: u32,
}

impl Default for SalePolicy {
    fn default() -> Self {
        SalePolicy {
            days_ahead: 10,
            open_hour: 8,
        }
    }
}

impl SalePolicy {
    pub fn opens_at(&self, date: ServiceDate) -> DateTime<Utc> {
        date.add_days(-(self.days_ahead as i64))
            .at(TripTime::from_minutes(self.open_hour * 60))
    }
}

/// Days before today (Dhaka) a trip may still be scheduled for, and after.
pub const SCHEDULE_DAYS_BEFORE: i64 = 1;
pub const SCHEDULE_DAYS_AHEAD: i64 = 366;

/// A trip is scheduled for yesterday at the earliest (a late night train still
/// running) and a year ahead at the latest.
pub fn check_schedulable(date: ServiceDate, today: ServiceDate) -> Result<(), super::ParseError> {
    let first = today.add_days(-SCHEDULE_DAYS_BEFORE);
    let last = today.add_days(SCHEDULE_DAYS_AHEAD);
    if date < first || date > last {
        return Err(super::ParseError::new(
            "date",
            format!("a trip can be scheduled from {first} to {last}"),
        ));
    }
    Ok(())
}

/// Where a sale stands at an instant, for one boarding time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SaleState {
    NotYetOpen,
    Open,
    Departed,
}

impl SaleState {
    /// The state's word in the API ("not_yet_open").
    pub fn as_str(self) -> &'static str {
        match self {
            SaleState::NotYetOpen => "not_yet_open",
            SaleState::Open => "open",
            SaleState::Departed => "departed",
        }
    }
}

pub fn sale_state(
    opens_at: DateTime<Utc>,
    boards_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SaleState {
    if now < opens_at {
        SaleState::NotYetOpen
    } else if now >= boards_at {
        SaleState::Departed
    } else {
        SaleState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::to_local_rfc3339;

    #[test]
    fn sale_opens_ten_days_ahead_at_eight() {
        let d = ServiceDate::parse("2026-12-10").unwrap();
        let opens = SalePolicy::default().opens_at(d);
        assert_eq!(to_local_rfc3339(opens), "2026-11-30T08:00:00+06:00");
    }

    #[test]
    fn sale_state_orders_open_and_departed() {
        let d = ServiceDate::parse("2026-12-10").unwrap();
        let opens = SalePolicy::default().opens_at(d);
        let boards = d.at(TripTime::parse("16:30").unwrap());
        let before = opens - chrono::Duration::minutes(1);
        assert_eq!(sale_state(opens, boards, before), SaleState::NotYetOpen);
        assert_eq!(sale_state(opens, boards, opens), SaleState::Open);
        assert_eq!(sale_state(opens, boards, boards), SaleState::Departed);
    }
}
