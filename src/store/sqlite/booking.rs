//! SQLite statements for holds, orders, payments, tickets, outbox and audit.
//! Each function runs inside one writer command (one savepoint) or one read.

#[allow(unused_imports)]
use super::*;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::audit::{GENESIS, chain_hash};
use crate::domain::{OrderStatus, SegmentMask};
use crate::store::{
    AuditRecord, Confirmation, Consumer, GatewayCharge, HoldRecord, IdempotencyRecord, Ledger,
    NewHold, NewOrder, NewTicket, OrderChange, OrderRecord, OutboxEvent, PassengerRecord,
    PaymentToken, SeatClaim, SeatRecord, StoreError, StoreResult, TicketRecord, from_ts, ts,
};

use super::{db, parse_class};

pub(super) fn parse_status(s: &str) -> rusqlite::Result<OrderStatus> {
    s.parse().map_err(|e: crate::domain::ParseError| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Writes an event to the outbox in the caller's transaction.
pub(super) fn outbox(
    conn: &Connection,
    kind: &str,
    subject_id: i64,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (kind, subject_id, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![kind, subject_id, payload.to_string(), ts(now)])
    .map_err(db)?;
    Ok(())
}

fn seats_taken_by_user(
    conn: &Connection,
    user_id: i64,
    trip_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    // Seats in the user's live holds on this trip, plus those of orders still holding seats.
    conn.prepare_cached(
        "SELECT COUNT(*) FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE h.user_id = ?1 AND h.trip_id = ?2
           AND ((h.status = 'active' AND h.expires_at > ?3)
                OR (h.status = 'ordered' AND o.status IN ('pending','reserved','paid','confirmed')))",
    )
    .map_err(db)?
    .query_row(params![user_id, trip_id, ts(now)], |r| r.get(0))
    .map_err(db)
}

pub(super) fn create_hold(conn: &Connection, h: &NewHold) -> StoreResult<HoldRecord> {
    let already = seats_taken_by_user(conn, h.user_id, h.trip_id, h.now)?;
    if already + h.seat_ids.len() as i64 > h.max_seats_per_user {
        return Err(StoreError::Conflict(format!(
            "at most {} seats per passenger per trip; you already have {already}",
            h.max_seats_per_user
        )));
    }
    // The conditional update is the whole concurrency story: it succeeds only if
    // no other hold or sale has any of these segments, and the writer (or the row
    // lock on Postgres) makes check-and-set one step.
    let mut take = conn
        .prepare_cached(
            "UPDATE seats SET taken = taken | ?1
             WHERE id = ?2 AND trip_id = ?3 AND class = ?4 AND (taken & ?1) = 0",
        )
        .map_err(db)?;
    let mut lost = Vec::new();
    for seat in &h.seat_ids {
        if take
            .execute(params![h.mask.to_db(), seat, h.trip_id, h.class.code()])
            .map_err(db)?
            == 0
        {
            lost.push(*seat);
        }
    }
    if !lost.is_empty() {
        // Returning an error rolls this command's savepoint back: no seat stays taken.
        return Err(StoreError::SeatsTaken(lost));
    }
    conn.prepare_cached(
        "INSERT INTO holds (trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9)",
    )
    .map_err(db)?
    .execute(params![h.trip_id, h.user_id, h.from_stop, h.to_stop, h.mask.to_db(), h.class.code(), h.fare, ts(h.now), ts(h.expires_at)])
    .map_err(db)?;
    let hold_id = conn.last_insert_rowid();
    let mut link = conn
        .prepare_cached("INSERT INTO hold_seats (hold_id, seat_id) VALUES (?1, ?2)")
        .map_err(db)?;
    for seat in &h.seat_ids {
        link.execute(params![hold_id, seat]).map_err(db)?;
    }
    load_hold(conn, hold_id)?.ok_or_else(|| StoreError::Backend("new hold vanished".into()))
}

pub(super) fn load_hold(conn: &Connection, id: i64) -> StoreResult<Option<HoldRecord>> {
    let hold = conn
        .prepare_cached(
            "SELECT id, trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at
             FROM holds WHERE id = ?1",
        )
        .map_err(db)?
        .query_row([id], |r| {
            Ok(HoldRecord {
                id: r.get(0)?,
                trip_id: r.get(1)?,
                user_id: r.get(2)?,
                from_stop: r.get(3)?,
                to_stop: r.get(4)?,
                mask: SegmentMask::from_db(r.get(5)?),
                class: parse_class(&r.get::<_, String>(6)?)?,
                fare: r.get(7)?,
                status: r.get(8)?,
                created_at: from_ts(r.get(9)?),
                expires_at: from_ts(r.get(10)?),
                seats: vec![],
            })
        })
        .optional()
        .map_err(db)?;
    let Some(mut hold) = hold else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.id, s.coach_seq, s.coach_code, s.seat_no, s.class, s.taken
             FROM hold_seats hs JOIN seats s ON s.id = hs.seat_id
             WHERE hs.hold_id = ?1 ORDER BY s.coach_seq, s.seat_no",
        )
        .map_err(db)?;
    let seats = stmt
        .query_map([id], |r| {
            Ok(SeatRecord {
                id: r.get(0)?,
                coach_seq: r.get(1)?,
                coach_code: r.get(2)?,
                seat_no: r.get(3)?,
                class: parse_class(&r.get::<_, String>(4)?)?,
                taken: SegmentMask::from_db(r.get(5)?),
            })
        })
        .map_err(db)?;
    hold.seats = seats.collect::<Result<_, _>>().map_err(db)?;
    Ok(Some(hold))
}

/// Clears exactly the hold's bits on exactly its seats.
fn free_hold_seats(conn: &Connection, hold_id: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE seats SET taken = taken & ~(SELECT mask FROM holds WHERE id = ?1)
         WHERE id IN (SELECT seat_id FROM hold_seats WHERE hold_id = ?1)",
    )
    .map_err(db)?
    .execute([hold_id])
    .map_err(db)?;
    Ok(())
}

