//! Postgres: the seat feed is LISTEN on `ticketctl_seats`; announcements are
//! NOTIFYs sent in a statement of their own after the seat change committed
//! (see `store::seat_feed` for why not in the writing transaction).
//!
//! The listener has a connection of its own, outside the booking pool (a
//! pooled connection held by LISTEN for the life of the process would leave
//! the bookings one short). A lost connection is made again; what was
//! announced meanwhile is lost, so the feed says `Gap` and its reader reads
//! everything again.

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPoolOptions};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::{PgStore, db};
use crate::domain::{SeatId, SegmentMask};
use crate::store::{SeatChange, SeatFeedStore, StoreResult};

/// The channel announcements go to.
const CHANNEL: &str = "ticketctl_seats";
/// Wait before listening again after the connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[async_trait]
impl SeatFeedStore for PgStore {
    async fn seat_feed(&self) -> StoreResult<Option<UnboundedReceiver<SeatChange>>> {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with((*self.pool.connect_options()).clone());
        let mut listener = PgListener::connect_with(&own).await.map_err(db)?;
        listener.listen(CHANNEL).await.map_err(db)?;
        let (tx, rx) = unbounded_channel();
        tokio::spawn(forward(listener, tx));
        Ok(Some(rx))
    }

    async fn announce(&self, changes: &[SeatChange]) -> StoreResult<()> {
        let payloads: Vec<String> = changes.iter().flat_map(SeatChange::payloads).collect();
        if payloads.is_empty() {
            return Ok(());
        }
        // One round trip, no transaction id: nothing to flush at commit.
        sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
            .bind(CHANNEL)
            .bind(payloads)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn seat_masks(&self, seat_ids: &[SeatId]) -> StoreResult<Vec<(SeatId, SegmentMask)>> {
        let ids: Vec<i64> = seat_ids.iter().map(|s| s.get()).collect();
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, taken FROM seats WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(id, taken)| (SeatId(id), SegmentMask::from_db(taken)))
            .collect())
    }
}

/// Hands every notification on until the reader is gone.
async fn forward(mut listener: PgListener, tx: UnboundedSender<SeatChange>) {
    loop {
        let change = match listener.try_recv().await {
            Ok(Some(n)) => match SeatChange::parse(n.payload()) {
                Some(change) => change,
                None => {
                    tracing::warn!(payload = n.payload(), "seat notification not understood");
                    continue;
                }
            },
            // The connection was lost and is made again on the next call.
            Ok(None) => SeatChange::Gap,
            Err(e) => {
                tracing::warn!(error = %e, "seat feed: listening failed; retrying");
                tokio::time::sleep(RECONNECT_AFTER).await;
                SeatChange::Gap
            }
        };
        if tx.send(change).is_err() {
            return;
        }
    }
}
