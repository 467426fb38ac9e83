//! SQLite has no seat feed: one process writes the file, and it updates its
//! own availability snapshot as it writes (see `app::availability`). Nothing
//! is announced, and no feed reader ever asks for masks.

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedReceiver;

use super::SqliteStore;
use crate::domain::{SeatId, SegmentMask};
use crate::store::{SeatChange, SeatFeedStore, StoreResult};

#[async_trait]
impl SeatFeedStore for SqliteStore {
    async fn seat_feed(&self) -> StoreResult<Option<UnboundedReceiver<SeatChange>>> {
        Ok(None)
    }

    async fn announce(&self, _changes: &[SeatChange]) -> StoreResult<()> {
        Ok(())
    }

    async fn seat_masks(&self, _seat_ids: &[SeatId]) -> StoreResult<Vec<(SeatId, SegmentMask)>> {
        Ok(Vec::new())
    }
}