pub(super) fn release_hold(conn: &Connection, id: i64, user_id: i64) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached("UPDATE holds SET status = 'released' WHERE id = ?1 AND user_id = ?2 AND status = 'active'")
        .map_err(db)?
        .execute(params![id, user_id])
        .map_err(db)?;
    if changed == 1 {
        free_hold_seats(conn, id)?;
    }
    Ok(changed == 1)
}

pub(super) fn expire_holds(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM holds WHERE status = 'active' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2")
        .map_err(db)?
        .query_map(params![ts(now), limit], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    for id in &ids {
        conn.prepare_cached("UPDATE holds SET status = 'expired' WHERE id = ?1")
            .map_err(db)?
            .execute([id])
            .map_err(db)?;
        free_hold_seats(conn, *id)?;
        outbox(
            conn,
            "hold.expired",
            *id,
            &serde_json::json!({ "hold_id": id }),
            now,
        )?;
    }
    Ok(ids)
}

pub(super) fn create_order(conn: &Connection, o: &NewOrder) -> StoreResult<OrderRecord> {
    let hold = load_hold(conn, o.hold_id)?
        .filter(|h| h.user_id == o.user_id)
        .ok_or_else(|| StoreError::NotFound(format!("no hold {} of yours", o.hold_id)))?;
    if hold.status != "active" || hold.expires_at <= o.now {
        return Err(StoreError::Conflict(format!(
            "hold {} is no longer active ({}); hold the seats again",
            hold.id,
            if hold.status == "active" {
                "expired"
            } else {
                &hold.status
            }
        )));
    }
    if o.passengers.len() != hold.seats.len() {
        return Err(StoreError::Conflict(format!(
            "the hold has {} seats but {} passengers were named",
            hold.seats.len(),
            o.passengers.len()
        )));
    }
    let amount = hold.fare * hold.seats.len() as i64;
    conn.prepare_cached(
        "INSERT INTO orders (user_id, hold_id, trip_id, status, amount, payment_token, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'reserved', ?4, ?5, ?6, ?6)",
    )
    .map_err(db)?
    .execute(params![o.user_id, hold.id, hold.trip_id, amount, o.payment_token, ts(o.now)])
    .map_err(db)?;
    let order_id = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE holds SET status = 'ordered' WHERE id = ?1")
        .map_err(db)?
        .execute([hold.id])
        .map_err(db)?;
    let mut add = conn
        .prepare_cached("INSERT INTO order_passengers (order_id, seq, name, nid, seat_id) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(db)?;
    for (seq, (p, seat)) in o.passengers.iter().zip(&hold.seats).enumerate() {
        add.execute(params![order_id, seq as i64, p.name, p.nid, seat.id])
            .map_err(db)?;
    }
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![o.user_id, o.idempotency_key, o.request_hash, order_id, ts(o.now)])
    .map_err(|e| match db(e) {
        StoreError::Conflict(_) => StoreError::Conflict("this Idempotency-Key was already used".into()),
        other => other,
    })?;
    outbox(
        conn,
        "order.reserved",
        order_id,
        &serde_json::json!({ "order_id": order_id, "amount": amount }),
        o.now,
    )?;
    load_order(conn, order_id)?.ok_or_else(|| StoreError::Backend("new order vanished".into()))
}

const ORDER_COLUMNS: &str =
    "SELECT id, user_id, hold_id, trip_id, status, amount, payment_token, charge_id,
     refunded_amount, failure, created_at, updated_at FROM orders";

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRecord> {
    Ok(OrderRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        hold_id: r.get(2)?,
        trip_id: r.get(3)?,
        status: parse_status(&r.get::<_, String>(4)?)?,
        amount: r.get(5)?,
        payment_token: r.get(6)?,
        charge_id: r.get(7)?,
        refunded_amount: r.get(8)?,
        failure: r.get(9)?,
        created_at: from_ts(r.get(10)?),
        updated_at: from_ts(r.get(11)?),
        passengers: vec![],
    })
}

