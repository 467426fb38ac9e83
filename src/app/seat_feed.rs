//! Following the store's seat feed: seat changes committed by any process on
//! the database (Postgres NOTIFY, sent by triggers in the committing
//! transaction) patch this process's availability snapshot and wake its live
//! seat streams as they arrive.
//!
//! Measured on one Postgres with two apps (tests/it/seat_feed.rs): a hold made
//! through one process reached the other's live stream and seat map within
//! tens of milliseconds, where polling took up to `live::POLL_EVERY` (400 ms)
//! and `availability::MAX_AGE` (2 s). Polling stays, slower, as a net.

use std::time::Duration;
use tokio::sync::watch;

use super::App;
use crate::store::SeatChange;

/// Wait before asking the store for its feed again after it failed.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Applies the feed's changes until shutdown. Returns at once on a backend
/// without a feed (SQLite).
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
        app.following(true);
        // Whatever changed before the feed began is read again.
        app.apply(SeatChange::Gap);
        loop {
            tokio::select! {
                change = feed.recv() => match change {
                    Some(change) => app.apply(change),
                    None => break,
                },
                _ = shutdown.changed() => return,
            }
        }
        app.following(false);
    }
}

impl App {
    /// Whether this process hears other processes' seat changes as they
    /// commit (the feed is up), rather than by polling.
    pub fn follows_seat_feed(&self) -> bool {
        self.availability.followed()
    }

    fn following(&self, yes: bool) {
        self.availability.follow(yes);
        self.live.follow(yes);
    }

    fn apply(&self, change: SeatChange) {
        match change {
            SeatChange::Seat {
                trip_id,
                seat_id,
                taken,
            } => {
                self.availability.committed(trip_id, seat_id, taken);
                self.live.changed(trip_id);
            }
            SeatChange::Trip(trip_id) => self.live.changed(trip_id),
            SeatChange::Gap => {
                self.availability.invalidate_all();
                self.live.changed_all();
            }
        }
    }
}
