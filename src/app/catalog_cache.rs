//! An in-memory snapshot of the catalog (stations and trains), shared by all
//! requests. The catalog changes rarely (seeding, admin edits) but every search,
//! seat map and hold needs it, so reloading it per request was the slowest part
//! of a search. Edits made through this process invalidate it at once; edits by
//! other processes on the same database show up within `MAX_AGE`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::Station;
use crate::store::{Store, StoreResult, TrainRecord};

const MAX_AGE: Duration = Duration::from_secs(5);

pub struct Catalog {
    pub stations: Vec<Station>,
    pub trains: Vec<TrainRecord>,
    by_id: HashMap<i64, usize>,
    by_number: HashMap<u32, usize>,
}

impl Catalog {
    pub fn train_by_id(&self, id: i64) -> Option<&TrainRecord> {
        self.by_id.get(&id).map(|&i| &self.trains[i])
    }

    pub fn train_by_number(&self, number: u32) -> Option<&TrainRecord> {
        self.by_number.get(&number).map(|&i| &self.trains[i])
    }
}

#[derive(Default)]
pub struct CatalogCache {
    current: RwLock<Option<(Instant, Arc<Catalog>)>>,
}

impl CatalogCache {
    pub async fn get(&self, store: &dyn Store) -> StoreResult<Arc<Catalog>> {
        if let Some((at, catalog)) = self.current.read().expect("catalog lock").as_ref()
            && at.elapsed() < MAX_AGE
        {
            return Ok(catalog.clone());
        }
        let stations = store.list_stations().await?;
        let trains = store.list_trains().await?;
        let by_id = trains.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        let by_number = trains
            .iter()
            .enumerate()
            .map(|(i, t)| (t.train.number, i))
            .collect();
        let catalog = Arc::new(Catalog {
            stations,
            trains,
            by_id,
            by_number,
        });
        *self.current.write().expect("catalog lock") = Some((Instant::now(), catalog.clone()));
        Ok(catalog)
    }

    pub fn invalidate(&self) {
        *self.current.write().expect("catalog lock") = None;
    }
}
