//! Which trips are gated by a queued sale, and each sale's settings: read from
//! the database, so every `serve` process gates the same trips, with what can
//! safely be remembered remembered.
//!
//! A trip never leaves its sale (sales are not deleted), so "trip T is gated
//! by sale S" is kept for good. "Trip T is not gated" is kept for a second
//! (`NOT_GATED_TTL`): without it every hold and order on an unqueued trip (on
//! most days, all of them) read the database once more. A sale queued through
//! this process gates its trips here at once; one queued through another
//! process gates them here within that second. Settings are kept a short
//! while: the room reads its pause, rate and cap from its own state; the
//! cached settings only start a room that lost its state, and rooms reached
//! through this process see this process's changes at once.

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::{AppError, AppResult, Clock};
use crate::domain::TripId;
use crate::domain::waiting_room::{QueuedSale, SaleControl};
use crate::store::Store;

/// How long a sale's settings are trusted before they are read again.
const SETTINGS_TTL: Duration = Duration::from_secs(5);

/// How long "this trip is in no queued sale" is trusted (for sales queued
/// through other processes; this process's own are known at once).
const NOT_GATED_TTL: chrono::Duration = chrono::Duration::seconds(1);

/// Trips remembered as not gated at most; past it the memory starts afresh.
const MAX_NOT_GATED: usize = 100_000;

pub(super) struct SaleDirectory {
    store: Arc<dyn Store>,
    gated: RwLock<HashMap<TripId, String>>,
    /// Trips read to be in no queued sale, and when (by the app's clock).
    not_gated: RwLock<HashMap<TripId, DateTime<Utc>>>,
    clock: Clock,
    sales: RwLock<HashMap<String, (Instant, Arc<QueuedSale>)>>,
}

impl SaleDirectory {
    pub(super) fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        SaleDirectory {
            store,
            gated: RwLock::default(),
            not_gated: RwLock::default(),
            clock,
            sales: RwLock::default(),
        }
    }

    /// Records a new sale (refused if its id or one of its trips is taken).
    pub(super) async fn create(&self, sale: QueuedSale) -> AppResult<Arc<QueuedSale>> {
        self.store.create_queued_sale(&sale).await?;
        let mut gated = self.gated.write();
        for trip in &sale.settings.trip_ids {
            gated.insert(*trip, sale.settings.id.clone());
        }
        drop(gated);
        Ok(self.remember(sale))
    }

    /// Applies an admin's change and returns the sale as it now is.
    pub(super) async fn control(
        &self,
        id: &str,
        change: SaleControl,
    ) -> AppResult<Arc<QueuedSale>> {
        let sale = self
            .store
            .control_queued_sale(id, &change)
            .await?
            .ok_or_else(|| no_sale(id))?;
        Ok(self.remember(sale))
    }

    /// The sale `id`, or NotFound.
    pub(super) async fn sale(&self, id: &str) -> AppResult<Arc<QueuedSale>> {
        if let Some((at, sale)) = self.sales.read().get(id)
            && at.elapsed() < SETTINGS_TTL
        {
            return Ok(sale.clone());
        }
        let sale = self
            .store
            .queued_sale(id)
            .await?
            .ok_or_else(|| no_sale(id))?;
        Ok(self.remember(sale))
    }

    /// The sale that gates `trip`, if any.
    pub(super) async fn sale_of_trip(&self, trip: TripId) -> AppResult<Option<Arc<QueuedSale>>> {
        let known = self.gated.read().get(&trip).cloned();
        let id = match known {
            Some(id) => id,
            None if self.known_not_gated(trip) => return Ok(None),
            None => {
                let read_at = self.clock.now();
                match self.store.queued_sale_of_trip(trip).await? {
                    Some(id) => {
                        self.gated.write().insert(trip, id.clone());
                        id
                    }
                    None => {
                        self.remember_not_gated(trip, read_at);
                        return Ok(None);
                    }
                }
            }
        };
        self.sale(&id).await.map(Some)
    }

    /// Whether `trip` was read to be in no queued sale less than
    /// `NOT_GATED_TTL` ago (`gated`, checked first, overrides it).
    fn known_not_gated(&self, trip: TripId) -> bool {
        self.not_gated
            .read()
            .get(&trip)
            .is_some_and(|at| self.clock.now() - *at < NOT_GATED_TTL)
    }

    /// Remembers a "not gated" read begun at `read_at` (so its age counts
    /// from before the read).
    fn remember_not_gated(&self, trip: TripId, read_at: DateTime<Utc>) {
        let mut not_gated = self.not_gated.write();
        if not_gated.len() >= MAX_NOT_GATED {
            not_gated.clear();
        }
        not_gated.insert(trip, read_at);
    }

    /// Ids of the sales this process has seen (at most `limit`, by id).
    pub(super) fn known_ids(&self, limit: usize) -> Vec<String> {
        let mut ids: Vec<String> = self.sales.read().keys().cloned().collect();
        ids.sort();
        ids.truncate(limit);
        ids
    }

    fn remember(&self, sale: QueuedSale) -> Arc<QueuedSale> {
        let sale = Arc::new(sale);
        self.sales
            .write()
            .insert(sale.settings.id.clone(), (Instant::now(), sale.clone()));
        sale
    }
}

fn no_sale(id: &str) -> AppError {
    AppError::NotFound(format!("no queued sale '{id}'"))
}
