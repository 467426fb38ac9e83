//! Faceted trip search: the query (filters, date range, sort) and the pure rules
//! that narrow, count and order candidate trips. No I/O: the app layer builds
//! the candidates from its in-memory index and hands them here.
//!
//! Parsing lives here so the HTTP API and the CLI refuse the same values with
//! the same field names; every value is bounded, so no arithmetic downstream
//! can overflow and no query can ask for unbounded work.

mod select;

pub use select::{Band, Candidate, FacetCounts, Hit, Offer, Selection, select};

use std::str::FromStr;

use super::{ParseError, SeatClass, ServiceDate};

/// At most this many days either side of the date (`days=N`).
pub const MAX_DAYS: u32 = 7;
/// Fares are whole taka; no journey costs anywhere near this.
pub const MAX_FARE: i64 = 100_000;
/// No trip has more free seats than this in one class.
pub const MAX_MIN_FREE: i64 = 10_000;
/// Repeatable parameters take at most this many values each.
pub const MAX_VALUES: usize = 20;
/// Train numbers are at most four digits.
pub const MAX_TRAIN_NUMBER: u32 = 9_999;

/// A half-open band of local (Asia/Dhaka) clock time, `after <= t < before`,
/// in minutes after midnight. `24:00` is allowed as the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBand {
    pub after: u32,
    pub before: u32,
}

impl TimeBand {
    pub const DAY: TimeBand = TimeBand {
        after: 0,
        before: 24 * 60,
    };

    pub fn contains(self, minute_of_day: u32) -> bool {
        self.after <= minute_of_day && minute_of_day < self.before
    }
}

/// "HH:MM", 00:00 to 24:00, as minutes after midnight.
pub fn parse_clock(field: &'static str, s: &str) -> Result<u32, ParseError> {
    let bad = || {
        ParseError::new(
            field,
            format!("'{s}' is not a time of day like 06:00 (00:00 to 24:00)"),
        )
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A band from optional `after` and `before` clocks; `None` when neither is given.
fn band(
    after: Option<u32>,
    before: Option<u32>,
    before_field: &'static str,
) -> Result<Option<TimeBand>, ParseError> {
    if after.is_none() && before.is_none() {
        return Ok(None);
    }
    let b = TimeBand {
        after: after.unwrap_or(0),
        before: before.unwrap_or(24 * 60),
    };
    if b.after >= b.before {
        return Err(ParseError::new(
            before_field,
            "the band is empty: the end must be later than the start (bands do not wrap midnight)",
        ));
    }
    Ok(Some(b))
}

/// What results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Departure,
    Duration,
    /// The cheapest class shown (fare with VAT).
    Fare,
    /// Free seats summed over the classes shown.
    SeatsFree,
}

impl SortKey {
    /// Most free seats first is what anyone sorting by seats wants; the rest rise.
    pub fn default_order(self) -> SortOrder {
        match self {
            SortKey::SeatsFree => SortOrder::Desc,
            _ => SortOrder::Asc,
        }
    }
}

impl FromStr for SortKey {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s {
            "departure" => SortKey::Departure,
            "duration" => SortKey::Duration,
            "fare" => SortKey::Fare,
            "seats_free" => SortKey::SeatsFree,
            _ => {
                return Err(ParseError::new(
                    "sort",
                    format!("'{s}' is not one of departure, duration, fare, seats_free"),
                ));
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl FromStr for SortOrder {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err(ParseError::new(
                "order",
                format!("'{s}' is not asc or desc"),
            )),
        }
    }
}

/// The filters of a search. Empty lists and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub classes: Vec<SeatClass>,
    pub trains: Vec<u32>,
    pub depart: Option<TimeBand>,
    pub arrive: Option<TimeBand>,
    /// Whole taka, compared with the fare including VAT.
    pub fare_min: Option<i64>,
    pub fare_max: Option<i64>,
    pub min_free: Option<i64>,
}

impl Filters {
    /// Whether any filter looks at a trip's classes (class, fare, free seats).
    pub fn on_classes(&self) -> bool {
        !self.classes.is_empty()
            || self.fare_min.is_some()
            || self.fare_max.is_some()
            || self.min_free.is_some()
    }
}

/// One search: stations as typed, a date with `days` either side, filters, order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub from: String,
    pub to: String,
    pub date: ServiceDate,
    pub days: u32,
    pub filters: Filters,
    pub sort: SortKey,
    pub order: SortOrder,
}

impl SearchQuery {
    /// The plain search: one date, no filters, earliest first.
    pub fn plain(from: &str, to: &str, date: ServiceDate) -> SearchQuery {
        SearchQuery {
            from: from.to_owned(),
            to: to.to_owned(),
            date,
            days: 0,
            filters: Filters::default(),
            sort: SortKey::Departure,
            order: SortOrder::Asc,
        }
    }