fn with_passengers(
    conn: &Connection,
    mut orders: Vec<OrderRecord>,
) -> StoreResult<Vec<OrderRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, name, nid, seat_id FROM order_passengers WHERE order_id = ?1 ORDER BY seq",
        )
        .map_err(db)?;
    for o in &mut orders {
        o.passengers = stmt
            .query_map([o.id], |r| {
                Ok(PassengerRecord {
                    seq: r.get(0)?,
                    name: r.get(1)?,
                    nid: r.get(2)?,
                    seat_id: r.get(3)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
    }
    Ok(orders)
}

pub(super) fn load_order(conn: &Connection, id: i64) -> StoreResult<Option<OrderRecord>> {
    let order = conn
        .prepare_cached(&format!("{ORDER_COLUMNS} WHERE id = ?1"))
        .map_err(db)?
        .query_row([id], order_row)
        .optional()
        .map_err(db)?;
    Ok(with_passengers(conn, order.into_iter().collect())?.pop())
}

pub(super) fn orders_where(
    conn: &Connection,
    clause: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<OrderRecord>> {
    let orders = conn
        .prepare_cached(&format!("{ORDER_COLUMNS} WHERE {clause} ORDER BY id"))
        .map_err(db)?
        .query_map(args, order_row)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    with_passengers(conn, orders)
}

pub(super) fn transition_order(
    conn: &Connection,
    id: i64,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE orders SET status = ?3, updated_at = ?4,
               charge_id = COALESCE(?5, charge_id), failure = COALESCE(?6, failure),
               refunded_amount = COALESCE(?7, refunded_amount)
             WHERE id = ?1 AND status = ?2",
        )
        .map_err(db)?
        .execute(params![
            id,
            from.as_str(),
            to.as_str(),
            ts(now),
            change.charge_id,
            change.failure,
            change.refunded_amount
        ])
        .map_err(db)?;
    if changed == 0 {
        return Ok(false);
    }
    if from.holds_seats() && !to.holds_seats() {
        let hold_id: i64 = conn
            .query_row("SELECT hold_id FROM orders WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(db)?;
        free_hold_seats(conn, hold_id)?;
        conn.execute(
            "UPDATE tickets SET status = 'cancelled' WHERE order_id = ?1",
            [id],
        )
        .map_err(db)?;
    }
    let payload = serde_json::json!({ "order_id": id, "from": from, "to": to, "failure": change.failure, "refunded": change.refunded_amount });
    outbox(conn, &format!("order.{to}"), id, &payload, now)?;
    Ok(true)
}

pub(super) fn confirm_order(
    conn: &Connection,
    c: Confirmation,
) -> StoreResult<Option<Vec<TicketRecord>>> {
    match c.from {
        OrderStatus::Reserved => {
            let change = OrderChange {
                charge_id: c.charge_id.clone(),
                ..Default::default()
            };
            let moved = transition_order(
                conn,
                c.order_id,
                OrderStatus::Reserved,
                OrderStatus::Paid,
                &change,
                c.now,
            )?;
            if !moved {
                return Ok(None);
            }
        }
        OrderStatus::Paid => {}
        other => {
            return Err(StoreError::Conflict(format!(
                "an order cannot be confirmed from {other}"
            )));
        }
    }
    let change = OrderChange::default();
    if !transition_order(
        conn,
        c.order_id,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        &change,
        c.now,
    )? {
        if c.from == OrderStatus::Paid {
            return Ok(None);
        }
        // Unreachable (it was paid a statement ago); the error rolls the command back.
        return Err(StoreError::Conflict(format!(
            "order {} changed while being confirmed",
            c.order_id
        )));
    }
    issue_tickets(conn, &c.tickets, c.now)?;
    let tickets = tickets_where(conn, "order_id = ?1", c.order_id)?;
    if let Some(r) = c.reply {
        finish_idempotency(conn, r.user_id, &r.key, r.status, &(r.body)(&tickets))?;
    }
    Ok(Some(tickets))
}

pub(super) fn idempotency(
    conn: &Connection,
    user_id: i64,
    key: &str,
) -> StoreResult<Option<IdempotencyRecord>> {
    conn.prepare_cached("SELECT request_hash, order_id, status_code, response FROM idempotency_keys WHERE user_id = ?1 AND key = ?2")
        .map_err(db)?
        .query_row(params![user_id, key], |r| {
            Ok(IdempotencyRecord { request_hash: r.get(0)?, order_id: r.get(1)?, status_code: r.get(2)?, response: r.get(3)? })
        })
        .optional()
        .map_err(db)
}

pub(super) fn finish_idempotency(
    conn: &Connection,
    user_id: i64,
    key: &str,
    status: u16,
    response: &str,
) -> StoreResult<()> {
    conn.prepare_cached("UPDATE idempotency_keys SET status_code = ?3, response = ?4 WHERE user_id = ?1 AND key = ?2")
        .map_err(db)?
        .execute(params![user_id, key, status, response])
        .map_err(db)?;
    Ok(())
}

pub(super) fn insert_payment_token(
    conn: &Connection,
    t: &PaymentToken,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO payment_tokens (token, user_id, brand, last4, exp_month, exp_year, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(db)?
    .execute(params![t.token, t.user_id, t.brand, t.last4, t.exp_month, t.exp_year, ts(now)])
    .map_err(db)?;
    Ok(())
}

pub(super) fn payment_token(conn: &Connection, token: &str) -> StoreResult<Option<PaymentToken>> {
    conn.prepare_cached("SELECT token, user_id, brand, last4, exp_month, exp_year FROM payment_tokens WHERE token = ?1")
        .map_err(db)?
        .query_row([token], |r| {
            Ok(PaymentToken { token: r.get(0)?, user_id: r.get(1)?, brand: r.get(2)?, last4: r.get(3)?, exp_month: r.get(4)?, exp_year: r.get(5)? })
        })
        .optional()
        .map_err(db)
}

fn charge_where(conn: &Connection, clause: &str, arg: &str) -> StoreResult<Option<GatewayCharge>> {
    conn.prepare_cached(&format!(
        "SELECT idempotency_key, charge_id, token, amount, status, refunded FROM gateway_charges WHERE {clause}"
    ))
    .map_err(db)?
    .query_row([arg], |r| {
        Ok(GatewayCharge { idempotency_key: r.get(0)?, charge_id: r.get(1)?, token: r.get(2)?, amount: r.get(3)?, status: r.get(4)?, refunded: r.get(5)? })
    })
    .optional()
    .map_err(db)
}

pub(super) fn gateway_charge(conn: &Connection, key: &str) -> StoreResult<Option<GatewayCharge>> {
    charge_where(conn, "idempotency_key = ?1", key)
}

pub(super) fn gateway_record(
    conn: &Connection,
    c: &GatewayCharge,
    now: DateTime<Utc>,
) -> StoreResult<GatewayCharge> {
    conn.prepare_cached(
        "INSERT INTO gateway_charges (idempotency_key, charge_id, token, amount, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .map_err(db)?
    .execute(params![c.idempotency_key, c.charge_id, c.token, c.amount, c.status, ts(now)])
    .map_err(db)?;
    gateway_charge(conn, &c.idempotency_key)?
        .ok_or_else(|| StoreError::Backend("charge vanished".into()))
}

pub(super) fn gateway_refund(
    conn: &Connection,
    charge_id: &str,
    total: i64,
) -> StoreResult<GatewayCharge> {
    conn.prepare_cached(
        "UPDATE gateway_charges SET refunded = MAX(refunded, MIN(amount, ?2)) WHERE charge_id = ?1 AND status = 'succeeded'",
    )
    .map_err(db)?
    .execute(params![charge_id, total])
    .map_err(db)?;
    charge_where(conn, "charge_id = ?1", charge_id)?
        .ok_or_else(|| StoreError::NotFound(format!("charge {charge_id}")))
}

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
            let id = conn.last_insert_rowid();
            outbox(
                conn,
                "ticket.issued",
                id,
                &serde_json::json!({ "ticket_id": id, "pnr": t.pnr, "order_id": t.order_id }),
                now,
            )?;
        }
    }
    Ok(issued)
}

const TICKET_COLUMNS: &str =
    "SELECT id, pnr, order_id, passenger_seq, seat_id, status, payload, issued_at FROM tickets";

fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        id: r.get(0)?,
        pnr: r.get(1)?,
        order_id: r.get(2)?,
        passenger_seq: r.get(3)?,
        seat_id: r.get(4)?,
        status: r.get(5)?,
        payload: r.get(6)?,
        issued_at: from_ts(r.get(7)?),
    })
}

