//! Postgres statements for holds, orders, payments, tickets, outbox and audit.

#[allow(unused_imports)]
use super::*;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnection, PgPool, PgRow};

use crate::domain::audit::{GENESIS, chain_hash};
use crate::domain::{OrderStatus, SegmentMask};
use crate::store::{
    AuditRecord, Confirmation, Consumer, GatewayCharge, HoldRecord, IdempotencyRecord, Ledger,
    NewHold, NewOrder, NewTicket, OrderChange, OrderRecord, OutboxEvent, PassengerRecord,
    PaymentToken, SeatClaim, SeatRecord, StoreError, StoreResult, TicketRecord, from_ts, ts,
};

use super::{class, db, get};

/// Serialises appends to the audit chain across processes.
const AUDIT_LOCK: i64 = 0x7469_636b_6574; // "ticket"

pub(super) fn status(s: &str) -> StoreResult<OrderStatus> {
    s.parse()
        .map_err(|e: crate::domain::ParseError| StoreError::Backend(e.to_string()))
}

pub(super) fn seat_row(r: &PgRow) -> StoreResult<SeatRecord> {
    Ok(SeatRecord {
        id: get(r, "id")?,
        coach_seq: get::<i64>(r, "coach_seq")? as u32,
        coach_code: get(r, "coach_code")?,
        seat_no: get::<i64>(r, "seat_no")? as u32,
        class: class(&get::<String>(r, "class")?)?,
        taken: SegmentMask::from_db(get(r, "taken")?),
    })
}

pub(super) async fn create_hold(pool: &PgPool, h: &NewHold) -> StoreResult<HoldRecord> {
    // One call (ticketctl_create_hold, migration 0004): the limit check, the seat
    // locks, the all-or-nothing take and the inserts in one round trip and one
    // transaction, instead of seven round trips on a pooled connection.
    let rows = sqlx::query(
        "SELECT * FROM ticketctl_create_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(h.trip_id)
    .bind(h.user_id)
    .bind(h.from_stop as i64)
    .bind(h.to_stop as i64)
    .bind(h.mask.to_db())
    .bind(h.class.code())
    .bind(h.fare)
    .bind(&h.seat_ids)
    .bind(ts(h.now))
    .bind(ts(h.expires_at))
    .bind(h.max_seats_per_user)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    hold_from_rows(&rows, h)
}

/// The hold that `ticketctl_create_hold` rows describe, or its refusal.
pub(super) fn hold_from_rows(rows: &[PgRow], h: &NewHold) -> StoreResult<HoldRecord> {
    let first = rows
        .first()
        .ok_or_else(|| StoreError::Backend("create_hold returned nothing".into()))?;
    let Some(hold_id) = get::<Option<i64>>(first, "hold_id")? else {
        // Refused: the function wrote nothing.
        if let Some(lost) = get::<Option<Vec<i64>>>(first, "lost")? {
            return Err(StoreError::SeatsTaken(lost));
        }
        let already: i64 = get(first, "already")?;
        return Err(StoreError::Conflict(format!(
            "at most {} seats per passenger per trip; you already have {already}",
            h.max_seats_per_user
        )));
    };
    let mut seats = rows.iter().map(seat_row).collect::<StoreResult<Vec<_>>>()?;
    seats.sort_by_key(|s| (s.coach_seq, s.seat_no));
    // Built from what was just written: no read-back round trips.
    Ok(HoldRecord {
        id: hold_id,
        trip_id: h.trip_id,
        user_id: h.user_id,
        from_stop: h.from_stop,
        to_stop: h.to_stop,
        mask: h.mask,
        class: h.class,
        fare: h.fare,
        status: "active".into(),
        created_at: from_ts(ts(h.now)),
        expires_at: from_ts(ts(h.expires_at)),
        seats,
    })
}

pub(super) async fn load_hold(conn: &mut PgConnection, id: i64) -> StoreResult<Option<HoldRecord>> {
    // The hold and its seats in one round trip: the hold's columns repeat on each
    // seat row (a hold has at most a handful of seats).
    let rows = sqlx::query(
        "SELECT h.id AS hold_id, h.trip_id, h.user_id, h.from_stop, h.to_stop, h.mask, h.class AS hold_class,
                h.fare, h.status, h.created_at, h.expires_at,
                s.id, s.coach_seq, s.coach_code, s.seat_no, s.class, s.taken
         FROM holds h LEFT JOIN hold_seats hs ON hs.hold_id = h.id LEFT JOIN seats s ON s.id = hs.seat_id
         WHERE h.id = $1 ORDER BY s.coach_seq, s.seat_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let mut seats = Vec::with_capacity(rows.len());
    for row in &rows {
        if get::<Option<i64>>(row, "id")?.is_some() {
            seats.push(seat_row(row)?);
        }
    }
    Ok(Some(HoldRecord {
        id: get(r, "hold_id")?,
        trip_id: get(r, "trip_id")?,
        user_id: get(r, "user_id")?,
        from_stop: get::<i64>(r, "from_stop")? as u32,
        to_stop: get::<i64>(r, "to_stop")? as u32,
        mask: SegmentMask::from_db(get(r, "mask")?),
        class: class(&get::<String>(r, "hold_class")?)?,
        fare: get(r, "fare")?,
        status: get(r, "status")?,
        created_at: from_ts(get(r, "created_at")?),
        expires_at: from_ts(get(r, "expires_at")?),
        seats,
    }))
}

pub(super) async fn release_hold(pool: &PgPool, id: i64, user_id: i64) -> StoreResult<bool> {
    sqlx::query_scalar("SELECT ticketctl_release_hold($1, $2)")
        .bind(id)
        .bind(user_id)
        .fetch_one(pool)
        .await
        .map_err(db)
}

pub(super) async fn expire_holds(
    pool: &PgPool,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar("SELECT * FROM ticketctl_expire_holds($1, $2)")
        .bind(ts(now))
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db)
}

pub(super) async fn create_order(pool: &PgPool, o: &NewOrder) -> StoreResult<OrderRecord> {
    // One call (ticketctl_create_order): lock and check the hold, insert the order,
    // its passengers, the Idempotency-Key and the outbox event in one round trip.
    let names: Vec<&str> = o.passengers.iter().map(|p| p.name.as_str()).collect();
    let nids: Vec<Option<&str>> = o.passengers.iter().map(|p| p.nid.as_deref()).collect();
    let r = sqlx::query("SELECT * FROM ticketctl_create_order($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(o.user_id)
        .bind(o.hold_id)
        .bind(names)
        .bind(nids)
        .bind(&o.payment_token)
        .bind(&o.idempotency_key)
        .bind(&o.request_hash)
        .bind(ts(o.now))
        .fetch_one(pool)
        .await
        .map_err(order_error)?;
    created_order(&r, o)
}

/// A reused Idempotency-Key is the caller's conflict; the rest as `db`.
pub(super) fn order_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("idempotency_keys_pkey") => {
            StoreError::Conflict("this Idempotency-Key was already used".into())
        }
        _ => db(e),
    }
}

