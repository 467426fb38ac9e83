//! Trip search with filters, facets and sorting, answered from memory: the
//! search index (`search_index`) for the trains of a station pair, the catalog
//! snapshot for the trips of the dates, the availability snapshot for free
//! seats. The rules (what a filter keeps, how facets count, how results sort)
//! are the domain's (`domain::search`); this module gathers the candidates and
//! shapes the answer. The HTTP API, the CLI and the web app all call
//! [`App::find_trips`].

use std::collections::HashMap;

use crate::domain::search::{Candidate, FacetCounts, Offer, SearchQuery, select};
use crate::domain::time::to_local_rfc3339;
use crate::domain::trip::sale_state;
use crate::domain::{ParseError, ServiceDate};
use crate::wire::catalog::{
    ClassOffer, FacetValue, Facets, SaleView, SearchResult, TrainRef, TripOption,
};

use super::catalog::station_in;
use super::{App, AppResult};

impl App {
    /// Trips that call at `from` and later at `to`, boarding at `from` on `date` (Dhaka time).
    pub async fn search(&self, from: &str, to: &str, date: ServiceDate) -> AppResult<SearchResult> {
        self.find_trips(&SearchQuery::plain(from, to, date)).await
    }

    /// The trips a query asks for, in its order, with the facet counts.
    pub async fn find_trips(&self, q: &SearchQuery) -> AppResult<SearchResult> {
        let catalog = self.catalog().await?;
        let from = station_in(&catalog, &q.from)?;
        let to = station_in(&catalog, &q.to)?;
        if from.id == to.id {
            return Err(
                ParseError::new("to", "origin and destination are the same station").into(),
            );
        }
        let now = self.now();
        let today = ServiceDate::today_at(now);
        if q.date < today {
            return Err(ParseError::new("date", format!("{} is in the past", q.date)).into());
        }
        let days = i64::from(q.days);
        let first = q.date.add_days(-days).max(today);
        let last = q.date.add_days(days);

        let store = self.store.as_ref();
        let routes = self
            .search_index
            .routes(store, &catalog, &from.code, &to.code)
            .await?;
        // A train that left the day before may reach `from` after midnight.
        let trips = catalog
            .trips_between(store, first.add_days(-1), last)
            .await?;
        let mut found = Vec::new();
        for trip in trips.iter() {
            let Some(route) = routes.get(&trip.train_id) else {
                continue;
            };
            let boards = trip.date.at(route.boards);
            let boarding_date = ServiceDate::today_at(boards);
            if boarding_date < first || boarding_date > last {
                continue;
            }
            // Free seats from the availability snapshot: no seat row is read here.
            let seats = self.availability.get(store, trip.id).await?;
            let free = seats.free_counts(route.journey.mask());
            let offers = route
                .fares
                .iter()
                .map(|(class, fare)| Offer {
                    class: *class,
                    total: fare.total(),
                    free: free.get(class).copied().unwrap_or(0),
                })
                .collect();
            let candidate = Candidate {
                train: trip.train_number,
                date: boarding_date,
                boards,
                alights: trip.date.at(route.alights),
                offers,
            };
            found.push((trip, route, candidate));
        }
        let candidates: Vec<Candidate> = found.iter().map(|f| f.2.clone()).collect();
        let selection = select(&q.filters, &candidates, q.sort, q.order);

        let trips = selection
            .hits
            .iter()
            .map(|hit| {
                let (trip, route, c) = &found[hit.candidate];
                let train = catalog.train_by_id(trip.train_id).map(|t| &t.train);
                TripOption {
                    trip_id: trip.id,
                    train: TrainRef {
                        number: trip.train_number,
                        name: train.map(|t| t.name.clone()).unwrap_or_default(),
                    },
                    service_date: trip.date.to_string(),
                    departs: to_local_rfc3339(c.boards),
                    arrives: to_local_rfc3339(c.alights),
                    duration_minutes: (c.alights - c.boards).num_minutes(),
                    distance_km: route.km,
                    sale: SaleView {
                        state: sale_state(trip.sale_opens_at, c.boards, now),
                        opens_at: to_local_rfc3339(trip.sale_opens_at),
                    },
                    classes: hit
                        .offers
                        .iter()
                        .map(|&k| {
                            let (class, fare) = route.fares[k];
                            ClassOffer {
                                class,
                                fare: fare.base,
                                vat: fare.vat,
                                total: fare.total(),
                                seats_free: c.offers[k].free,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let names: HashMap<u32, String> = found
            .iter()
            .filter_map(|(trip, _, _)| {
                let t = catalog.train_by_id(trip.train_id)?;
                Some((trip.train_number, t.train.name.clone()))
            })
            .collect();
        Ok(SearchResult {
            from: from.into(),
            to: to.into(),
            date: q.date.to_string(),
            first_date: first.to_string(),
            last_date: last.to_string(),
            trips,
            facets: facets_view(selection.facets, &names),
        })
    }
}

fn facets_view(f: FacetCounts, names: &HashMap<u32, String>) -> Facets {
    let plain = |value: String, count: u32| FacetValue {
        value,
        label: None,
        count,
    };
    Facets {
        class: f
            .class
            .into_iter()
            .map(|(c, n)| plain(c.to_string(), n))
            .collect(),
        train: f
            .train
            .into_iter()
            .map(|(t, n)| FacetValue {
                value: t.to_string(),
                label: names.get(&t).cloned(),
                count: n,
            })
            .collect(),
        departure: f
            .departure
            .into_iter()
            .map(|(b, n)| plain(b.label().to_owned(), n))
            .collect(),
        arrival: f
            .arrival
            .into_iter()
            .map(|(b, n)| plain(b.label().to_owned(), n))
            .collect(),
        date: f
            .date
            .into_iter()
            .map(|(d, n)| plain(d.to_string(), n))
            .collect(),
    }
}
