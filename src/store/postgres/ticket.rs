//! Postgres: tickets.

use super::*;

#[async_trait]
impl TicketStore for PgStore {
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        booking::issue_tickets(&self.pool, tickets, now).await
    }

    async fn tickets_of_order(&self, order_id: i64) -> StoreResult<Vec<TicketRecord>> {
        booking::tickets_where(&self.pool, "order_id = $1", order_id).await
    }

    async fn ticket(&self, id: i64) -> StoreResult<Option<TicketRecord>> {
        Ok(booking::tickets_where(&self.pool, "id = $1", id)
            .await?
            .pop())
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<TicketRecord>> {
        Ok(
            booking::tickets_where(&self.pool, "pnr = $1", pnr.to_owned())
                .await?
                .pop(),
        )
    }
}
