//! SQLite: tickets.

use super::*;

#[async_trait]
impl TicketStore for SqliteStore {
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        let tickets = tickets.to_vec();
        self.engine
            .write(move |c| booking::issue_tickets(c, &tickets, now))
            .await
    }

    async fn tickets_of_order(&self, order_id: i64) -> StoreResult<Vec<TicketRecord>> {
        self.engine
            .read(move |c| booking::tickets_where(c, "order_id = ?1", order_id))
            .await
    }

    async fn ticket(&self, id: i64) -> StoreResult<Option<TicketRecord>> {
        self.engine
            .read(move |c| Ok(booking::tickets_where(c, "id = ?1", id)?.pop()))
            .await
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<TicketRecord>> {
        let pnr = pnr.to_owned();
        self.engine
            .read(move |c| Ok(booking::tickets_where(c, "pnr = ?1", pnr)?.pop()))
            .await
    }
}
