//! Storage for issued tickets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewTicket, StoreResult};
use crate::domain::{OrderId, Ticket, TicketId};

#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Inserts the tickets not yet issued (by order and passenger); returns how many were new.
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize>;

    async fn tickets_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Ticket>>;

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>>;

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<Ticket>>;
}