/// The order a `ticketctl_create_order` row describes, or its refusal.
pub(super) fn created_order(r: &PgRow, o: &NewOrder) -> StoreResult<OrderRecord> {
    let seats: Vec<i64> = get::<Option<Vec<i64>>>(r, "seat_ids")?.unwrap_or_default();
    match get::<String>(r, "outcome")?.as_str() {
        "created" => {}
        "missing" => {
            return Err(StoreError::NotFound(format!(
                "no hold {} of yours",
                o.hold_id
            )));
        }
        "inactive" => {
            let status: String = get(r, "hold_status")?;
            return Err(StoreError::Conflict(format!(
                "hold {} is no longer active ({}); hold the seats again",
                o.hold_id,
                if status == "active" {
                    "expired"
                } else {
                    &status
                }
            )));
        }
        "count" => {
            return Err(StoreError::Conflict(format!(
                "the hold has {} seats but {} passengers were named",
                seats.len(),
                o.passengers.len()
            )));
        }
        other => return Err(StoreError::Backend(format!("create_order said {other}"))),
    }
    // Built from what was just written: no read-back round trips.
    Ok(OrderRecord {
        id: get(r, "order_id")?,
        user_id: o.user_id,
        hold_id: o.hold_id,
        trip_id: get(r, "trip_id")?,
        status: OrderStatus::Reserved,
        amount: get(r, "amount")?,
        payment_token: o.payment_token.clone(),
        charge_id: None,
        refunded_amount: 0,
        failure: None,
        created_at: from_ts(ts(o.now)),
        updated_at: from_ts(ts(o.now)),
        passengers: o
            .passengers
            .iter()
            .zip(&seats)
            .enumerate()
            .map(|(seq, (p, seat))| PassengerRecord {
                seq: seq as u32,
                name: p.name.clone(),
                nid: p.nid.clone(),
                seat_id: *seat,
            })
            .collect(),
    })
}

