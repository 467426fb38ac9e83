//! An in-memory availability snapshot per trip: the seats of the trip and the
//! segments taken on each, shared by every search, seat map and hold.
//!
//! Why: recomputing free-seat counts from every seat row of every trip on each
//! search, and reading all seats of a trip on each seat map and hold, was the
//! largest cost of a sale (a quarter of the CPU). Reads are now a few thousand
//! ANDs in memory, and "sold out" never reaches the database at all.
//!
//! Correctness does not depend on the snapshot: the conditional write in the
//! store stays the authority on who gets a seat. A snapshot that is behind can
//! only make a hold pick a seat that is gone (the write refuses it, the hold
//! picks again) or show a seat as taken a little longer than it is. To keep the
//! latter short, writes made through this process update the snapshot at once
//! (holds set their bits, releases and failed or cancelled orders clear exactly
//! theirs). With a seat feed (Postgres, `app::seat_feed`) these changes are
//! also announced to the other processes on the database, and theirs arrive
//! here as committed masks, applied as they come. Without a feed a snapshot
//! is reloaded after `MAX_AGE`, so other writers show up; with one, after
//! `FOLLOWED_MAX_AGE`, a slow safety net only.

use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::domain::{Seat, SeatClass, SeatId, SegmentMask, TripId};
use crate::store::prelude::*;
use crate::store::{SeatChange, StoreResult};

/// How long a snapshot is trusted before it is read again from the store.
const MAX_AGE: Duration = Duration::from_secs(2);
/// The same while the seat feed brings every committed change: only a net for
/// a change the feed could not name.
const FOLLOWED_MAX_AGE: Duration = Duration::from_secs(30);
/// Past this many trips, those not read for `FORGET_AFTER` are dropped, so a
/// long-running server does not keep every trip it ever showed.
const MAX_TRIPS: usize = 512;
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// The seats of one trip at one moment, with masks kept current by this process.
pub struct TripSeats {
    /// Ordered by coach, then seat number; never changes.
    seats: Vec<Seat>,
    /// `seats[i]`'s taken segments; updated in place, so a hold does not copy the trip.
    taken: Vec<AtomicU64>,
    by_id: HashMap<SeatId, usize>,
    loaded_at: Instant,
    stale: AtomicBool,
}

impl TripSeats {
    fn new(seats: Vec<Seat>) -> TripSeats {
        let taken = seats
            .iter()
            .map(|s| AtomicU64::new(s.taken.bits()))
            .collect();
        let by_id = seats.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        TripSeats {
            seats,
            taken,
            by_id,
            loaded_at: Instant::now(),
            stale: AtomicBool::new(false),
        }
    }

    fn usable(&self, max_age: Duration) -> bool {
        !self.stale.load(Ordering::Acquire) && self.loaded_at.elapsed() < max_age
    }

    /// The seats with their current masks (a copy; cheap next to a database read).
    pub fn seats(&self) -> impl Iterator<Item = Seat> + '_ {
        self.seats.iter().zip(&self.taken).map(|(s, t)| Seat {
            taken: SegmentMask::from_bits(t.load(Ordering::Relaxed)),
            ..s.clone()
        })
    }

    /// The seats of one class with their current masks, without copying labels.
    pub fn of_class(&self, class: SeatClass) -> impl Iterator<Item = (&Seat, SegmentMask)> + '_ {
        self.seats
            .iter()
            .zip(&self.taken)
            .filter(move |(s, _)| s.class == class)
            .map(|(s, t)| (s, SegmentMask::from_bits(t.load(Ordering::Relaxed))))
    }

    /// Seats free for `mask`, per class.
    pub fn free_counts(&self, mask: SegmentMask) -> HashMap<SeatClass, i64> {
        let mut free = HashMap::new();
        for (s, t) in self.seats.iter().zip(&self.taken) {
            if t.load(Ordering::Relaxed) & mask.bits() == 0 {
                *free.entry(s.class).or_insert(0) += 1;
            }
        }
        free
    }

    pub fn seat(&self, id: SeatId) -> Option<&Seat> {
        self.by_id.get(&id).map(|&i| &self.seats[i])
    }

    /// Sets one seat's mask to what the database committed.
    fn set(&self, seat_id: SeatId, taken: SegmentMask) {
        if let Some(&i) = self.by_id.get(&seat_id) {
            self.taken[i].store(taken.bits(), Ordering::Relaxed);
        }
    }

    fn update(&self, seat_ids: &[SeatId], apply: impl Fn(&AtomicU64)) {
        for id in seat_ids {
            if let Some(&i) = self.by_id.get(id) {
                apply(&self.taken[i]);
            }
        }
    }
}

