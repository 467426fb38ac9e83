//! Seat changes committed by any process on the database, pushed as they
//! commit, so every `serve` process keeps its availability snapshot and its
//! live seat streams current without polling.
//!
//! Only a backend several processes can share has a feed (Postgres: LISTEN /
//! NOTIFY, migration 0010). On SQLite one process writes, and it knows its
//! own writes.

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedReceiver;

use super::StoreResult;
use crate::domain::{SeatId, SegmentMask, TripId};

/// One committed change, in commit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatChange {
    /// The seat's taken segments are now exactly `taken` (held or sold).
    Seat {
        trip_id: TripId,
        seat_id: SeatId,
        taken: SegmentMask,
    },
    /// Something else a seat map shows changed on the trip: a hold became an
    /// order, an order was paid, confirmed or failed.
    Trip(TripId),
    /// The feed was interrupted (its connection was lost and made again):
    /// changes in between may have been missed.
    Gap,
}

impl SeatChange {
    /// Reads a notification's payload: `<trip> <seat> <taken>` or `<trip>`.
    pub fn parse(payload: &str) -> Option<SeatChange> {
        let mut parts = payload.split(' ');
        let trip_id = TripId(parts.next()?.parse().ok()?);
        let change = match (parts.next(), parts.next()) {
            (None, _) => SeatChange::Trip(trip_id),
            (Some(seat), Some(taken)) => SeatChange::Seat {
                trip_id,
                seat_id: SeatId(seat.parse().ok()?),
                taken: SegmentMask::from_db(taken.parse().ok()?),
            },
            (Some(_), None) => return None,
        };
        parts.next().is_none().then_some(change)
    }
}

#[async_trait]
pub trait SeatFeedStore: Send + Sync {
    /// Every seat change committed from now on, by any process; `None` when
    /// this backend has no feed. The feed ends when the receiver is dropped.
    async fn seat_feed(&self) -> StoreResult<Option<UnboundedReceiver<SeatChange>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_and_nonsense_is_refused() {
        assert_eq!(
            SeatChange::parse("7 123 5"),
            Some(SeatChange::Seat {
                trip_id: TripId(7),
                seat_id: SeatId(123),
                taken: SegmentMask::from_bits(5),
            })
        );
        assert_eq!(SeatChange::parse("7"), Some(SeatChange::Trip(TripId(7))));
        for bad in ["", "x", "7 1", "7 1 2 3", "7 a 2", "7 1 b"] {
            assert_eq!(SeatChange::parse(bad), None, "{bad:?}");
        }
    }
}
