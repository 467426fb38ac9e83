//! SQLite: tickets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::outbox::outbox;
use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::{Event, OrderId, Ticket, TicketId};
use crate::store::prelude::*;
use crate::store::{NewTicket, StoreResult, ts};

pub(super) fn issue_tickets(
    conn: &Connection,
    tickets: &[NewTicket],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO tickets (pnr, order_id, passenger_seq, seat_id, status, payload, issued_at)
             VALUES (?1, ?2, ?3, ?4, 'valid', ?5, ?6) ON CONFLICT (order_id, passenger_seq) DO NOTHING",
        )
        .map_err(db)?;
    let mut issued = 0;
    for t in tickets {
        if insert
            .execute(params![
                t.pnr,
                t.order_id,
                t.passenger_seq,
                t.seat_id,
                t.payload,
                ts(now)
            ])
            .map_err(db)?
            == 1
        {
            issued += 1;
            let event = Event::TicketIssued {
                ticket_id: TicketId(conn.last_insert_rowid()),
                order_id: t.order_id,
                pnr: t.pnr.clone(),
            };
            outbox(conn, &event, now)?;
        }
    }
    Ok(issued)
}

pub(super) fn tickets_where(
    conn: &Connection,
    clause: &str,
    arg: impl rusqlite::ToSql,
) -> StoreResult<Vec<Ticket>> {
    conn.prepare_cached(&format!(
        "{TICKET_COLUMNS} WHERE {clause} ORDER BY order_id, passenger_seq"
    ))
    .map_err(db)?
    .query_map([arg], ticket_row)
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        let tickets = tickets.to_vec();
        self.engine
            .write(move |c| issue_tickets(c, &tickets, now))
            .await
    }

    async fn tickets_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Ticket>> {
        self.engine
            .read(move |c| tickets_where(c, "order_id = ?1", order_id))
            .await
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        self.engine
            .read(move |c| Ok(tickets_where(c, "id = ?1", id)?.pop()))
            .await
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<Ticket>> {
        let pnr = pnr.to_owned();
        self.engine
            .read(move |c| Ok(tickets_where(c, "pnr = ?1", pnr)?.pop()))
            .await
    }
}
