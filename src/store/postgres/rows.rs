//! Postgres: the one place rows are mapped to the domain's entities (holds,
//! seats, orders, passengers, tickets, charges, users) and to the store's
//! records, and text columns parsed (typed ids and statuses in `codec`).

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::db;
use crate::domain::{
    Charge, Hold, HoldId, HoldNotLive, HoldStatus, Order, OrderStatus, Passenger, Seat, SeatCap,
    SeatClass, SeatId, SegmentMask, ServiceDate, Ticket, User,
};
use crate::store::{
    IdempotencyRecord, NewHold, NewOrder, OutboxEvent, PaymentToken, StoreError, StoreResult,
    TripRecord, from_ts, ts,
};

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db)
}

pub(crate) fn class(s: &str) -> StoreResult<SeatClass> {
    s.parse()
        .map_err(|e: crate::domain::ParseError| StoreError::Backend(e.to_string()))
}

pub(super) const USER_COLUMNS: &str =
    "SELECT id, name, phone, email, password_hash, role, totp_secret,
     mfa_enabled, failed_logins, locked_until, created_at, nid FROM users";

pub(super) fn user_row(r: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: get(r, "id")?,
        name: get(r, "name")?,
        phone: get(r, "phone")?,
        email: get(r, "email")?,
        password_hash: get(r, "password_hash")?,
        role: get::<String>(r, "role")?
            .parse()
            .map_err(|e: crate::domain::ParseError| StoreError::Backend(e.to_string()))?,
        totp_secret: get(r, "totp_secret")?,
        mfa_enabled: get(r, "mfa_enabled")?,
        failed_logins: get(r, "failed_logins")?,
        locked_until: get::<Option<i64>>(r, "locked_until")?.map(from_ts),
        created_at: from_ts(get(r, "created_at")?),
        nid: get::<Option<String>>(r, "nid")?
            .map(|n| crate::domain::Nid::parse(&n))
            .transpose()
            .map_err(|e| StoreError::Backend(e.to_string()))?,
    })
}

pub(super) fn seat_row(r: &PgRow) -> StoreResult<Seat> {
    Ok(Seat {
        id: get(r, "id")?,
        coach_seq: get::<i64>(r, "coach_seq")? as u32,
        coach_code: get(r, "coach_code")?,
        seat_no: get::<i64>(r, "seat_no")? as u32,
        class: class(&get::<String>(r, "class")?)?,
        taken: SegmentMask::from_db(get(r, "taken")?),
    })
}

/// The hold that `ticketctl_create_hold` rows describe, or its refusal.
pub(super) fn hold_from_rows(rows: &[PgRow], h: &NewHold) -> StoreResult<Hold> {
    let first = rows
        .first()
        .ok_or_else(|| StoreError::Backend("create_hold returned nothing".into()))?;
    let Some(hold_id) = get::<Option<HoldId>>(first, "hold_id")? else {
        // Refused: the function wrote nothing.
        if let Some(lost) = get::<Option<Vec<SeatId>>>(first, "lost")? {
            return Err(StoreError::SeatsTaken(lost));
        }
        return Err(seat_cap_refusal(
            h.seat_cap,
            get(first, "already")?,
            h.seat_ids.len(),
        ));
    };
    let mut seats = rows.iter().map(seat_row).collect::<StoreResult<Vec<_>>>()?;
    seats.sort_by_key(|s| (s.coach_seq, s.seat_no));
    // Built from what was just written: no read-back round trips.
    Ok(Hold {
        id: hold_id,
        trip_id: h.trip_id,
        user_id: h.user_id,
        from_stop: h.from_stop,
        to_stop: h.to_stop,
        mask: h.mask,
        class: h.class,
        fare: h.fare,
        status: HoldStatus::Active,
        created_at: from_ts(ts(h.now)),
        expires_at: from_ts(ts(h.expires_at)),
        seats,
    })
}

/// The limit the booking functions compare against: the cap's `max`, or no
/// limit at all.
pub(super) fn seat_cap_max(cap: Option<SeatCap>) -> i64 {
    cap.map_or(i64::MAX, |c| i64::from(c.max()))
}

/// The refusal of a sale the function found over the passenger's seat cap:
/// the cap's own decision and words (a disagreement is a bug, not a refusal).
pub(super) fn seat_cap_refusal(cap: Option<SeatCap>, already: i64, wanted: usize) -> StoreError {
    match cap.map(|c| c.admit(already, wanted)) {
        Some(Err(refusal)) => StoreError::Conflict(refusal.to_string()),
        _ => StoreError::Backend(format!(
            "the seat cap refused {wanted} seat(s) beside {already}, which {cap:?} admits"
        )),
    }
}

