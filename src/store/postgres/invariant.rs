//! Postgres: the invariant checker's views.

use super::*;

#[async_trait]
impl InvariantStore for PgStore {
    async fn seat_claims(&self, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>> {
        booking::seat_claims(&self.pool, trip_id).await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        booking::ledger(&self.pool).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        money::money_pairs(&self.pool).await
    }
}
