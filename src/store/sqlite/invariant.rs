//! SQLite: the invariant checker's views.

use super::*;

#[async_trait]
impl InvariantStore for SqliteStore {
    async fn seat_claims(&self, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>> {
        self.engine
            .read(move |c| booking::seat_claims(c, trip_id))
            .await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        self.engine.read(booking::ledger).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        self.engine.read(money::money_pairs).await
    }
}