pub(super) fn tickets_where(
    conn: &Connection,
    clause: &str,
    arg: impl rusqlite::ToSql,
) -> StoreResult<Vec<TicketRecord>> {
    conn.prepare_cached(&format!(
        "{TICKET_COLUMNS} WHERE {clause} ORDER BY order_id, passenger_seq"
    ))
    .map_err(db)?
    .query_map([arg], ticket_row)
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

pub(super) fn outbox_pending(
    conn: &Connection,
    consumer: Consumer,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    conn.prepare_cached(&format!(
        "SELECT id, kind, subject_id, payload, created_at FROM outbox WHERE {} IS NULL ORDER BY id LIMIT ?1",
        consumer.column()
    ))
    .map_err(db)?
    .query_map([limit], |r| {
        Ok(OutboxEvent { id: r.get(0)?, kind: r.get(1)?, subject_id: r.get(2)?, payload: r.get(3)?, created_at: from_ts(r.get(4)?) })
    })
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

pub(super) fn outbox_mark(
    conn: &Connection,
    consumer: Consumer,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "UPDATE outbox SET {} = ?2 WHERE id = ?1",
            consumer.column()
        ))
        .map_err(db)?;
    for id in ids {
        stmt.execute(params![id, ts(now)]).map_err(db)?;
    }
    Ok(())
}