const ORDER_COLUMNS: &str =
    "SELECT id, user_id, hold_id, trip_id, status, amount, payment_token, charge_id,
     refunded_amount, failure, created_at, updated_at FROM orders";

fn order_row(r: &PgRow) -> StoreResult<OrderRecord> {
    Ok(OrderRecord {
        id: get(r, "id")?,
        user_id: get(r, "user_id")?,
        hold_id: get(r, "hold_id")?,
        trip_id: get(r, "trip_id")?,
        status: status(&get::<String>(r, "status")?)?,
        amount: get(r, "amount")?,
        payment_token: get(r, "payment_token")?,
        charge_id: get(r, "charge_id")?,
        refunded_amount: get(r, "refunded_amount")?,
        failure: get(r, "failure")?,
        created_at: from_ts(get(r, "created_at")?),
        updated_at: from_ts(get(r, "updated_at")?),
        passengers: vec![],
    })
}

async fn with_passengers(
    conn: &mut PgConnection,
    mut orders: Vec<OrderRecord>,
) -> StoreResult<Vec<OrderRecord>> {
    if orders.is_empty() {
        return Ok(orders);
    }
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let rows = sqlx::query(
        "SELECT order_id, seq, name, nid, seat_id FROM order_passengers WHERE order_id = ANY($1) ORDER BY order_id, seq",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for r in &rows {
        let order_id: i64 = get(r, "order_id")?;
        if let Some(o) = orders.iter_mut().find(|o| o.id == order_id) {
            o.passengers.push(PassengerRecord {
                seq: get::<i64>(r, "seq")? as u32,
                name: get(r, "name")?,
                nid: get(r, "nid")?,
                seat_id: get(r, "seat_id")?,
            });
        }
    }
    Ok(orders)
}

pub(super) async fn orders_where(
    conn: &mut PgConnection,
    clause: &str,
    arg: i64,
) -> StoreResult<Vec<OrderRecord>> {
    let sql = format!("{ORDER_COLUMNS} WHERE {clause} ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let orders = rows
        .iter()
        .map(order_row)
        .collect::<StoreResult<Vec<_>>>()?;
    with_passengers(conn, orders).await
}

pub(super) async fn orders_stuck(
    conn: &mut PgConnection,
    statuses: &[OrderStatus],
    before: DateTime<Utc>,
) -> StoreResult<Vec<OrderRecord>> {
    let names: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
    let sql = format!("{ORDER_COLUMNS} WHERE status = ANY($1) AND updated_at <= $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(names)
        .bind(ts(before))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let orders = rows
        .iter()
        .map(order_row)
        .collect::<StoreResult<Vec<_>>>()?;
    with_passengers(conn, orders).await
}

/// The outbox payload of a transition, exactly as the SQLite store writes it.
fn transition_payload(id: i64, from: OrderStatus, to: OrderStatus, change: &OrderChange) -> String {
    serde_json::json!({ "order_id": id, "from": from, "to": to, "failure": change.failure, "refunded": change.refunded_amount })
        .to_string()
}

pub(super) async fn transition_order(
    pool: &PgPool,
    id: i64,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    // One call (ticketctl_transition_order): the conditional update, freeing the
    // seats and cancelling tickets when the order stops holding seats, and the event.
    let hold_id: Option<i64> = sqlx::query_scalar(
        "SELECT ticketctl_transition_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(ts(now))
    .bind(&change.charge_id)
    .bind(&change.failure)
    .bind(change.refunded_amount)
    .bind(from.holds_seats() && !to.holds_seats())
    .bind(format!("order.{to}"))
    .bind(transition_payload(id, from, to, change))
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(hold_id.is_some())
}

pub(super) async fn confirm_order(
    pool: &PgPool,
    c: Confirmation,
) -> StoreResult<Option<Vec<TicketRecord>>> {
    if !matches!(c.from, OrderStatus::Reserved | OrderStatus::Paid) {
        return Err(StoreError::Conflict(format!(
            "an order cannot be confirmed from {}",
            c.from
        )));
    }
    let paid = OrderChange {
        charge_id: c.charge_id.clone(),
        ..Default::default()
    };
    let paid_payload =
        transition_payload(c.order_id, OrderStatus::Reserved, OrderStatus::Paid, &paid);
    let confirmed_payload = transition_payload(
        c.order_id,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        &OrderChange::default(),
    );
    let pnrs: Vec<&str> = c.tickets.iter().map(|t| t.pnr.as_str()).collect();
    let seqs: Vec<i64> = c.tickets.iter().map(|t| t.passenger_seq as i64).collect();
    let seats: Vec<i64> = c.tickets.iter().map(|t| t.seat_id).collect();
    let payloads: Vec<&str> = c.tickets.iter().map(|t| t.payload.as_str()).collect();
    let confirm = sqlx::query(
        "SELECT * FROM ticketctl_confirm_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.order_id)
    .bind(c.from.as_str())
    .bind(&c.charge_id)
    .bind(ts(c.now))
    .bind(paid_payload)
    .bind(confirmed_payload)
    .bind(pnrs)
    .bind(seqs)
    .bind(seats)
    .bind(payloads);
    // The stored reply is written from the issued tickets in the same transaction;
    // without one, the call alone is the transaction (one round trip).
    let (rows, tx) = match c.reply {
        Some(_) => {
            let mut tx = pool.begin().await.map_err(db)?;
            (confirm.fetch_all(&mut *tx).await.map_err(db)?, Some(tx))
        }
        None => (confirm.fetch_all(pool).await.map_err(db)?, None),
    };
    if rows.first().map(|r| get::<bool>(r, "moved")).transpose()? == Some(true) {
        // Nothing was written; dropping the transaction rolls back nothing.
        return Ok(None);
    }
    let tickets = rows
        .iter()
        .map(ticket_row)
        .collect::<StoreResult<Vec<_>>>()?;
    if let (Some(r), Some(mut tx)) = (c.reply, tx) {
        sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2")
            .bind(r.user_id)
            .bind(&r.key)
            .bind(r.status as i64)
            .bind((r.body)(&tickets))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
    }
    Ok(Some(tickets))
}

pub(super) async fn idempotency(
    pool: &PgPool,
    user_id: i64,
    key: &str,
) -> StoreResult<Option<IdempotencyRecord>> {
    let row = sqlx::query("SELECT request_hash, order_id, status_code, response FROM idempotency_keys WHERE user_id = $1 AND key = $2")
        .bind(user_id)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(IdempotencyRecord {
            request_hash: get(&r, "request_hash")?,
            order_id: get(&r, "order_id")?,
            status_code: get::<Option<i64>>(&r, "status_code")?.map(|s| s as u16),
            response: get(&r, "response")?,
        })
    })
    .transpose()
}

pub(super) async fn payment_token(pool: &PgPool, token: &str) -> StoreResult<Option<PaymentToken>> {
    let row = sqlx::query("SELECT token, user_id, brand, last4, exp_month, exp_year FROM payment_tokens WHERE token = $1")
        .bind(token)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(PaymentToken {
            token: get(&r, "token")?,
            user_id: get(&r, "user_id")?,
            brand: get(&r, "brand")?,
            last4: get(&r, "last4")?,
            exp_month: get::<i64>(&r, "exp_month")? as u32,
            exp_year: get::<i64>(&r, "exp_year")? as u32,
        })
    })
    .transpose()
}

pub(super) async fn charge_where(
    pool: &PgPool,
    clause: &str,
    arg: &str,
) -> StoreResult<Option<GatewayCharge>> {
    let sql = format!(
        "SELECT idempotency_key, charge_id, token, amount, status, refunded FROM gateway_charges WHERE {clause}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(GatewayCharge {
            idempotency_key: get(&r, "idempotency_key")?,
            charge_id: get(&r, "charge_id")?,
            token: get(&r, "token")?,
            amount: get(&r, "amount")?,
            status: get(&r, "status")?,
            refunded: get(&r, "refunded")?,
        })
    })
    .transpose()
}

