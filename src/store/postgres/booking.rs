//! Postgres statements for holds, orders, payments, tickets, outbox and audit.

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

fn status(s: &str) -> StoreResult<OrderStatus> {
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

async fn outbox(
    conn: &mut PgConnection,
    kind: &str,
    subject_id: i64,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, subject_id, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind)
    .bind(subject_id)
    .bind(payload.to_string())
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn create_hold(conn: &mut PgConnection, h: &NewHold) -> StoreResult<HoldRecord> {
    // Lock the user first (per-user seat limit), then the seats in id order: every
    // hold takes its locks in the same order, so two holds never deadlock.
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(h.user_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let already: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE h.user_id = $1 AND h.trip_id = $2
           AND ((h.status = 'active' AND h.expires_at > $3)
                OR (h.status = 'ordered' AND o.status IN ('pending','reserved','paid','confirmed')))",
    )
    .bind(h.user_id)
    .bind(h.trip_id)
    .bind(ts(h.now))
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    if already + h.seat_ids.len() as i64 > h.max_seats_per_user {
        return Err(StoreError::Conflict(format!(
            "at most {} seats per passenger per trip; you already have {already}",
            h.max_seats_per_user
        )));
    }
    // One conditional update takes all the seats or reports which it could not;
    // it returns the seats as they now are, so the hold need not be read back.
    let rows = sqlx::query(
        "UPDATE seats SET taken = taken | $1
         WHERE id IN (SELECT id FROM seats WHERE id = ANY($2) ORDER BY id FOR UPDATE)
           AND trip_id = $3 AND class = $4 AND (taken & $1) = 0
         RETURNING id, coach_seq, coach_code, seat_no, class, taken",
    )
    .bind(h.mask.to_db())
    .bind(&h.seat_ids)
    .bind(h.trip_id)
    .bind(h.class.code())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut seats = rows.iter().map(seat_row).collect::<StoreResult<Vec<_>>>()?;
    let won: Vec<i64> = seats.iter().map(|s| s.id).collect();
    if won.len() != h.seat_ids.len() {
        // The caller's transaction is dropped without commit: nothing stays taken.
        let lost = h
            .seat_ids
            .iter()
            .copied()
            .filter(|s| !won.contains(s))
            .collect();
        return Err(StoreError::SeatsTaken(lost));
    }
    let hold_id: i64 = sqlx::query_scalar(
        "INSERT INTO holds (trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9) RETURNING id",
    )
    .bind(h.trip_id)
    .bind(h.user_id)
    .bind(h.from_stop as i64)
    .bind(h.to_stop as i64)
    .bind(h.mask.to_db())
    .bind(h.class.code())
    .bind(h.fare)
    .bind(ts(h.now))
    .bind(ts(h.expires_at))
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query("INSERT INTO hold_seats (hold_id, seat_id) SELECT $1, * FROM UNNEST($2::bigint[])")
        .bind(hold_id)
        .bind(&h.seat_ids)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    seats.sort_by_key(|s| (s.coach_seq, s.seat_no));
    // Built from what was just written: two round trips fewer than reading it back.
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
    load_hold_as(conn, id, false).await
}

/// Loads a hold, locking its row first when `lock` (so two orders cannot race for it).
async fn load_hold_as(
    conn: &mut PgConnection,
    id: i64,
    lock: bool,
) -> StoreResult<Option<HoldRecord>> {
    let sql = if lock {
        "SELECT id, trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at
         FROM holds WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id, trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at
         FROM holds WHERE id = $1"
    };
    let Some(r) = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let seats = sqlx::query(
        "SELECT s.id, s.coach_seq, s.coach_code, s.seat_no, s.class, s.taken
         FROM hold_seats hs JOIN seats s ON s.id = hs.seat_id WHERE hs.hold_id = $1 ORDER BY s.coach_seq, s.seat_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    Ok(Some(HoldRecord {
        id: get(&r, "id")?,
        trip_id: get(&r, "trip_id")?,
        user_id: get(&r, "user_id")?,
        from_stop: get::<i64>(&r, "from_stop")? as u32,
        to_stop: get::<i64>(&r, "to_stop")? as u32,
        mask: SegmentMask::from_db(get(&r, "mask")?),
        class: class(&get::<String>(&r, "class")?)?,
        fare: get(&r, "fare")?,
        status: get(&r, "status")?,
        created_at: from_ts(get(&r, "created_at")?),
        expires_at: from_ts(get(&r, "expires_at")?),
        seats: seats.iter().map(seat_row).collect::<StoreResult<_>>()?,
    }))
}

/// Clears exactly the hold's bits on exactly its seats.
async fn free_hold_seats(conn: &mut PgConnection, hold_id: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE seats SET taken = taken & ~(SELECT mask FROM holds WHERE id = $1)
         WHERE id IN (SELECT seat_id FROM hold_seats WHERE hold_id = $1)",
    )
    .bind(hold_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn release_hold(
    conn: &mut PgConnection,
    id: i64,
    user_id: i64,
) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE holds SET status = 'released' WHERE id = $1 AND user_id = $2 AND status = 'active'",
    )
    .bind(id)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if changed == 1 {
        free_hold_seats(conn, id).await?;
    }
    Ok(changed == 1)
}

pub(super) async fn expire_holds(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    // SKIP LOCKED: several server processes sweep without waiting on each other.
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM holds WHERE status = 'active' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for id in &ids {
        sqlx::query("UPDATE holds SET status = 'expired' WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        free_hold_seats(conn, *id).await?;
        outbox(
            conn,
            "hold.expired",
            *id,
            &serde_json::json!({ "hold_id": id }),
            now,
        )
        .await?;
    }
    Ok(ids)
}

pub(super) async fn create_order(
    conn: &mut PgConnection,
    o: &NewOrder,
) -> StoreResult<OrderRecord> {
    // Lock the hold so two orders cannot race for it.
    let hold = load_hold_as(conn, o.hold_id, true)
        .await?
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
    let order_id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (user_id, hold_id, trip_id, status, amount, payment_token, created_at, updated_at)
         VALUES ($1, $2, $3, 'reserved', $4, $5, $6, $6) RETURNING id",
    )
    .bind(o.user_id)
    .bind(hold.id)
    .bind(hold.trip_id)
    .bind(amount)
    .bind(&o.payment_token)
    .bind(ts(o.now))
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query("UPDATE holds SET status = 'ordered' WHERE id = $1")
        .bind(hold.id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let seqs: Vec<i64> = (0..o.passengers.len() as i64).collect();
    let names: Vec<String> = o.passengers.iter().map(|p| p.name.clone()).collect();
    let nids: Vec<Option<String>> = o.passengers.iter().map(|p| p.nid.clone()).collect();
    let seats: Vec<i64> = hold.seats.iter().map(|s| s.id).collect();
    sqlx::query(
        "INSERT INTO order_passengers (order_id, seq, name, nid, seat_id)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[])",
    )
    .bind(order_id)
    .bind(seqs)
    .bind(names)
    .bind(nids)
    .bind(seats)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query("INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(o.user_id)
        .bind(&o.idempotency_key)
        .bind(&o.request_hash)
        .bind(order_id)
        .bind(ts(o.now))
        .execute(&mut *conn)
        .await
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
    )
    .await?;
    // Built from what was just written: two round trips fewer than reading it back.
    Ok(OrderRecord {
        id: order_id,
        user_id: o.user_id,
        hold_id: hold.id,
        trip_id: hold.trip_id,
        status: OrderStatus::Reserved,
        amount,
        payment_token: o.payment_token.clone(),
        charge_id: None,
        refunded_amount: 0,
        failure: None,
        created_at: from_ts(ts(o.now)),
        updated_at: from_ts(ts(o.now)),
        passengers: o
            .passengers
            .iter()
            .zip(&hold.seats)
            .enumerate()
            .map(|(seq, (p, seat))| PassengerRecord {
                seq: seq as u32,
                name: p.name.clone(),
                nid: p.nid.clone(),
                seat_id: seat.id,
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

pub(super) async fn transition_order(
    conn: &mut PgConnection,
    id: i64,
    from: OrderStatus,
    to: OrderStatus,
    change: &OrderChange,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let hold_id: Option<i64> = sqlx::query_scalar(
        "UPDATE orders SET status = $3, updated_at = $4,
           charge_id = COALESCE($5, charge_id), failure = COALESCE($6, failure),
           refunded_amount = COALESCE($7, refunded_amount)
         WHERE id = $1 AND status = $2 RETURNING hold_id",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(ts(now))
    .bind(&change.charge_id)
    .bind(&change.failure)
    .bind(change.refunded_amount)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(hold_id) = hold_id else {
        return Ok(false);
    };
    if from.holds_seats() && !to.holds_seats() {
        free_hold_seats(conn, hold_id).await?;
        sqlx::query("UPDATE tickets SET status = 'cancelled' WHERE order_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    let payload = serde_json::json!({ "order_id": id, "from": from, "to": to, "failure": change.failure, "refunded": change.refunded_amount });
    outbox(conn, &format!("order.{to}"), id, &payload, now).await?;
    Ok(true)
}

pub(super) async fn confirm_order(
    conn: &mut PgConnection,
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
            )
            .await?;
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
    )
    .await?
    {
        if c.from == OrderStatus::Paid {
            return Ok(None);
        }
        // Unreachable (it was paid a statement ago); the error rolls the transaction back.
        return Err(StoreError::Conflict(format!(
            "order {} changed while being confirmed",
            c.order_id
        )));
    }
    issue_tickets(conn, &c.tickets, c.now).await?;
    let tickets = tickets_where(&mut *conn, "order_id = $1", c.order_id).await?;
    if let Some(r) = c.reply {
        sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2")
            .bind(r.user_id)
            .bind(&r.key)
            .bind(r.status as i64)
            .bind((r.body)(&tickets))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
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
    conn: &mut PgConnection,
    tickets: &[NewTicket],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut issued = 0;
    for t in tickets {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO tickets (pnr, order_id, passenger_seq, seat_id, status, payload, issued_at)
             VALUES ($1, $2, $3, $4, 'valid', $5, $6) ON CONFLICT (order_id, passenger_seq) DO NOTHING RETURNING id",
        )
        .bind(&t.pnr)
        .bind(t.order_id)
        .bind(t.passenger_seq as i64)
        .bind(t.seat_id)
        .bind(&t.payload)
        .bind(ts(now))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(id) = id {
            issued += 1;
            outbox(
                conn,
                "ticket.issued",
                id,
                &serde_json::json!({ "ticket_id": id, "pnr": t.pnr, "order_id": t.order_id }),
                now,
            )
            .await?;
        }
    }
    Ok(issued)
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
    rows.iter()
        .map(|r| {
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
        })
        .collect()
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
