//! Catalog use cases: stations, trains, trips, trip search and seat maps.

use std::collections::HashMap;

use crate::domain::station::fold_name;
use crate::domain::time::to_local_rfc3339;
use crate::domain::{
    Journey, ParseError, Seat, SeatId, SegmentMask, ServiceDate, Station, StationCode, Train,
    TripId,
};
use crate::store::{NewStation, NewTrip, SeatSpec, TrainRecord, TripRecord, Upsert};
use crate::wire::catalog::{
    CoachSeats, CoachView, SeatMap, SeatState, SeatView, StationView, StopView, TrainRef,
    TripDetail,
};

use super::catalog_cache::Catalog;
use super::{App, AppError, AppResult};

impl From<&Station> for StationView {
    fn from(s: &Station) -> Self {
        StationView {
            code: s.code.to_string(),
            name: s.name_en.clone(),
            name_bn: s.name_bn.clone(),
        }
    }
}

fn train_ref(t: &Train) -> TrainRef {
    TrainRef {
        number: t.number,
        name: t.name.clone(),
    }
}

/// Finds a station by code, English or Bangla name or alias, case-insensitively.
pub fn find_station<'a>(stations: &'a [Station], query: &str) -> AppResult<&'a Station> {
    if let Some(s) = stations.iter().find(|s| s.answers_to(query)) {
        return Ok(s);
    }
    // Suggest names containing what was typed first, then names sharing its first three letters.
    let q = fold_name(query);
    let stem: String = q.chars().take(3).collect();
    let mut ranked: Vec<(u8, &Station)> = stations
        .iter()
        .filter_map(|s| {
            let name = fold_name(&s.name_en);
            if q.is_empty() {
                None
            } else if name.contains(&q) {
                Some((0, s))
            } else if stem.chars().count() == 3 && name.starts_with(&stem) {
                Some((1, s))
            } else {
                None
            }
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, &a.1.name_en).cmp(&(b.0, &b.1.name_en)));
    let suggestions = ranked
        .into_iter()
        .take(5)
        .map(|(_, s)| format!("{} ({})", s.name_en, s.code))
        .collect();
    Err(AppError::UnknownStation {
        query: query.to_owned(),
        suggestions,
    })
}

/// Finds a station through the snapshot's index; the scan in `find_station`
/// only runs to explain a miss.
pub fn station_in<'a>(catalog: &'a Catalog, query: &str) -> AppResult<&'a Station> {
    match catalog.station_named(query) {
        Some(s) => Ok(s),
        None => find_station(&catalog.stations, query),
    }
}

/// Creates a trip of `train` on `date` with its seat inventory; `None` if it exists.
pub(crate) async fn create_trip_for(
    app: &App,
    train: &TrainRecord,
    date: ServiceDate,
) -> AppResult<Option<TripId>> {
    let t = &train.train;
    let seats = t
        .coaches
        .iter()
        .enumerate()
        .flat_map(|(seq, c)| {
            (1..=c.seats).map(move |n| SeatSpec {
                coach_seq: seq as u32,
                coach_code: c.code.clone(),
                seat_no: n,
                class: c.class,
            })
        })
        .collect();
    let trip = NewTrip {
        train_id: train.id,
        date,
        departs_at: date.at(t.stops[0].boards_at()),
        sale_opens_at: app.config.sale.opens_at(date),
        seats,
    };
    let id = app.store.create_trip(&trip).await?;
    // Searches remember the trips of a day; this one must show up at once.
    app.catalog.invalidate();
    Ok(id)
}

impl App {
    /// The current catalog snapshot (stations and trains).
    pub async fn catalog(&self) -> AppResult<std::sync::Arc<super::catalog_cache::Catalog>> {
        Ok(self.catalog.get(self.store.as_ref()).await?)
    }

    pub async fn stations(&self) -> AppResult<Vec<Station>> {
        Ok(self.catalog().await?.stations.clone())
    }

    pub async fn station(&self, query: &str) -> AppResult<Station> {
        station_in(&*self.catalog().await?, query).cloned()
    }

    pub async fn add_station(&self, station: NewStation) -> AppResult<Upsert> {
        if station.name_en.trim().is_empty() {
            return Err(ParseError::new("name", "a station needs a name").into());
        }
        let stations = self.stations().await?;
        if let Some(same_code) = stations.iter().find(|s| s.code == station.code)
            && (same_code.name_en != station.name_en
                || same_code.name_bn != station.name_bn
                || same_code.aliases != station.aliases)
        {
            return Err(AppError::Conflict(format!(
                "code {} already belongs to {}; choose another code",
                station.code, same_code.name_en
            )));
        }
        // A new name must not shadow another station's code, name or alias.
        for name in std::iter::once(&station.name_en).chain(&station.aliases) {
            if let Some(other) = stations
                .iter()
                .find(|s| s.code != station.code && s.answers_to(name))
            {
                return Err(AppError::Conflict(format!(
                    "'{name}' already names station {} ({})",
                    other.name_en, other.code
                )));
            }
        }
        let result = self.store.upsert_station(&station).await?;
        self.catalog.invalidate();
        Ok(result)
    }

    pub async fn trains(&self) -> AppResult<Vec<TrainRecord>> {
        Ok(self.catalog().await?.trains.clone())
    }