pub(super) fn audit_append(conn: &Connection, e: &OutboxEvent) -> StoreResult<()> {
    let prev: String = conn
        .query_row(
            "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = ts(e.created_at);
    let hash = chain_hash(&prev, at, &e.kind, e.subject_id, &e.payload);
    conn.prepare_cached(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
    )
    .map_err(db)?
    .execute(params![
        e.id,
        at,
        e.kind,
        e.subject_id,
        e.payload,
        prev,
        hash
    ])
    .map_err(db)?;
    Ok(())
}

pub(super) fn audit_log(conn: &Connection) -> StoreResult<Vec<AuditRecord>> {
    conn.prepare_cached("SELECT id, event_id, at, kind, subject_id, detail, prev_hash, hash FROM audit_log ORDER BY id")
        .map_err(db)?
        .query_map([], |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                event_id: r.get(1)?,
                at: r.get(2)?,
                kind: r.get(3)?,
                subject_id: r.get(4)?,
                detail: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

pub(super) fn seat_claims(conn: &Connection, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>> {
    conn.prepare_cached(
        "SELECT s.id, s.taken, h.id, h.mask, h.status, o.status
         FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id JOIN seats s ON s.id = hs.seat_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE ?1 IS NULL OR h.trip_id = ?1 ORDER BY s.id, h.id",
    )
    .map_err(db)?
    .query_map([trip_id], |r| {
        Ok(SeatClaim {
            seat_id: r.get(0)?,
            seat_taken: SegmentMask::from_db(r.get(1)?),
            hold_id: r.get(2)?,
            hold_mask: SegmentMask::from_db(r.get(3)?),
            hold_status: r.get(4)?,
            order_status: r
                .get::<_, Option<String>>(5)?
                .map(|s| parse_status(&s))
                .transpose()?,
        })
    })
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

pub(super) fn ledger(conn: &Connection) -> StoreResult<Ledger> {
    conn.query_row(
        "SELECT
           (SELECT COUNT(*) FROM orders WHERE status = 'confirmed'),
           (SELECT COUNT(*) FROM order_passengers p JOIN orders o ON o.id = p.order_id WHERE o.status = 'confirmed'),
           (SELECT COUNT(*) FROM tickets WHERE status = 'valid'),
           (SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.status = 'valid' AND o.status <> 'confirmed'),
           (SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN amount
                                     WHEN status IN ('cancelled', 'refunded') THEN amount - refunded_amount
                                     ELSE 0 END), 0) FROM orders),
           (SELECT COALESCE(SUM(amount - refunded), 0) FROM gateway_charges WHERE status = 'succeeded')",
        [],
        |r| {
            Ok(Ledger {
                confirmed_orders: r.get(0)?,
                confirmed_passengers: r.get(1)?,
                valid_tickets: r.get(2)?,
                stray_tickets: r.get(3)?,
                orders_net: r.get(4)?,
                gateway_net: r.get(5)?,
            })
        },
    )
    .map_err(db)
}

#[async_trait]
impl BookingStore for SqliteStore {
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<HoldRecord> {
        let hold = hold.clone();
        self.engine
            .write(move |c| booking::create_hold(c, &hold))
            .await
    }

    async fn hold(&self, id: i64) -> StoreResult<Option<HoldRecord>> {
        self.engine.read(move |c| booking::load_hold(c, id)).await
    }

    async fn release_hold(&self, id: i64, user_id: i64) -> StoreResult<bool> {
        self.engine
            .write(move |c| booking::release_hold(c, id, user_id))
            .await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        self.engine
            .write(move |c| booking::expire_holds(c, now, limit))
            .await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<OrderRecord> {
        let order = order.clone();
        self.engine
            .write(move |c| booking::create_order(c, &order))
            .await
    }

    async fn order(&self, id: i64) -> StoreResult<Option<OrderRecord>> {
        self.engine.read(move |c| booking::load_order(c, id)).await
    }

    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>> {
        self.engine
            .read(move |c| booking::orders_where(c, "user_id = ?1", [user_id]))
            .await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderRecord>> {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
        self.engine
            .read(move |c| {
                let list = serde_json::to_string(&statuses).expect("strings serialise");
                booking::orders_where(
                    c,
                    "status IN (SELECT value FROM json_each(?1)) AND updated_at <= ?2",
                    params![list, ts(before)],
                )
            })
            .await
    }

    async fn transition_order(
        &self,
        id: i64,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let change = change.clone();
        self.engine
            .write(move |c| booking::transition_order(c, id, from, to, &change, now))
            .await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Vec<TicketRecord>>> {
        self.engine
            .write(move |conn| booking::confirm_order(conn, c))
            .await
    }

    async fn idempotency(&self, user_id: i64, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let key = key.to_owned();
        self.engine
            .read(move |c| booking::idempotency(c, user_id, &key))
            .await
    }

    async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status_code: u16,
        response: &str,
    ) -> StoreResult<()> {
        let (key, response) = (key.to_owned(), response.to_owned());
        self.engine
            .write(move |c| booking::finish_idempotency(c, user_id, &key, status_code, &response))
            .await
    }
}