/// One trip's place in the cache.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<TripSeats>>>,
    /// Only one request reloads a trip; the others wait for its result.
    loading: tokio::sync::Mutex<()>,
    /// Bumped whenever seats are freed, so a load that raced with it is not trusted.
    generation: AtomicU64,
    /// While a load reads the store: the feed's changes that arrived meanwhile,
    /// replayed onto the new snapshot (the read may predate them).
    arrived_while_loading: Mutex<Option<Vec<(SeatId, SegmentMask)>>>,
}

impl Slot {
    fn usable(&self, max_age: Duration) -> Option<Arc<TripSeats>> {
        self.current
            .read()
            .as_ref()
            .filter(|s| s.usable(max_age))
            .cloned()
    }

    fn current(&self) -> Option<Arc<TripSeats>> {
        self.current.read().clone()
    }
}

#[derive(Default)]
pub struct Availability {
    slots: Mutex<HashMap<TripId, Arc<Slot>>>,
    /// Whether the seat feed is followed (see `follow`).
    followed: AtomicBool,
    /// Where this process's own changes go to be announced, while followed.
    announcements: Mutex<Option<tokio::sync::mpsc::UnboundedSender<SeatChange>>>,
}

impl Availability {
    fn slot(&self, trip_id: TripId) -> Arc<Slot> {
        let mut slots = self.slots.lock();
        if slots.len() >= MAX_TRIPS && !slots.contains_key(&trip_id) {
            slots.retain(|_, slot| {
                slot.current()
                    .is_some_and(|s| s.loaded_at.elapsed() < FORGET_AFTER)
            });
        }
        slots.entry(trip_id).or_default().clone()
    }

    fn max_age(&self) -> Duration {
        if self.followed.load(Ordering::Acquire) {
            FOLLOWED_MAX_AGE
        } else {
            MAX_AGE
        }
    }

    pub fn followed(&self) -> bool {
        self.followed.load(Ordering::Acquire)
    }

    /// Announce this process's changes through `tx` from now on (`None`: stop).
    pub fn announce_to(&self, tx: Option<tokio::sync::mpsc::UnboundedSender<SeatChange>>) {
        *self.announcements.lock() = tx;
    }

    fn announce(&self, change: SeatChange) {
        if let Some(tx) = self.announcements.lock().as_ref() {
            let _ = tx.send(change);
        }
    }

    /// The seat feed is followed (or no longer is): snapshots may live longer.
    pub fn follow(&self, followed: bool) {
        self.followed.store(followed, Ordering::Release);
    }

    /// The trip's snapshot, loading it when missing, stale or too old.
    pub async fn get(&self, store: &dyn Store, trip_id: TripId) -> StoreResult<Arc<TripSeats>> {
        let slot = self.slot(trip_id);
        let max_age = self.max_age();
        if let Some(s) = slot.usable(max_age) {
            return Ok(s);
        }
        let _loading = slot.loading.lock().await;
        if let Some(s) = slot.usable(max_age) {
            return Ok(s);
        }
        let generation = slot.generation.load(Ordering::Acquire);
        *slot.arrived_while_loading.lock() = Some(Vec::new());
        let read = store.seats(trip_id).await;
        let mut arrived = slot.arrived_while_loading.lock();
        let replay = arrived.take().unwrap_or_default();
        let snapshot = Arc::new(TripSeats::new(read?));
        for (seat_id, taken) in replay {
            snapshot.set(seat_id, taken);
        }
        if slot.generation.load(Ordering::Acquire) != generation {
            // Seats were freed while we read: good enough for this request, not for the next.
            snapshot.stale.store(true, Ordering::Release);
        }
        // Installed under the replay lock: a change arriving now finds it.
        *slot.current.write() = Some(snapshot.clone());
        drop(arrived);
        Ok(snapshot)
    }