pub(super) async fn issue_tickets(
    pool: &PgPool,
    tickets: &[NewTicket],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let pnrs: Vec<&str> = tickets.iter().map(|t| t.pnr.as_str()).collect();
    let orders: Vec<i64> = tickets.iter().map(|t| t.order_id).collect();
    let seqs: Vec<i64> = tickets.iter().map(|t| t.passenger_seq as i64).collect();
    let seats: Vec<i64> = tickets.iter().map(|t| t.seat_id).collect();
    let payloads: Vec<&str> = tickets.iter().map(|t| t.payload.as_str()).collect();
    let issued: i64 = sqlx::query_scalar("SELECT ticketctl_issue_tickets($1, $2, $3, $4, $5, $6)")
        .bind(pnrs)
        .bind(orders)
        .bind(seqs)
        .bind(seats)
        .bind(payloads)
        .bind(ts(now))
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(issued as usize)
}

fn ticket_row(r: &PgRow) -> StoreResult<TicketRecord> {
    Ok(TicketRecord {
        id: get(r, "id")?,
        pnr: get(r, "pnr")?,
        order_id: get(r, "order_id")?,
        passenger_seq: get::<i64>(r, "passenger_seq")? as u32,
        seat_id: get(r, "seat_id")?,
        status: get(r, "status")?,
        payload: get(r, "payload")?,
        issued_at: from_ts(get(r, "issued_at")?),
    })
}

