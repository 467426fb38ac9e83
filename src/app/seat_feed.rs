//! Seat changes between processes: what this process takes or gives back is
//! announced to every process on the database (Postgres NOTIFY, sent after
//! the write committed), and what any process announces is read back here:
//! the named seats' committed masks patch the availability snapshot and wake
//! the live seat streams.
//!
//! Measured on one Postgres with two apps (tests/it/seat_feed_postgres.rs):
//! a hold made through one process reached the other's live stream and seat
//! map in tens of milliseconds, where polling took up to `live::POLL_EVERY`
//! (400 ms) and `availability::MAX_AGE` (2 s). Polling stays, slower, as a
//! net (and for what is not announced: a held seat becoming sold).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;

use super::App;
use crate::domain::{SeatId, TripId};
use crate::store::SeatChange;

/// Wait before asking the store for its feed again after it failed.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Changes made within this long are announced together, in one round trip.
const BATCH_WINDOW: Duration = Duration::from_millis(10);

/// Announces this process's changes and applies everyone's, until shutdown.
/// Returns at once on a backend without a feed (SQLite).
pub(crate) async fn follow(app: App, mut shutdown: watch::Receiver<bool>) {
    loop {
        let mut feed = match app.store.seat_feed().await {
            Ok(Some(feed)) => feed,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "seat feed unavailable; polling meanwhile");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => continue,
                    _ = shutdown.changed() => return,
                }
            }
        };
        let (tx, rx) = unbounded_channel();
        app.availability.announce_to(Some(tx));
        let announcer = tokio::spawn(announce(app.clone(), rx));
        app.following(true);
        // Whatever changed before the feed began is read again.
        app.apply(SeatChange::Gap).await;
        let stop = loop {
            tokio::select! {
                change = feed.recv() => match change {
                    Some(change) => app.apply(change).await,
                    None => break false,
                },
                _ = shutdown.changed() => break true,
            }
        };
        app.availability.announce_to(None);
        announcer.abort();
        app.following(false);
        if stop {
            return;
        }
    }
}

/// Sends what this process changed, a batch at a time.
async fn announce(app: App, mut changes: UnboundedReceiver<SeatChange>) {
    while let Some(first) = changes.recv().await {
        tokio::time::sleep(BATCH_WINDOW).await;
        let mut batch = vec![first];
        while let Ok(more) = changes.try_recv() {
            batch.push(more);
        }
        if let Err(e) = app.store.announce(&merge(batch)).await {
            // The others see it by polling instead.
            tracing::warn!(error = %e, "announcing seat changes failed");
        }
    }
}

/// One announcement per trip, each seat once; "everything" once.
fn merge(batch: Vec<SeatChange>) -> Vec<SeatChange> {
    let mut gap = false;
    let mut trips: BTreeMap<TripId, BTreeSet<SeatId>> = BTreeMap::new();
    for change in batch {
        match change {
            SeatChange::Gap => gap = true,
            SeatChange::Seats { trip_id, seat_ids } => {
                trips.entry(trip_id).or_default().extend(seat_ids)
            }
        }
    }
    let mut merged: Vec<SeatChange> = trips
        .into_iter()
        .map(|(trip_id, seats)| SeatChange::Seats {
            trip_id,
            seat_ids: seats.into_iter().collect(),
        })
        .collect();
    if gap {
        merged.push(SeatChange::Gap);
    }
    merged
}

impl App {
    /// Whether this process hears other processes' seat changes as they
    /// happen (the feed is up), rather than by polling.
    pub fn follows_seat_feed(&self) -> bool {
        self.availability.followed()
    }

    fn following(&self, yes: bool) {
        self.availability.follow(yes);
        self.live.follow(yes);
    }

    async fn apply(&self, change: SeatChange) {
        match change {
            SeatChange::Seats { trip_id, seat_ids } => {
                match self.store.seat_masks(&seat_ids).await {
                    Ok(masks) => {
                        for (seat_id, taken) in masks {
                            self.availability.committed(trip_id, seat_id, taken);
                        }
                    }
                    // Read the trip again rather than trust what we have.
                    Err(e) => {
                        tracing::warn!(error = %e, trip = %trip_id, "reading announced seats failed");
                        self.availability.invalidate(trip_id);
                    }
                }
                self.live.changed(trip_id);
            }
            SeatChange::Gap => {
                self.availability.invalidate_all();
                self.live.changed_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_names_each_trip_and_seat_once() {
        let seats = |trip, ids: &[i64]| SeatChange::Seats {
            trip_id: TripId(trip),
            seat_ids: ids.iter().copied().map(SeatId).collect(),
        };
        let merged = merge(vec![
            seats(2, &[5, 6]),
            seats(1, &[1]),
            SeatChange::Gap,
            seats(2, &[6, 7]),
            SeatChange::Gap,
        ]);
        assert_eq!(
            merged,
            vec![seats(1, &[1]), seats(2, &[5, 6, 7]), SeatChange::Gap]
        );
    }
}
