//! Live inventory: who is watching which trip, and when its seats change.
//!
//! Counter clerks keep a trip's seat map open while they sell; it must show
//! within a second what other clerks and online passengers take. One poller
//! per watched trip (not per watcher) reads the trip's seat masks and live
//! holds twice a second and bumps a version when they change. It reads the
//! database rather than listening in-process, so it also sees sales made by
//! other `serve` processes sharing a Postgres. The poller stops when the last
//! watcher leaves.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::{App, AppError, AppResult};
use crate::domain::TripId;

/// How often a watched trip is re-read.
const POLL_EVERY: Duration = Duration::from_millis(400);
/// Watchers (open streams) one server keeps at most; more are refused.
const MAX_WATCHERS: usize = 1024;

pub struct LiveTrips {
    watched: Mutex<HashMap<TripId, watch::Sender<u64>>>,
    slots: Arc<Semaphore>,
    /// Permits `slots` was given in all.
    capacity: Mutex<usize>,
    /// Set when the server stops: open streams end, so shutdown never waits on them.
    closing: watch::Sender<bool>,
}

impl Default for LiveTrips {
    fn default() -> Self {
        LiveTrips {
            watched: Mutex::default(),
            slots: Arc::new(Semaphore::new(MAX_WATCHERS)),
            capacity: Mutex::new(MAX_WATCHERS),
            closing: watch::Sender::new(false),
        }
    }
}

impl LiveTrips {
    /// Makes room for at least `total` open streams (the server's own gate
    /// decides who gets them; this is the ceiling behind it).
    pub fn ensure_capacity(&self, total: usize) {
        let mut capacity = self.capacity.lock();
        if total > *capacity {
            self.slots.add_permits(total - *capacity);
            *capacity = total;
        }
    }

    /// Ends every open stream (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn watch(&self, versions: watch::Receiver<u64>, slot: OwnedSemaphorePermit) -> TripWatch {
        TripWatch {
            versions,
            closing: self.closing.subscribe(),
            _slot: slot,
        }
    }

    fn subscribe(&self, trip_id: TripId) -> Option<watch::Receiver<u64>> {
        let watched = self.watched.lock();
        watched.get(&trip_id).map(|tx| tx.subscribe())
    }
}

/// A watcher of one trip. Dropping it frees its slot.
pub struct TripWatch {
    versions: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl TripWatch {
    /// The current version: it grows each time the trip's seats change.
    pub fn version(&mut self) -> u64 {
        *self.versions.borrow_and_update()
    }

    /// Waits for the next change; None when the server is stopping.
    pub async fn changed(&mut self) -> Option<u64> {
        let changed = tokio::select! {
            r = self.versions.changed() => r.is_ok(),
            _ = self.closing.wait_for(|c| *c) => false,
        };
        changed.then(|| self.version())
    }
}

impl App {
    /// Starts watching a trip's seats. 404 for an unknown trip; "overloaded"
    /// when the server already serves as many watchers as it will.
    pub async fn watch_trip(&self, trip_id: TripId) -> AppResult<TripWatch> {
        self.trip_and_train(trip_id).await?;
        let slot = self.live.slots.clone().try_acquire_owned().map_err(|_| {
            AppError::Overloaded("too many live seat maps are open; try again shortly".into())
        })?;
        if let Some(versions) = self.live.subscribe(trip_id) {
            return Ok(self.live.watch(versions, slot));
        }
        // The baseline is taken before the watcher hears anything, so every
        // change after it is reported.
        let baseline = self.inventory_fingerprint(trip_id).await?;
        let mut watched = self.live.watched.lock();
        if let Some(tx) = watched.get(&trip_id) {
            // Another watcher started a poller meanwhile.
            return Ok(self.live.watch(tx.subscribe(), slot));
        }
        let (tx, rx) = watch::channel(0);
        watched.insert(trip_id, tx.clone());
        tokio::spawn(self.clone().poll_trip(trip_id, tx, baseline));
        Ok(self.live.watch(rx, slot))
    }

    async fn poll_trip(self, trip_id: TripId, tx: watch::Sender<u64>, baseline: u64) {
        let mut last = baseline;
        loop {
            tokio::time::sleep(POLL_EVERY).await;
            {
                // Decided under the lock, so a new watcher either finds this
                // poller running or starts a fresh one.
                let mut watched = self.live.watched.lock();
                if tx.receiver_count() == 0 {
                    watched.remove(&trip_id);
                    return;
                }
            }
            match self.inventory_fingerprint(trip_id).await {
                Ok(now) if now != last => {
                    last = now;
                    tx.send_modify(|v| *v += 1);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(trip = %trip_id, error = %e, "live seat poll failed"),
            }
        }
    }

    /// A hash of everything a seat map shows: each seat's taken segments and
    /// the holds not sold yet (a hold becoming a sale changes no mask).
    async fn inventory_fingerprint(&self, trip_id: TripId) -> AppResult<u64> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for seat in self.store.seats(trip_id).await? {
            (seat.id, seat.taken.bits()).hash(&mut h);
        }
        let mut held = self.store.pending_hold_seats(trip_id).await?;
        held.sort_unstable_by_key(|(seat, mask)| (*seat, mask.bits()));
        for (seat, mask) in held {
            (seat, mask.bits()).hash(&mut h);
        }
        Ok(h.finish())
    }
}