pub(super) async fn tickets_where<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(
    ex: E,
    clause: &str,
    arg: impl sqlx::Encode<'static, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
) -> StoreResult<Vec<TicketRecord>> {
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

pub(super) async fn outbox_pending(
    pool: &PgPool,
    consumer: Consumer,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let sql = format!(
        "SELECT id, kind, subject_id, payload, created_at FROM outbox WHERE {} IS NULL ORDER BY id LIMIT $1",
        consumer.column()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(OutboxEvent {
                id: get(r, "id")?,
                kind: get(r, "kind")?,
                subject_id: get(r, "subject_id")?,
                payload: get(r, "payload")?,
                created_at: from_ts(get(r, "created_at")?),
            })
        })
        .collect()
}

pub(super) async fn audit_append(conn: &mut PgConnection, e: &OutboxEvent) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let prev: String = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .unwrap_or_else(|| GENESIS.to_owned());
    let at = ts(e.created_at);
    let hash = chain_hash(&prev, at, &e.kind, e.subject_id, &e.payload);
    sqlx::query(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(e.id)
    .bind(at)
    .bind(&e.kind)
    .bind(e.subject_id)
    .bind(&e.payload)
    .bind(prev)
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Appends a batch of events to the audit chain in three round trips whatever its
/// size (the lock, one read, one insert) instead of three per event: the same rows
/// and hashes as appending them one by one.
pub(super) async fn audit_append_all(
    conn: &mut PgConnection,
    events: &[OutboxEvent],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Its own statement: the read below must see what the previous holder committed.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let r = sqlx::query(
        "SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS prev,
                ARRAY(SELECT event_id FROM audit_log WHERE event_id = ANY($1)) AS logged",
    )
    .bind(&ids)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let mut prev = get::<Option<String>>(&r, "prev")?.unwrap_or_else(|| GENESIS.to_owned());
    let logged: Vec<i64> = get(&r, "logged")?;
    // Skip what is logged, and an event given twice in the batch after its first
    // time (as appending one by one would; the insert below would otherwise
    // break the unique event id and lose the whole batch).
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let fresh: Vec<&OutboxEvent> = events
        .iter()
        .filter(|e| !logged.contains(&e.id) && seen.insert(e.id))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    // A redelivered event is skipped, as ON CONFLICT did one by one: the chain
    // runs on from the last row actually written.
    let (mut prevs, mut hashes) = (
        Vec::with_capacity(fresh.len()),
        Vec::with_capacity(fresh.len()),
    );
    for e in &fresh {
        let hash = chain_hash(&prev, ts(e.created_at), &e.kind, e.subject_id, &e.payload);
        prevs.push(std::mem::replace(&mut prev, hash.clone()));
        hashes.push(hash);
    }
    sqlx::query(
        "INSERT INTO audit_log (event_id, at, kind, subject_id, detail, prev_hash, hash)
         SELECT event_id, at, kind, subject_id, detail, prev_hash, hash FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
           WITH ORDINALITY AS x(event_id, at, kind, subject_id, detail, prev_hash, hash, n)
         ORDER BY n",
    )
    .bind(fresh.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| ts(e.created_at)).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.subject_id).collect::<Vec<_>>())
    .bind(fresh.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
    .bind(prevs)
    .bind(hashes)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn audit_log(pool: &PgPool) -> StoreResult<Vec<AuditRecord>> {
    let rows = sqlx::query("SELECT id, event_id, at, kind, subject_id, detail, prev_hash, hash FROM audit_log ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(AuditRecord {
                id: get(r, "id")?,
                event_id: get(r, "event_id")?,
                at: get(r, "at")?,
                kind: get(r, "kind")?,
                subject_id: get(r, "subject_id")?,
                detail: get(r, "detail")?,
                prev_hash: get(r, "prev_hash")?,
                hash: get(r, "hash")?,
            })
        })
        .collect()
}

