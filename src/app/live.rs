//! Live inventory: who is watching which trip, and when its seats change.
//!
//! Counter clerks keep a trip's seat map open while they sell; it must show
//! within a second what other clerks and online passengers take. A watched
//! trip's version is bumped by the seat feed (`app::seat_feed`: seats taken
//! or given back, announced by whichever process changed them) as soon as
//! the change is heard. One poller per watched trip (not per watcher) also reads
//! the trip's seat masks and live holds and bumps the version when they
//! changed: every `POLL_EVERY` where there is no feed (SQLite, one process),
//! every `SAFETY_POLL_EVERY` as a net where there is one. The poller stops
//! when the last watcher leaves.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::{App, AppError, AppResult};
use crate::domain::TripId;

/// How often a watched trip is re-read without a seat feed.
const POLL_EVERY: Duration = Duration::from_millis(400);
/// How often with one: for what the feed does not tell (a held seat becoming
/// sold in another process) and any change it lost.
const SAFETY_POLL_EVERY: Duration = Duration::from_secs(1);
/// Watchers (open streams) one server keeps at most; more are refused.
const MAX_WATCHERS: usize = 1024;

pub struct LiveTrips {
    watched: Mutex<HashMap<TripId, watch::Sender<u64>>>,
    slots: Arc<Semaphore>,
    /// Permits `slots` was given in all.
    capacity: Mutex<usize>,
    /// Set when the server stops: open streams end, so shutdown never waits on them.
    closing: watch::Sender<bool>,
    /// Whether the seat feed is followed (pollers then only keep a slow net).
    followed: AtomicBool,
}

impl Default for LiveTrips {
    fn default() -> Self {
        LiveTrips {
            watched: Mutex::default(),
            slots: Arc::new(Semaphore::new(MAX_WATCHERS)),
            capacity: Mutex::new(MAX_WATCHERS),
            closing: watch::Sender::new(false),
            followed: AtomicBool::new(false),
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

    /// The seat feed is followed (or no longer is).
    pub fn follow(&self, followed: bool) {
        self.followed.store(followed, Ordering::Release);
    }

    fn poll_every(&self) -> Duration {
        if self.followed.load(Ordering::Acquire) {
            SAFETY_POLL_EVERY
        } else {
            POLL_EVERY
        }
    }

    /// The trip's seats changed (the seat feed said so): its watchers refresh.
    pub fn changed(&self, trip_id: TripId) {
        if let Some(tx) = self.watched.lock().get(&trip_id) {
            tx.send_modify(|v| *v += 1);
        }
    }

    /// Changes may have been missed anywhere: every watcher refreshes.
    pub fn changed_all(&self) {
        for tx in self.watched.lock().values() {
            tx.send_modify(|v| *v += 1);
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
            tokio::time::sleep(self.live.poll_every()).await;
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