    /// The query from `name=value` pairs (a query string, or CLI flags under
    /// the same names). `class` and `train` may repeat; any other parameter
    /// given twice is refused; unknown names are ignored, as they always were.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<SearchQuery, ParseError> {
        let mut raw = Raw::default();
        for (name, value) in pairs {
            raw.take(name, value)?;
        }
        raw.finish()
    }
}

/// The pairs as read, before the cross-field checks.
#[derive(Default)]
struct Raw {
    from: Option<String>,
    to: Option<String>,
    date: Option<ServiceDate>,
    days: Option<u32>,
    classes: Vec<SeatClass>,
    trains: Vec<u32>,
    depart_after: Option<u32>,
    depart_before: Option<u32>,
    arrive_after: Option<u32>,
    arrive_before: Option<u32>,
    fare_min: Option<i64>,
    fare_max: Option<i64>,
    min_free: Option<i64>,
    sort: Option<SortKey>,
    order: Option<SortOrder>,
}

fn once<T>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), ParseError> {
    if slot.replace(value).is_some() {
        return Err(ParseError::new(field, "given more than once"));
    }
    Ok(())
}

fn int_in<T: FromStr + PartialOrd + std::fmt::Display + Copy>(
    field: &'static str,
    s: &str,
    min: T,
    max: T,
) -> Result<T, ParseError> {
    let bad = || {
        ParseError::new(
            field,
            format!("'{s}' is not a whole number from {min} to {max}"),
        )
    };
    let n: T = s.trim().parse().map_err(|_| bad())?;
    if n < min || n > max {
        return Err(bad());
    }
    Ok(n)
}

fn push_bounded<T: PartialEq>(
    list: &mut Vec<T>,
    field: &'static str,
    value: T,
) -> Result<(), ParseError> {
    if !list.contains(&value) {
        if list.len() == MAX_VALUES {
            return Err(ParseError::new(
                field,
                format!("at most {MAX_VALUES} values"),
            ));
        }
        list.push(value);
    }
    Ok(())
}

impl Raw {
    fn take(&mut self, name: &str, value: &str) -> Result<(), ParseError> {
        match name {
            "from" => once(&mut self.from, "from", value.to_owned()),
            "to" => once(&mut self.to, "to", value.to_owned()),
            "date" => once(&mut self.date, "date", ServiceDate::parse(value)?),
            "days" => once(&mut self.days, "days", int_in("days", value, 0, MAX_DAYS)?),
            "class" => {
                let class = value.parse::<SeatClass>()?;
                push_bounded(&mut self.classes, "class", class)
            }
            "train" => {
                let n = int_in("train", value, 1, MAX_TRAIN_NUMBER)?;
                push_bounded(&mut self.trains, "train", n)
            }
            "depart_after" => once(
                &mut self.depart_after,
                "depart_after",
                parse_clock("depart_after", value)?,
            ),
            "depart_before" => once(
                &mut self.depart_before,
                "depart_before",
                parse_clock("depart_before", value)?,
            ),
            "arrive_after" => once(
                &mut self.arrive_after,
                "arrive_after",
                parse_clock("arrive_after", value)?,
            ),
            "arrive_before" => once(
                &mut self.arrive_before,
                "arrive_before",
                parse_clock("arrive_before", value)?,
            ),
            "fare_min" => once(
                &mut self.fare_min,
                "fare_min",
                int_in("fare_min", value, 0, MAX_FARE)?,
            ),
            "fare_max" => once(
                &mut self.fare_max,
                "fare_max",
                int_in("fare_max", value, 0, MAX_FARE)?,
            ),
            "min_free" => once(
                &mut self.min_free,
                "min_free",
                int_in("min_free", value, 1, MAX_MIN_FREE)?,
            ),
            "sort" => once(&mut self.sort, "sort", value.parse()?),
            "order" => once(&mut self.order, "order", value.parse()?),
            _ => Ok(()),
        }
    }

    fn finish(self) -> Result<SearchQuery, ParseError> {
        let required = |v: Option<String>, field: &'static str| {
            v.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ParseError::new(field, "required"))
        };
        let from = required(self.from, "from")?;
        let to = required(self.to, "to")?;
        let date = self
            .date
            .ok_or_else(|| ParseError::new("date", "required"))?;
        if let (Some(min), Some(max)) = (self.fare_min, self.fare_max)
            && min > max
        {
            return Err(ParseError::new(
                "fare_max",
                format!("{max} is below fare_min {min}"),
            ));
        }
        let sort = self.sort.unwrap_or_default();
        Ok(SearchQuery {
            from,
            to,
            date,
            days: self.days.unwrap_or(0),
            filters: Filters {
                classes: self.classes,
                trains: self.trains,
                depart: band(self.depart_after, self.depart_before, "depart_before")?,
                arrive: band(self.arrive_after, self.arrive_before, "arrive_before")?,
                fare_min: self.fare_min,
                fare_max: self.fare_max,
                min_free: self.min_free,
            },
            sort,
            order: self.order.unwrap_or(sort.default_order()),
        })
    }
}

#[cfg(test)]
mod tests;
