//! An in-memory snapshot of the catalog (stations, trains, fares, trips), shared
//! by all requests. The catalog changes rarely (seeding, admin edits) but every
//! search, seat map and hold needs it, so reloading it per request was the
//! slowest part of a search. Edits made through this process invalidate it at
//! once; edits by other processes on the same database show up within `MAX_AGE`.
//!
//! Fares and trips are read from the store the first time a snapshot is asked
//! for them and remembered for the snapshot's life: a sale asks for the same
//! few station pairs and trips thousands of times a second.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::station::fold_name;
use crate::domain::{
    Fare, FareRate, SeatClass, ServiceDate, Station, StationCode, TrainId, TripId,
};
use crate::store::prelude::*;
use crate::store::{StoreResult, TrainRecord, TripRecord};

const MAX_AGE: Duration = Duration::from_secs(5);

type FareMap = Arc<HashMap<SeatClass, Fare>>;
/// Trips by the `first..=last` service dates they were asked for.
type TripsByDates = HashMap<(ServiceDate, ServiceDate), Arc<Vec<TripRecord>>>;

pub struct Catalog {
    pub stations: Vec<Station>,
    pub trains: Vec<TrainRecord>,
    by_id: HashMap<TrainId, usize>,
    by_number: HashMap<u32, usize>,
    /// Folded code, names and aliases → the first station answering to them.
    by_name: HashMap<String, usize>,
    rates: Arc<HashMap<SeatClass, FareRate>>,
    fares: RwLock<HashMap<(StationCode, StationCode), FareMap>>,
    trips: RwLock<HashMap<TripId, TripRecord>>,
    trips_on: RwLock<TripsByDates>,
}

impl Catalog {
    pub fn train_by_id(&self, id: TrainId) -> Option<&TrainRecord> {
        self.by_id.get(&id).map(|&i| &self.trains[i])
    }

    pub fn train_by_number(&self, number: u32) -> Option<&TrainRecord> {
        self.by_number.get(&number).map(|&i| &self.trains[i])
    }

    /// The station `query` names (as `Station::answers_to`, first in code order),
    /// without folding every station's names on each request.
    pub fn station_named(&self, query: &str) -> Option<&Station> {
        self.by_name
            .get(&fold_name(query))
            .map(|&i| &self.stations[i])
    }

    pub fn fare_rates(&self) -> Arc<HashMap<SeatClass, FareRate>> {
        self.rates.clone()
    }

    /// Published fares between two stations, per class.
    pub async fn fares_between(
        &self,
        store: &dyn Store,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<FareMap> {
        let key = (from.clone(), to.clone());
        if let Some(f) = self.fares.read().get(&key) {
            return Ok(f.clone());
        }
        let fares: FareMap = Arc::new(store.fares_between(from, to).await?.into_iter().collect());
        self.fares.write().insert(key, fares.clone());
        Ok(fares)
    }

    /// A trip record; trips never change once created.
    pub async fn trip(&self, store: &dyn Store, id: TripId) -> StoreResult<Option<TripRecord>> {
        if let Some(t) = self.trips.read().get(&id) {
            return Ok(Some(t.clone()));
        }
        let trip = store.trip(id).await?;
        if let Some(t) = &trip {
            self.trips.write().insert(id, t.clone());
        }
        Ok(trip)
    }

    /// Trips whose service date is within `first..=last`, as `Store::trips_between`.
    pub async fn trips_between(
        &self,
        store: &dyn Store,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Arc<Vec<TripRecord>>> {
        if let Some(t) = self.trips_on.read().get(&(first, last)) {
            return Ok(t.clone());
        }
        let trips = Arc::new(store.trips_between(first, last).await?);
        self.trips_on.write().insert((first, last), trips.clone());
        Ok(trips)
    }
}

#[derive(Default)]
pub struct CatalogCache {
    current: RwLock<Option<(Instant, Arc<Catalog>)>>,
    /// One reload at a time: when the snapshot expires under load, the requests
    /// that notice wait for one reload instead of each reading the whole catalog.
    loading: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    fn fresh(&self) -> Option<Arc<Catalog>> {
        match self.current.read().as_ref() {
            Some((at, catalog)) if at.elapsed() < MAX_AGE => Some(catalog.clone()),
            _ => None,
        }
    }

    pub async fn get(&self, store: &dyn Store) -> StoreResult<Arc<Catalog>> {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let _loading = self.loading.lock().await;
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let stations = store.list_stations().await?;
        let trains = store.list_trains().await?;
        let rates = Arc::new(store.fare_rates().await?.into_iter().collect());
        let by_id = trains.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        let by_number = trains
            .iter()
            .enumerate()
            .map(|(i, t)| (t.train.number, i))
            .collect();
        let mut by_name = HashMap::new();
        for (i, s) in stations.iter().enumerate() {
            let names = [
                Some(s.code.as_str()),
                Some(&s.name_en),
                s.name_bn.as_deref(),
            ];
            for name in names
                .into_iter()
                .flatten()
                .chain(s.aliases.iter().map(String::as_str))
            {
                let folded = fold_name(name);
                if !folded.is_empty() {
                    by_name.entry(folded).or_insert(i);
                }
            }
        }
        let catalog = Arc::new(Catalog {
            stations,
            trains,
            by_id,
            by_number,
            by_name,
            rates,
            fares: RwLock::default(),
            trips: RwLock::default(),
            trips_on: RwLock::default(),
        });
        *self.current.write() = Some((Instant::now(), catalog.clone()));
        Ok(catalog)
    }

    pub fn invalidate(&self) {
        *self.current.write() = None;
    }
}
