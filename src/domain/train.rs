//! Trains: number, name, timetable (ordered stops), running days and coaches.

use chrono::Weekday;
use std::fmt;

use super::ParseError;
use super::fare::SeatClass;
use super::segment::{Journey, MAX_SEGMENTS};
use super::station::StationCode;
use super::time::{ServiceDate, TripTime};

/// A set of weekdays on which a train runs (bit 0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0b111_1111);

    pub fn from_bits(bits: u8) -> Self {
        Weekdays(bits & 0b111_1111)
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn parse_names<S: AsRef<str>>(names: &[S]) -> Result<Self, ParseError> {
        let mut bits = 0u8;
        for name in names {
            let name = name.as_ref();
            let i = DAY_NAMES
                .iter()
                .position(|d| d.eq_ignore_ascii_case(name.get(..3).unwrap_or(name)))
                .ok_or_else(|| ParseError::new("runs_on", format!("'{name}' is not a weekday")))?;
            bits |= 1 << i;
        }
        Ok(Weekdays(bits))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| DAY_NAMES[i])
            .collect()
    }

    /// The days the train does not run ("off-days"), e.g. ["Mon"] for Suborno 702.
    pub fn off_days(self) -> Vec<&'static str> {
        Weekdays(!self.0 & 0b111_1111).names()
    }
}

/// How the seats of a coach are laid out, so a seat map can draw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatLayout {
    /// Rows of `left` seats, an aisle, then `right` seats ("2+2", "2+3").
    Rows { left: u8, right: u8 },
    /// Cabins of four berths.
    Berths,
}

impl SeatLayout {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("layout", format!("'{s}' is not a layout like 2+2 or berth"));
        if s.eq_ignore_ascii_case("berth") {
            return Ok(SeatLayout::Berths);
        }
        let (l, r) = s.split_once('+').ok_or_else(bad)?;
        let left: u8 = l.trim().parse().map_err(|_| bad())?;
        let right: u8 = r.trim().parse().map_err(|_| bad())?;
        if left == 0 || right == 0 || left + right > 6 {
            return Err(bad());
        }
        Ok(SeatLayout::Rows { left, right })
    }

    pub fn seats_per_row(self) -> u8 {
        match self {
            SeatLayout::Rows { left, right } => left + right,
            SeatLayout::Berths => 4,
        }
    }
}