pub(super) async fn seat_claims(
    pool: &PgPool,
    trip_id: Option<i64>,
) -> StoreResult<Vec<SeatClaim>> {
    let rows = sqlx::query(
        "SELECT s.id AS seat_id, s.taken, h.id AS hold_id, h.mask, h.status AS hold_status, o.status AS order_status
         FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id JOIN seats s ON s.id = hs.seat_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE $1::bigint IS NULL OR h.trip_id = $1 ORDER BY s.id, h.id",
    )
    .bind(trip_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(SeatClaim {
                seat_id: get(r, "seat_id")?,
                seat_taken: SegmentMask::from_db(get(r, "taken")?),
                hold_id: get(r, "hold_id")?,
                hold_mask: SegmentMask::from_db(get(r, "mask")?),
                hold_status: get(r, "hold_status")?,
                order_status: get::<Option<String>>(r, "order_status")?
                    .map(|s| status(&s))
                    .transpose()?,
            })
        })
        .collect()
}

pub(super) async fn ledger(pool: &PgPool) -> StoreResult<Ledger> {
    let r = sqlx::query(
        "SELECT
           (SELECT COUNT(*) FROM orders WHERE status = 'confirmed') AS confirmed_orders,
           (SELECT COUNT(*) FROM order_passengers p JOIN orders o ON o.id = p.order_id WHERE o.status = 'confirmed') AS passengers,
           (SELECT COUNT(*) FROM tickets WHERE status = 'valid') AS valid_tickets,
           (SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.status = 'valid' AND o.status <> 'confirmed') AS stray,
           (SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN amount
                                     WHEN status IN ('cancelled', 'refunded') THEN amount - refunded_amount
                                     ELSE 0 END), 0)::BIGINT FROM orders) AS orders_net,
           (SELECT COALESCE(SUM(amount - refunded), 0)::BIGINT FROM gateway_charges WHERE status = 'succeeded') AS gateway_net",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(Ledger {
        confirmed_orders: get(&r, "confirmed_orders")?,
        confirmed_passengers: get(&r, "passengers")?,
        valid_tickets: get(&r, "valid_tickets")?,
        stray_tickets: get(&r, "stray")?,
        orders_net: get(&r, "orders_net")?,
        gateway_net: get(&r, "gateway_net")?,
    })
}

#[async_trait]
impl BookingStore for PgStore {
    async fn create_hold(&self, hold: &NewHold) -> StoreResult<HoldRecord> {
        booking::create_hold(&self.pool, hold).await
    }

    async fn hold(&self, id: i64) -> StoreResult<Option<HoldRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::load_hold(&mut conn, id).await
    }

    async fn release_hold(&self, id: i64, user_id: i64) -> StoreResult<bool> {
        booking::release_hold(&self.pool, id, user_id).await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        booking::expire_holds(&self.pool, now, limit).await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<OrderRecord> {
        booking::create_order(&self.pool, order).await
    }

    async fn order(&self, id: i64) -> StoreResult<Option<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(booking::orders_where(&mut conn, "id = $1", id).await?.pop())
    }

    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::orders_where(&mut conn, "user_id = $1", user_id).await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::orders_stuck(&mut conn, statuses, before).await
    }

    async fn transition_order(
        &self,
        id: i64,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        booking::transition_order(&self.pool, id, from, to, change, now).await
    }

    async fn idempotency(&self, user_id: i64, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        booking::idempotency(&self.pool, user_id, key).await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Vec<TicketRecord>>> {
        booking::confirm_order(&self.pool, c).await
    }

    async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status_code: u16,
        response: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .bind(status_code as i64)
            .bind(response)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