/// The order a `ticketctl_create_order` row describes, or its refusal.
pub(super) fn created_order(r: &PgRow, o: &NewOrder) -> StoreResult<Order> {
    let seats: Vec<SeatId> = get::<Option<Vec<SeatId>>>(r, "seat_ids")?.unwrap_or_default();
    match get::<String>(r, "outcome")?.as_str() {
        "created" => {}
        "missing" => {
            return Err(StoreError::NotFound(format!(
                "no hold {} of yours",
                o.hold_id
            )));
        }
        "inactive" => {
            let status: HoldStatus = get(r, "hold_status")?;
            let refusal = HoldNotLive {
                hold_id: o.hold_id,
                seen: status.at(from_ts(get(r, "expires_at")?), o.now),
            };
            return Err(StoreError::Conflict(refusal.to_string()));
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
    Ok(Order {
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
            .map(|(seq, (p, seat))| Passenger {
                seq: seq as u32,
                name: p.name.clone(),
                nid: p.nid.clone(),
                seat_id: *seat,
            })
            .collect(),
    })
}

pub(super) const ORDER_COLUMNS: &str =
    "SELECT id, user_id, hold_id, trip_id, status, amount, payment_token, charge_id,
     refunded_amount, failure, created_at, updated_at FROM orders";

pub(super) fn order_row(r: &PgRow) -> StoreResult<Order> {
    Ok(Order {
        id: get(r, "id")?,
        user_id: get(r, "user_id")?,
        hold_id: get(r, "hold_id")?,
        trip_id: get(r, "trip_id")?,
        status: get(r, "status")?,
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

pub(super) fn ticket_row(r: &PgRow) -> StoreResult<Ticket> {
    Ok(Ticket {
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

pub(super) fn parse<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Backend(e.to_string()))
}

pub(super) fn trip_row(r: &PgRow) -> StoreResult<TripRecord> {
    Ok(TripRecord {
        id: get(r, "id")?,
        train_id: get(r, "train_id")?,
        train_number: get::<i64>(r, "number")? as u32,
        date: parse(ServiceDate::parse(&get::<String>(r, "service_date")?))?,
        departs_at: from_ts(get(r, "departs_at")?),
        sale_opens_at: from_ts(get(r, "sale_opens_at")?),
    })
}

pub(super) fn payment_token_row(r: &PgRow) -> StoreResult<PaymentToken> {
    Ok(PaymentToken {
        token: get(r, "token")?,
        user_id: get(r, "user_id")?,
        brand: get(r, "brand")?,
        last4: get(r, "last4")?,
        exp_month: get::<i64>(r, "exp_month")? as u32,
        exp_year: get::<i64>(r, "exp_year")? as u32,
    })
}

pub(super) fn charge_row(r: &PgRow) -> StoreResult<Charge> {
    charge_row_named(r, "")
}

/// A charge whose columns are named `{prefix}idempotency_key`, `{prefix}charge_id`, ….
pub(super) fn charge_row_named(r: &PgRow, prefix: &str) -> StoreResult<Charge> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(Charge {
        idempotency_key: get(r, &col("idempotency_key"))?,
        charge_id: get(r, &col("charge_id"))?,
        token: get(r, &col("token"))?,
        amount: get(r, &col("amount"))?,
        status: get(r, &col("status"))?,
        refunded: get(r, &col("refunded"))?,
    })
}

/// A hold from the rows of `holds h` joined to its seats (the hold's columns
/// repeat on each seat row: `hold_id`, …, `hold_class`, then `seat_row`'s).
pub(super) fn hold_row(rows: &[PgRow]) -> StoreResult<Option<Hold>> {
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let mut seats = Vec::with_capacity(rows.len());
    for row in rows {
        // A hold without seats joins to one row of NULL seat columns.
        if get::<Option<SeatId>>(row, "id")?.is_some() {
            seats.push(seat_row(row)?);
        }
    }
    Ok(Some(Hold {
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

/// Columns: seq, name, nid, seat_id (and the order_id it belongs to).
pub(super) fn passenger_row(r: &PgRow) -> StoreResult<Passenger> {
    Ok(Passenger {
        seq: get::<i64>(r, "seq")? as u32,
        name: get(r, "name")?,
        nid: get(r, "nid")?,
        seat_id: get(r, "seat_id")?,
    })
}

pub(super) fn outbox_event_row(r: &PgRow) -> StoreResult<OutboxEvent> {
    let kind: String = get(r, "kind")?;
    let payload: String = get(r, "payload")?;
    let event = crate::domain::Event::parse(&kind, &payload)
        .map_err(|e| StoreError::Backend(format!("outbox event {kind}: {e}")))?;
    Ok(OutboxEvent {
        id: get(r, "id")?,
        event,
        subject_id: get(r, "subject_id")?,
        payload,
        created_at: from_ts(get(r, "created_at")?),
    })
}

pub(super) fn idempotency_row(r: &PgRow) -> StoreResult<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        request_hash: get(r, "request_hash")?,
        order_id: get(r, "order_id")?,
        status_code: get::<Option<i64>>(r, "status_code")?.map(|s| s as u16),
        response: get(r, "response")?,
    })
}
