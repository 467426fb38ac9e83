//! The seed network: Bangladesh Railway's stations, trains and fares, embedded
//! in the binary from `fixtures/` (see fixtures/README.md for the format and
//! for what is estimated), parsed into domain types.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::domain::{
    Coach, Fare, FareRate, ParseError, SeatClass, SeatLayout, StationCode, Stop, Train, TripTime,
    Weekdays,
};
use crate::store::{FareRow, NewStation};

const STATIONS: &str = include_str!("../../fixtures/stations.json");
const TRAINS: &str = include_str!("../../fixtures/trains.json");
const FARES: &str = include_str!("../../fixtures/fares.json");
const FARE_RATES: &str = include_str!("../../fixtures/fare_rates.json");

#[derive(Deserialize)]
struct StationFx {
    code: String,
    name_en: String,
    name_bn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
struct TrainFx {
    number: u32,
    name: String,
    name_bn: Option<String>,
    runs_on: Vec<String>,
    stops: Vec<StopFx>,
    coaches: Vec<CoachFx>,
}

#[derive(Deserialize)]
struct StopFx {
    station: String,
    arrive: Option<String>,
    depart: Option<String>,
    km: u32,
}

#[derive(Deserialize)]
struct CoachFx {
    code: String,
    class: String,
    seats: u32,
    layout: String,
}

#[derive(Deserialize)]
struct FareFx {
    from: String,
    to: String,
    fares: BTreeMap<String, (i64, i64)>,
}

#[derive(Deserialize)]
struct RateFx {
    per_km: f64,
    min: i64,
    vat_percent: i64,
}

/// The whole seed network, parsed and validated.
pub struct Network {
    pub stations: Vec<NewStation>,
    pub trains: Vec<Train>,
    pub fares: Vec<FareRow>,
    pub rates: Vec<(SeatClass, FareRate)>,
}

fn json<T: for<'de> Deserialize<'de>>(name: &'static str, text: &str) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|e| ParseError::new(name, e.to_string()))
}

fn time(s: Option<String>) -> Result<Option<TripTime>, ParseError> {
    s.map(|s| TripTime::parse(&s)).transpose()
}

fn train(fx: TrainFx) -> Result<Train, ParseError> {
    let stops = fx
        .stops
        .into_iter()
        .map(|s| {
            Ok(Stop {
                station: StationCode::parse(&s.station)?,
                arrive: time(s.arrive)?,
                depart: time(s.depart)?,
                km: s.km,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let coaches = fx
        .coaches
        .into_iter()
        .map(|c| {
            Ok(Coach {
                code: c.code,
                class: c.class.parse()?,
                seats: c.seats,
                layout: SeatLayout::parse(&c.layout)?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let train = Train {
        number: fx.number,
        name: fx.name,
        name_bn: fx.name_bn,
        runs_on: Weekdays::parse_names(&fx.runs_on)?,
        stops,
        coaches,
    };
    train.validate()?;
    Ok(train)
}

/// Parses the embedded fixtures. They are part of the binary, so a failure is a
/// build defect; the unit test below keeps it from ever shipping.
pub fn network() -> Result<Network, ParseError> {
    let stations = json::<Vec<StationFx>>("stations.json", STATIONS)?
        .into_iter()
        .map(|s| {
            Ok(NewStation {
                code: StationCode::parse(&s.code)?,
                name_en: s.name_en,
                name_bn: s.name_bn,
                aliases: s.aliases,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let trains = json::<Vec<TrainFx>>("trains.json", TRAINS)?
        .into_iter()
        .map(train)
        .collect::<Result<_, _>>()?;
    let mut fares = Vec::new();
    for pair in json::<Vec<FareFx>>("fares.json", FARES)? {
        let (from, to) = (
            StationCode::parse(&pair.from)?,
            StationCode::parse(&pair.to)?,
        );
        for (class, (base, vat)) in pair.fares {
            fares.push(FareRow {
                from: from.clone(),
                to: to.clone(),
                class: class.parse()?,
                fare: Fare { base, vat },
            });
        }
    }
    let rates = json::<BTreeMap<String, RateFx>>("fare_rates.json", FARE_RATES)?
        .into_iter()
        .map(|(class, r)| {
            Ok((
                class.parse()?,
                FareRate {
                    per_km: r.per_km,
                    min: r.min,
                    vat_percent: r.vat_percent,
                },
            ))
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Network {
        stations,
        trains,
        fares,
        rates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn embedded_network_parses_and_is_consistent() {
        let net = network().expect("fixtures parse");
        let codes: HashSet<_> = net.stations.iter().map(|s| s.code.clone()).collect();
        assert_eq!(codes.len(), net.stations.len(), "station codes are unique");
        assert!(net.trains.len() >= 100, "the national network is carried");
        for t in &net.trains {
            for s in &t.stops {
                assert!(
                    codes.contains(&s.station),
                    "train {} stops at unknown {}",
                    t.number,
                    s.station
                );
            }
        }
        for f in &net.fares {
            assert!(codes.contains(&f.from) && codes.contains(&f.to));
        }
    }

    #[test]
    fn suborno_702_runs_dhaka_to_chattogram_as_published() {
        let net = network().unwrap();
        let t = net
            .trains
            .iter()
            .find(|t| t.number == 702)
            .expect("Suborno 702");
        let first = t.stops.first().unwrap();
        let last = t.stops.last().unwrap();
        assert_eq!(first.station.as_str(), "DHK");
        assert_eq!(first.depart.unwrap().to_string(), "16:30");
        assert_eq!(last.station.as_str(), "CTG");
        assert_eq!(last.arrive.unwrap().to_string(), "21:25");
        let fare = |class: SeatClass| {
            net.fares
                .iter()
                .find(|f| f.from.as_str() == "DHK" && f.to.as_str() == "CTG" && f.class == class)
                .map(|f| f.fare)
        };
        assert_eq!(
            fare(SeatClass::ShovanChair),
            Some(Fare { base: 450, vat: 0 })
        );
        assert_eq!(
            fare(SeatClass::Snigdha),
            Some(Fare {
                base: 743,
                vat: 112
            })
        );
    }
}