    pub async fn train(&self, number: u32) -> AppResult<TrainRecord> {
        self.catalog()
            .await?
            .train_by_number(number)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("no train numbered {number}")))
    }

    /// Schedules one trip (admin): the train must run on that weekday.
    pub async fn schedule_trip(&self, number: u32, date: ServiceDate) -> AppResult<TripId> {
        crate::domain::trip::check_schedulable(date, ServiceDate::today_at(self.now()))?;
        let train = self.train(number).await?;
        if !train.train.runs_on_date(date) {
            return Err(AppError::Conflict(format!(
                "train {number} does not run on {} (off-day: {})",
                date.weekday(),
                train.train.runs_on.off_days().join(", ")
            )));
        }
        create_trip_for(self, &train, date).await?.ok_or_else(|| {
            AppError::Conflict(format!("train {number} already has a trip on {date}"))
        })
    }

    pub async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> AppResult<Vec<TripRecord>> {
        Ok(self
            .catalog()
            .await?
            .trips_between(self.store.as_ref(), first, last)
            .await?
            .to_vec())
    }

    pub(crate) async fn trip_and_train(&self, id: TripId) -> AppResult<(TripRecord, Train)> {
        let catalog = self.catalog().await?;
        let trip = catalog
            .trip(self.store.as_ref(), id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no trip {id}")))?;
        let train = catalog
            .train_by_number(trip.train_number)
            .ok_or_else(|| AppError::NotFound(format!("no train numbered {}", trip.train_number)))?
            .train
            .clone();
        Ok((trip, train))
    }

    pub async fn trip_detail(&self, id: TripId) -> AppResult<TripDetail> {
        let (trip, train) = self.trip_and_train(id).await?;
        let stations = self.stations().await?;
        let by_code: HashMap<_, _> = stations.iter().map(|s| (s.code.clone(), s)).collect();
        let stops = train
            .stops
            .iter()
            .map(|s| StopView {
                station: by_code
                    .get(&s.station)
                    .map(|st| StationView::from(*st))
                    .unwrap_or_else(|| StationView {
                        code: s.station.to_string(),
                        name: s.station.to_string(),
                        name_bn: None,
                    }),
                arrives: s.arrive.map(|t| to_local_rfc3339(trip.date.at(t))),
                departs: s.depart.map(|t| to_local_rfc3339(trip.date.at(t))),
                km: s.km,
            })
            .collect();
        Ok(TripDetail {
            trip_id: trip.id,
            train: train_ref(&train),
            service_date: trip.date.to_string(),
            sale_opens_at: to_local_rfc3339(trip.sale_opens_at),
            stops,
            coaches: train
                .coaches
                .iter()
                .map(|c| CoachView {
                    code: c.code.clone(),
                    class: c.class,
                    seats: c.seats,
                    layout: c.layout.to_string(),
                })
                .collect(),
        })
    }

    /// The seats of a trip, each free or taken for the journey `from` → `to`;
    /// with `detail`, taken seats say whether they are held or sold.
    pub async fn seat_map(
        &self,
        id: TripId,
        from: &str,
        to: &str,
        detail: bool,
    ) -> AppResult<SeatMap> {
        let (trip, train) = self.trip_and_train(id).await?;
        let catalog = self.catalog().await?;
        let from = station_in(&catalog, from)?;
        let to = station_in(&catalog, to)?;
        let journey = journey_on(&train, &from.code, &to.code)?;
        // Passengers' maps come from the availability snapshot. A clerk's
        // detailed map is read from the store: it is refreshed on a live
        // nudge, which may come from another `serve` process the snapshot has
        // not heard of yet. Two reads, not one snapshot: a seat that changes in
        // between may show held for sold (or the reverse) until the next
        // refresh; "free" is exact.
        let (seats, held): (Vec<Seat>, HashMap<SeatId, SegmentMask>) = if detail {
            let mut held: HashMap<SeatId, SegmentMask> = HashMap::new();
            for (seat, mask) in self.store.pending_hold_seats(trip.id).await? {
                let m = held.entry(seat).or_default();
                *m = m.union(mask);
            }
            (self.store.seats(trip.id).await?, held)
        } else {
            let snapshot = self.availability.get(self.store.as_ref(), trip.id).await?;
            (snapshot.seats().collect(), HashMap::new())
        };
        let mut coaches: Vec<CoachSeats> = Vec::new();
        for seat in seats {
            if coaches.last().is_none_or(|c| c.code != seat.coach_code) {
                let layout = train
                    .coaches
                    .get(seat.coach_seq as usize)
                    .map(|c| c.layout.to_string())
                    .unwrap_or_default();
                coaches.push(CoachSeats {
                    code: seat.coach_code.clone(),
                    class: seat.class,
                    layout,
                    free: 0,
                    seats: vec![],
                });
            }
            let coach = coaches.last_mut().expect("pushed above");
            let free = !seat.taken.overlaps(journey.mask());
            coach.free += free as usize;
            let state = detail.then(|| {
                let blocking = SegmentMask::from_bits(seat.taken.bits() & journey.mask().bits());
                let held_bits = held.get(&seat.id).copied().unwrap_or_default();
                if free {
                    SeatState::Free
                } else if blocking.without(held_bits).is_empty() {
                    SeatState::Held
                } else {
                    SeatState::Sold
                }
            });
            coach.seats.push(SeatView {
                seat: seat.label(),
                number: seat.seat_no,
                free,
                state,
            });
        }
        Ok(SeatMap {
            trip_id: trip.id,
            train: train_ref(&train),
            from: from.into(),
            to: to.into(),
            coaches,
        })
    }
}

fn journey_on(train: &Train, from: &StationCode, to: &StationCode) -> AppResult<Journey> {
    train.journey(from, to).ok_or_else(|| {
        ParseError::new(
            "to",
            format!("train {} does not run from {from} to {to}", train.number),
        )
        .into()
    })
}
