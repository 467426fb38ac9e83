//! SQLite: the one place rows are mapped to the domain's entities (holds,
//! seats, orders, passengers, tickets, charges, users) and to the store's
//! records, and text columns parsed (typed ids and statuses in `codec`).

use crate::domain::{
    Charge, Hold, Order, Passenger, Seat, SeatClass, SegmentMask, ServiceDate, Ticket, User,
};
use crate::store::{IdempotencyRecord, OutboxEvent, PaymentToken, TripRecord, from_ts};

pub(super) fn parse_class(s: &str) -> rusqlite::Result<SeatClass> {
    s.parse().map_err(|e: crate::domain::ParseError| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) const TRIP_COLUMNS: &str =
    "SELECT t.id, t.train_id, tr.number, t.service_date, t.departs_at, t.sale_opens_at
     FROM trips t JOIN trains tr ON tr.id = t.train_id";

pub(super) fn trip_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TripRecord> {
    let date: String = r.get(3)?;
    Ok(TripRecord {
        id: r.get(0)?,
        train_id: r.get(1)?,
        train_number: r.get(2)?,
        date: ServiceDate::parse(&date).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        departs_at: from_ts(r.get(4)?),
        sale_opens_at: from_ts(r.get(5)?),
    })
}

pub(super) const USER_COLUMNS: &str =
    "SELECT id, name, phone, email, password_hash, role, totp_secret,
     mfa_enabled, failed_logins, locked_until, created_at, nid FROM users";

pub(super) fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        phone: r.get(2)?,
        email: r.get(3)?,
        password_hash: r.get(4)?,
        role: role.parse().map_err(|e: crate::domain::ParseError| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        totp_secret: r.get(6)?,
        mfa_enabled: r.get(7)?,
        failed_logins: r.get(8)?,
        locked_until: r.get::<_, Option<i64>>(9)?.map(from_ts),
        created_at: from_ts(r.get(10)?),
        nid: r
            .get::<_, Option<String>>(11)?
            .map(|n| crate::domain::Nid::parse(&n))
            .transpose()
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    11,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
    })
}

pub(super) const ORDER_COLUMNS: &str =
    "SELECT id, user_id, hold_id, trip_id, status, amount, payment_token, charge_id,
     refunded_amount, failure, created_at, updated_at FROM orders";

pub(super) fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: r.get(0)?,
        user_id: r.get(1)?,
        hold_id: r.get(2)?,
        trip_id: r.get(3)?,
        status: r.get(4)?,
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

pub(super) const TICKET_COLUMNS: &str =
    "SELECT id, pnr, order_id, passenger_seq, seat_id, status, payload, issued_at FROM tickets";

pub(super) fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
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

/// Columns: token, user_id, brand, last4, exp_month, exp_year.
pub(super) fn payment_token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PaymentToken> {
    Ok(PaymentToken {
        token: r.get(0)?,
        user_id: r.get(1)?,
        brand: r.get(2)?,
        last4: r.get(3)?,
        exp_month: r.get(4)?,
        exp_year: r.get(5)?,
    })
}

pub(super) const CHARGE_COLUMNS: &str =
    "idempotency_key, charge_id, token, amount, status, refunded";

/// `CHARGE_COLUMNS`, from column `at` on.
pub(super) fn charge_row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Charge> {
    Ok(Charge {
        idempotency_key: r.get(at)?,
        charge_id: r.get(at + 1)?,
        token: r.get(at + 2)?,
        amount: r.get(at + 3)?,
        status: r.get(at + 4)?,
        refunded: r.get(at + 5)?,
    })
}

pub(super) fn charge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Charge> {
    charge_row_at(r, 0)
}

pub(super) const SEAT_COLUMNS: &str =
    "s.id, s.coach_seq, s.coach_code, s.seat_no, s.class, s.taken";

/// `SEAT_COLUMNS` (of `seats s`).
pub(super) fn seat_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Seat> {
    Ok(Seat {
        id: r.get(0)?,
        coach_seq: r.get(1)?,
        coach_code: r.get(2)?,
        seat_no: r.get(3)?,
        class: parse_class(&r.get::<_, String>(4)?)?,
        taken: SegmentMask::from_db(r.get(5)?),
    })
}

pub(super) const HOLD_COLUMNS: &str =
    "SELECT id, trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at
     FROM holds";

/// `HOLD_COLUMNS`; the seats are read apart (`seat_row`).
pub(super) fn hold_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hold> {
    Ok(Hold {
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
}

pub(super) const PASSENGER_COLUMNS: &str = "SELECT seq, name, nid, seat_id FROM order_passengers";

pub(super) fn passenger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Passenger> {
    Ok(Passenger {
        seq: r.get(0)?,
        name: r.get(1)?,
        nid: r.get(2)?,
        seat_id: r.get(3)?,
    })
}

/// Columns: id, kind, subject_id, payload, created_at.
pub(super) fn outbox_event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEvent> {
    let kind: String = r.get(1)?;
    let payload: String = r.get(3)?;
    let event = crate::domain::Event::parse(&kind, &payload).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(OutboxEvent {
        id: r.get(0)?,
        event,
        subject_id: r.get(2)?,
        payload,
        created_at: from_ts(r.get(4)?),
    })
}

/// Columns: request_hash, order_id, status_code, response.
pub(super) fn idempotency_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        request_hash: r.get(0)?,
        order_id: r.get(1)?,
        status_code: r.get(2)?,
        response: r.get(3)?,
    })
}