    /// The database committed `taken` as the seat's mask (the seat feed).
    /// Trips this process never read are left alone.
    pub fn committed(&self, trip_id: TripId, seat_id: SeatId, taken: SegmentMask) {
        let Some(slot) = self.slots.lock().get(&trip_id).cloned() else {
            return;
        };
        let mut arrived = slot.arrived_while_loading.lock();
        if let Some(pending) = arrived.as_mut() {
            pending.push((seat_id, taken));
        }
        if let Some(s) = slot.current() {
            s.set(seat_id, taken);
        }
    }

    /// A hold of this process took `mask` on these seats.
    pub fn taken(&self, trip_id: TripId, seat_ids: &[SeatId], mask: SegmentMask) {
        if let Some(s) = self.slot(trip_id).current() {
            s.update(seat_ids, |t| {
                t.fetch_or(mask.bits(), Ordering::Relaxed);
            });
        }
        self.announce(SeatChange::Seats {
            trip_id,
            seat_ids: seat_ids.to_vec(),
        });
    }

    /// A hold's `mask` on these seats was given back (released, failed, cancelled).
    pub fn freed(&self, trip_id: TripId, seat_ids: &[SeatId], mask: SegmentMask) {
        let slot = self.slot(trip_id);
        slot.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(s) = slot.current() {
            // Exactly the hold's bits: no other hold can have any of them on these seats.
            s.update(seat_ids, |t| {
                t.fetch_and(!mask.bits(), Ordering::Relaxed);
            });
        }
        self.announce(SeatChange::Seats {
            trip_id,
            seat_ids: seat_ids.to_vec(),
        });
    }

    /// The trip's snapshot is wrong in a way we cannot patch (a lost seat race): read it again.
    pub fn invalidate(&self, trip_id: TripId) {
        let slot = self.slot(trip_id);
        slot.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(s) = slot.current() {
            s.stale.store(true, Ordering::Release);
        }
    }

    /// This process freed seats it cannot name (expired holds): every
    /// process reads every trip again.
    pub fn freed_somewhere(&self) {
        self.invalidate_all();
        self.announce(SeatChange::Gap);
    }

    /// Seats were freed somewhere we cannot name: read every trip again here.
    pub fn invalidate_all(&self) {
        let slots: Vec<TripId> = self.slots.lock().keys().copied().collect();
        for trip_id in slots {
            self.invalidate(trip_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(id: i64, no: u32, class: SeatClass, taken: u64) -> Seat {
        Seat {
            id: SeatId(id),
            coach_seq: 0,
            coach_code: "KA".into(),
            seat_no: no,
            class,
            taken: SegmentMask::from_bits(taken),
        }
    }

    #[test]
    fn counts_follow_taken_and_freed_bits() {
        let a = Availability::default();
        let slot = a.slot(TripId(7));
        *slot.current.write() = Some(Arc::new(TripSeats::new(vec![
            seat(1, 1, SeatClass::Snigdha, 0),
            seat(2, 2, SeatClass::Snigdha, 0b01),
            seat(3, 3, SeatClass::AcBerth, 0),
        ])));
        let snap = slot.usable(MAX_AGE).unwrap();
        let free = |m: u64| snap.free_counts(SegmentMask::from_bits(m));
        assert_eq!(free(0b10)[&SeatClass::Snigdha], 2);
        assert_eq!(free(0b01)[&SeatClass::Snigdha], 1);

        a.taken(TripId(7), &[SeatId(1)], SegmentMask::from_bits(0b10));
        assert_eq!(free(0b10)[&SeatClass::Snigdha], 1);
        a.freed(
            TripId(7),
            &[SeatId(1), SeatId(2)],
            SegmentMask::from_bits(0b10),
        );
        assert_eq!(free(0b10)[&SeatClass::Snigdha], 2);
        // Freeing clears only the freed hold's bits.
        assert_eq!(free(0b01)[&SeatClass::Snigdha], 1);
        assert!(slot.usable(MAX_AGE).is_some());

        // A committed mask from the feed replaces what this process had.
        a.committed(TripId(7), SeatId(2), SegmentMask::from_bits(0b11));
        assert_eq!(free(0b10)[&SeatClass::Snigdha], 1);
        a.committed(TripId(8), SeatId(2), SegmentMask::from_bits(0));
        assert!(
            a.slots.lock().get(&TripId(8)).is_none(),
            "unread trips stay unread"
        );

        a.invalidate_all();
        assert!(slot.usable(MAX_AGE).is_none());
    }
}
