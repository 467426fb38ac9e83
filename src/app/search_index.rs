//! The search index: for one catalog snapshot, per station pair, the trains
//! that run it with their journey, times, distance and fares per class, built
//! once and kept for the snapshot's life; the trips of each date range come
//! from the same snapshot. Free seats are read at search time from the
//! availability snapshot (`app::availability`), whose per-seat masks holds,
//! releases and the seat feed update in place.
//!
//! Why: a search used to rebuild every train's journey and fare for the pair
//! on each request. With the index a search is a lookup, a pass over the
//! day's trips and a few thousand ANDs per trip; nothing reaches the store
//! except when a snapshot is reloaded (catalog every few seconds, or at once
//! after an edit through this process; a trip's seats when its snapshot ages).
//!
//! Catalog changes: an edit invalidates the catalog cache, the next search gets
//! a new snapshot, and an index built for another snapshot is never used.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{Fare, Journey, SeatClass, StationCode, TrainId, TripTime, journey_fare};
use crate::store::StoreResult;
use crate::store::prelude::*;

use super::catalog_cache::Catalog;

/// One train's run between the searched pair.
#[derive(Debug, Clone)]
pub struct Route {
    pub train_id: TrainId,
    pub journey: Journey,
    pub boards: TripTime,
    pub alights: TripTime,
    pub km: u32,
    /// Only classes with a known fare (published or by rate), in class order.
    pub fares: Vec<(SeatClass, Fare)>,
}

pub type Routes = Arc<HashMap<TrainId, Route>>;

/// Routes per station pair, for the catalog snapshot it was built from.
struct Built {
    catalog: Arc<Catalog>,
    routes: RwLock<HashMap<(StationCode, StationCode), Routes>>,
}

#[derive(Default)]
pub struct SearchIndex {
    current: RwLock<Option<Arc<Built>>>,
}

impl SearchIndex {
    /// The index of `catalog`, started afresh when the snapshot changed.
    fn built_for(&self, catalog: &Arc<Catalog>) -> Arc<Built> {
        if let Some(b) = self.current.read().as_ref()
            && Arc::ptr_eq(&b.catalog, catalog)
        {
            return b.clone();
        }
        let mut current = self.current.write();
        match current.as_ref() {
            Some(b) if Arc::ptr_eq(&b.catalog, catalog) => b.clone(),
            _ => {
                let b = Arc::new(Built {
                    catalog: catalog.clone(),
                    routes: RwLock::default(),
                });
                *current = Some(b.clone());
                b
            }
        }
    }

    /// Every train of the snapshot that calls at `from` and later at `to`.
    pub async fn routes(
        &self,
        store: &dyn Store,
        catalog: &Arc<Catalog>,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<Routes> {
        let built = self.built_for(catalog);
        let key = (from.clone(), to.clone());
        if let Some(r) = built.routes.read().get(&key) {
            return Ok(r.clone());
        }
        let published = catalog.fares_between(store, from, to).await?;
        let rates = catalog.fare_rates();
        let routes: HashMap<TrainId, Route> = catalog
            .trains
            .iter()
            .filter_map(|record| {
                let train = &record.train;
                let journey = train.journey(from, to)?;
                let km = train.distance_km(journey);
                let fares = train
                    .classes()
                    .into_iter()
                    .filter_map(|class| {
                        journey_fare(class, &published, &rates, km).map(|f| (class, f))
                    })
                    .collect();
                Some((
                    record.id,
                    Route {
                        train_id: record.id,
                        journey,
                        boards: train.stops[journey.from_stop()].boards_at(),
                        alights: train.stops[journey.to_stop()].alights_at(),
                        km,
                        fares,
                    },
                ))
            })
            .collect();
        let routes = Arc::new(routes);
        built.routes.write().insert(key, routes.clone());
        Ok(routes)
    }
}
