//! Postgres: tickets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use super::rows::*;
use super::{PgStore, db};
use crate::domain::{OrderId, SeatId, Ticket, TicketId};
use crate::store::prelude::*;
use crate::store::{NewTicket, StoreResult, ts};

pub(super) async fn issue_tickets(
    pool: &PgPool,
    tickets: &[NewTicket],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let pnrs: Vec<&str> = tickets.iter().map(|t| t.pnr.as_str()).collect();
    let orders: Vec<OrderId> = tickets.iter().map(|t| t.order_id).collect();
    let seqs: Vec<i64> = tickets.iter().map(|t| t.passenger_seq as i64).collect();
    let seats: Vec<SeatId> = tickets.iter().map(|t| t.seat_id).collect();
    let payloads: Vec<&str> = tickets.iter().map(|t| t.payload.as_str()).collect();
    let events: Vec<String> = tickets
        .iter()
        .map(|t| super::event_slots::ticket_issued(t.order_id, &t.pnr))
        .collect();
    let issued: i64 =
        sqlx::query_scalar("SELECT ticketctl_issue_tickets($1, $2, $3, $4, $5, $6, $7)")
            .bind(pnrs)
            .bind(orders)
            .bind(seqs)
            .bind(seats)
            .bind(payloads)
            .bind(ts(now))
            .bind(events)
            .fetch_one(pool)
            .await
            .map_err(db)?;
    Ok(issued as usize)
}

pub(super) async fn tickets_where<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(
    ex: E,
    clause: &str,
    arg: impl sqlx::Encode<'static, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
) -> StoreResult<Vec<Ticket>> {
    let sql = format!(
        "SELECT id, pnr, order_id, passenger_seq, seat_id, status, payload, issued_at FROM tickets
         WHERE {clause} ORDER BY order_id, passenger_seq"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg)
        .fetch_all(ex)
        .await
        .map_err(db)?;
    rows.iter().map(ticket_row).collect()
}

#[async_trait]
impl TicketStore for PgStore {
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        issue_tickets(&self.pool, tickets, now).await
    }

    async fn tickets_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Ticket>> {
        tickets_where(&self.pool, "order_id = $1", order_id).await
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        Ok(tickets_where(&self.pool, "id = $1", id).await?.pop())
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<Ticket>> {
        Ok(tickets_where(&self.pool, "pnr = $1", pnr.to_owned())
            .await?
            .pop())
    }
}