impl fmt::Display for SeatLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeatLayout::Rows { left, right } => write!(f, "{left}+{right}"),
            SeatLayout::Berths => f.write_str("berth"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Coach {
    /// Bangladesh Railway's coach letter code (KA, KHA, GA, …); seats are "KA-12".
    pub code: String,
    pub class: SeatClass,
    pub seats: u32,
    pub layout: SeatLayout,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub station: StationCode,
    pub arrive: Option<TripTime>,
    pub depart: Option<TripTime>,
    /// Distance from the first stop. Estimated for the seed network (see fixtures/README.md).
    pub km: u32,
}

impl Stop {
    /// When a passenger boarding here leaves (the departure, or arrival for the last stop).
    pub fn boards_at(&self) -> TripTime {
        self.depart
            .or(self.arrive)
            .expect("validated stop has a time")
    }

    /// When a passenger alighting here arrives.
    pub fn alights_at(&self) -> TripTime {
        self.arrive
            .or(self.depart)
            .expect("validated stop has a time")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Train {
    pub number: u32,
    pub name: String,
    pub name_bn: Option<String>,
    pub runs_on: Weekdays,
    pub stops: Vec<Stop>,
    pub coaches: Vec<Coach>,
}

impl Train {
    /// Checks the rules every train must satisfy before it is stored.
    pub fn validate(&self) -> Result<(), ParseError> {
        let who = format!("train {}", self.number);
        if self.name.trim().is_empty() {
            return Err(ParseError::new("name", format!("{who} has no name")));
        }
        if self.stops.len() < 2 || self.stops.len() > MAX_SEGMENTS + 1 {
            return Err(ParseError::new(
                "stops",
                format!("{who} must have 2 to {} stops", MAX_SEGMENTS + 1),
            ));
        }
        let last = self.stops.len() - 1;
        let mut previous: Option<(TripTime, u32)> = None;
        for (i, stop) in self.stops.iter().enumerate() {
            if (i > 0 && stop.arrive.is_none()) || (i < last && stop.depart.is_none()) {
                return Err(ParseError::new(
                    "stops",
                    format!("{who}: stop {} lacks a time", stop.station),
                ));
            }
            if let (Some(a), Some(d)) = (stop.arrive, stop.depart)
                && d < a
            {
                return Err(ParseError::new(
                    "stops",
                    format!("{who}: leaves {} before arriving", stop.station),
                ));
            }
            if let Some((t, km)) = previous
                && (stop.alights_at() < t || (i > 0 && stop.km <= km))
            {
                return Err(ParseError::new(
                    "stops",
                    format!(
                        "{who}: times and distances must grow along the route at {}",
                        stop.station
                    ),
                ));
            }
            if self.stops[..i].iter().any(|s| s.station == stop.station) {
                return Err(ParseError::new(
                    "stops",
                    format!("{who} calls at {} twice", stop.station),
                ));
            }
            previous = Some((stop.boards_at(), stop.km));
        }
        if self.coaches.is_empty() {
            return Err(ParseError::new("coaches", format!("{who} has no coaches")));
        }
        Ok(())
    }

    pub fn stop_index(&self, station: &StationCode) -> Option<usize> {
        self.stops.iter().position(|s| &s.station == station)
    }

    /// The journey between two stations of this train, if it calls at both in that order.
    pub fn journey(&self, from: &StationCode, to: &StationCode) -> Option<Journey> {
        let i = self.stop_index(from)?;
        let j = self.stop_index(to)?;
        Journey::new(i, j, self.stops.len()).ok()
    }

    /// How far a journey on this train goes, in kilometres (what a rate per km charges for).
    pub fn distance_km(&self, journey: Journey) -> u32 {
        self.stops[journey.to_stop()].km - self.stops[journey.from_stop()].km
    }

    pub fn runs_on_date(&self, date: ServiceDate) -> bool {
        self.runs_on.contains(date.weekday())
    }

    pub fn classes(&self) -> Vec<SeatClass> {
        let mut classes: Vec<_> = self.coaches.iter().map(|c| c.class).collect();
        classes.sort();
        classes.dedup();
        classes
    }

    pub fn seat_count(&self) -> u32 {
        self.coaches.iter().map(|c| c.seats).sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample_train() -> Train {
        let stop = |code: &str, arrive: Option<&str>, depart: Option<&str>, km| Stop {
            station: StationCode::parse(code).unwrap(),
            arrive: arrive.map(|t| TripTime::parse(t).unwrap()),
            depart: depart.map(|t| TripTime::parse(t).unwrap()),
            km,
        };
        Train {
            number: 742,
            name: "Turna".into(),
            name_bn: None,
            runs_on: Weekdays::ALL,
            stops: vec![
                stop("DHK", None, Some("23:15"), 0),
                stop("APT", Some("23:38"), Some("23:43"), 21),
                stop("FNI", Some("03:10+1"), Some("03:12+1"), 205),
                stop("CTG", Some("05:15+1"), None, 321),
            ],
            coaches: vec![Coach {
                code: "KA".into(),
                class: SeatClass::ShovanChair,
                seats: 60,
                layout: SeatLayout::parse("2+2").unwrap(),
            }],
        }
    }

    #[test]
    fn a_night_train_validates_and_finds_journeys() {
        let t = sample_train();
        t.validate().unwrap();
        let dhk = StationCode::parse("DHK").unwrap();
        let fni = StationCode::parse("FNI").unwrap();
        assert_eq!(t.journey(&dhk, &fni).unwrap().mask().bits(), 0b11);
        assert!(t.journey(&fni, &dhk).is_none(), "wrong direction");
    }

    #[test]
    fn validation_refuses_time_travel_and_repeated_stations() {
        let mut t = sample_train();
        t.stops[2].arrive = Some(TripTime::parse("22:00").unwrap());
        assert!(t.validate().is_err());
        let mut t = sample_train();
        t.stops[2].station = StationCode::parse("DHK").unwrap();
        assert!(t.validate().is_err());
        let mut t = sample_train();
        t.stops[2].km = 10;
        assert!(t.validate().is_err());
    }

    #[test]
    fn weekdays_parse_and_name_the_off_day() {
        let w = Weekdays::parse_names(&["Fri", "Sat", "Sun", "Tue", "Wed", "Thu"]).unwrap();
        assert_eq!(w.off_days(), vec!["Mon"]);
        assert!(!w.contains(Weekday::Mon));
        assert!(w.contains(Weekday::Fri));
        assert!(Weekdays::parse_names(&["Funday"]).is_err());
    }

    #[test]
    fn layouts_parse() {
        assert_eq!(SeatLayout::parse("2+3").unwrap().seats_per_row(), 5);
        assert_eq!(SeatLayout::parse("berth").unwrap(), SeatLayout::Berths);
        assert!(SeatLayout::parse("9+9").is_err());
    }
}
