//! SQLite has no seat feed: one process writes the file, and it updates its
//! own availability snapshot as it writes (see `app::availability`).

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedReceiver;

use super::SqliteStore;
use crate::store::{SeatChange, SeatFeedStore, StoreResult};

#[async_trait]
impl SeatFeedStore for SqliteStore {
    async fn seat_feed(&self) -> StoreResult<Option<UnboundedReceiver<SeatChange>>> {
        Ok(None)
    }
}
