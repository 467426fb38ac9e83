//! Seat classes and fares.
//!
//! Bangladesh Railway publishes a fare per station pair and class; fares are
//! NOT additive over segments (Dhaka–Feni + Feni–Chattogram ≠ Dhaka–Chattogram),
//! so the fare table is keyed by pair. Where the table has no entry for a pair,
//! a per-class rate per kilometre (fitted from the published table) applies.

use super::ParseError;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Bangladesh Railway's seat classes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub enum SeatClass {
    #[serde(rename = "SHULOV")]
    Shulov,
    #[serde(rename = "SHOVAN")]
    Shovan,
    #[serde(rename = "S_CHAIR")]
    ShovanChair,
    #[serde(rename = "F_SEAT")]
    FirstSeat,
    #[serde(rename = "F_CHAIR")]
    FirstChair,
    #[serde(rename = "F_BERTH")]
    FirstBerth,
    #[serde(rename = "SNIGDHA")]
    Snigdha,
    #[serde(rename = "AC_CHAIR")]
    AcChair,
    #[serde(rename = "AC_S")]
    AcSeat,
    #[serde(rename = "AC_B")]
    AcBerth,
}

impl SeatClass {
    pub const ALL: [SeatClass; 10] = [
        SeatClass::Shulov,
        SeatClass::Shovan,
        SeatClass::ShovanChair,
        SeatClass::FirstSeat,
        SeatClass::FirstChair,
        SeatClass::FirstBerth,
        SeatClass::Snigdha,
        SeatClass::AcChair,
        SeatClass::AcSeat,
        SeatClass::AcBerth,
    ];

    /// The code used in timetables, fare tables and the API.
    pub fn code(self) -> &'static str {
        match self {
            SeatClass::Shulov => "SHULOV",
            SeatClass::Shovan => "SHOVAN",
            SeatClass::ShovanChair => "S_CHAIR",
            SeatClass::FirstSeat => "F_SEAT",
            SeatClass::FirstChair => "F_CHAIR",
            SeatClass::FirstBerth => "F_BERTH",
            SeatClass::Snigdha => "SNIGDHA",
            SeatClass::AcChair => "AC_CHAIR",
            SeatClass::AcSeat => "AC_S",
            SeatClass::AcBerth => "AC_B",
        }
    }

    pub fn is_berth(self) -> bool {
        matches!(self, SeatClass::FirstBerth | SeatClass::AcBerth)
    }
}

impl FromStr for SeatClass {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        SeatClass::ALL
            .into_iter()
            .find(|c| c.code() == wanted)
            .ok_or_else(|| {
                let known: Vec<_> = SeatClass::ALL.iter().map(|c| c.code()).collect();
                ParseError::new(
                    "class",
                    format!("unknown seat class '{s}' (known: {})", known.join(", ")),
                )
            })
    }
}

impl fmt::Display for SeatClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A fare in whole taka, as Bangladesh Railway quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Fare {
    pub base: i64,
    pub vat: i64,
}

impl Fare {
    pub fn total(self) -> i64 {
        self.base + self.vat
    }
}

/// The fallback rule for a class when the fare table has no entry for a pair.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FareRate {
    pub per_km: f64,
    pub min: i64,
    pub vat_percent: i64,
}

impl FareRate {
    pub fn fare_for(&self, km: u32) -> Fare {
        let base = ((self.per_km * km as f64).round() as i64).max(self.min);
        Fare {
            base,
            vat: vat_on(base, self.vat_percent),
        }
    }
}

/// The fare of one seat of `class` for a journey of `km` between a station
/// pair: the fare published for the pair (`published`, by class) when there is
/// one, else the class's rate per kilometre. `None` when neither is known.
pub fn journey_fare(
    class: SeatClass,
    published: &HashMap<SeatClass, Fare>,
    rates: &HashMap<SeatClass, FareRate>,
    km: u32,
) -> Option<Fare> {
    published
        .get(&class)
        .copied()
        .or_else(|| rates.get(&class).map(|r| r.fare_for(km)))
}

/// VAT rounded up to the next taka, as the published table does (743 × 15 % → 112).
pub fn vat_on(base: i64, percent: i64) -> i64 {
    (base * percent + 99) / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes_round_trip() {
        for c in SeatClass::ALL {
            assert_eq!(c.code().parse::<SeatClass>().unwrap(), c);
        }
        assert_eq!(
            "s_chair".parse::<SeatClass>().unwrap(),
            SeatClass::ShovanChair
        );
        let e = "BUSINESS".parse::<SeatClass>().unwrap_err();
        assert!(e.message.contains("S_CHAIR"));
    }

    #[test]
    fn vat_rounds_up_like_the_published_table() {
        assert_eq!(vat_on(743, 15), 112);
        assert_eq!(vat_on(891, 15), 134);
        assert_eq!(vat_on(595, 15), 90);
        assert_eq!(vat_on(450, 0), 0);
    }

    #[test]
    fn a_published_pair_fare_beats_the_rate_and_the_rate_fills_gaps() {
        let rate = FareRate {
            per_km: 1.4,
            min: 45,
            vat_percent: 0,
        };
        let published = HashMap::from([(
            SeatClass::Snigdha,
            Fare {
                base: 743,
                vat: 112,
            },
        )]);
        let rates = HashMap::from([(SeatClass::Snigdha, rate), (SeatClass::ShovanChair, rate)]);
        assert_eq!(
            journey_fare(SeatClass::Snigdha, &published, &rates, 100),
            Some(Fare {
                base: 743,
                vat: 112
            })
        );
        assert_eq!(
            journey_fare(SeatClass::ShovanChair, &published, &rates, 100),
            Some(Fare { base: 140, vat: 0 })
        );
        assert_eq!(
            journey_fare(SeatClass::AcBerth, &published, &rates, 100),
            None
        );
    }

    #[test]
    fn rate_fallback_respects_the_minimum() {
        let r = FareRate {
            per_km: 1.4,
            min: 45,
            vat_percent: 15,
        };
        assert_eq!(r.fare_for(10), Fare { base: 45, vat: 7 });
        assert_eq!(r.fare_for(100).base, 140);
    }
}
