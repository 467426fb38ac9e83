-- Booking: holds, orders, idempotency, payments, tickets, outbox and audit.

-- Seats held for a user on one journey until `expires_at`. The hold's bits are
-- set in seats.taken; whoever ends the hold (release, expiry, failed order,
-- cancellation) clears exactly `mask` on exactly its seats.
CREATE TABLE holds (
    id         INTEGER PRIMARY KEY,
    trip_id    INTEGER NOT NULL REFERENCES trips(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    from_stop  INTEGER NOT NULL,
    to_stop    INTEGER NOT NULL,
    mask       INTEGER NOT NULL,
    class      TEXT NOT NULL,
    fare       INTEGER NOT NULL,          -- per seat, VAT included
    status     TEXT NOT NULL,             -- active | ordered | released | expired
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX holds_active_expiry ON holds(status, expires_at);
CREATE INDEX holds_user_trip ON holds(user_id, trip_id);

CREATE TABLE hold_seats (
    hold_id INTEGER NOT NULL REFERENCES holds(id),
    seat_id INTEGER NOT NULL REFERENCES seats(id),
    PRIMARY KEY (hold_id, seat_id)
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    hold_id         INTEGER NOT NULL UNIQUE REFERENCES holds(id),
    trip_id         INTEGER NOT NULL REFERENCES trips(id),
    status          TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    payment_token   TEXT NOT NULL,
    charge_id       TEXT,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    failure         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX orders_user ON orders(user_id);
CREATE INDEX orders_status ON orders(status, updated_at);

CREATE TABLE order_passengers (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    seq      INTEGER NOT NULL,
    name     TEXT NOT NULL,
    nid      TEXT,
    seat_id  INTEGER NOT NULL REFERENCES seats(id),
    PRIMARY KEY (order_id, seq)
);

-- Idempotency-Key: the first request's fingerprint and, once finished, its answer.
CREATE TABLE idempotency_keys (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id     INTEGER REFERENCES orders(id),
    status_code  INTEGER,
    response     TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Card tokens: only the token, brand and last four digits; never the number or CVC.
CREATE TABLE payment_tokens (
    token      TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    brand      TEXT NOT NULL,
    last4      TEXT NOT NULL,
    exp_month  INTEGER NOT NULL,
    exp_year   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- The mock gateway's own ledger (a real gateway keeps this on its side): it
-- survives our crashes, which is what lets recovery ask "did that charge land?".
CREATE TABLE gateway_charges (
    idempotency_key TEXT PRIMARY KEY,
    charge_id       TEXT NOT NULL UNIQUE,
    token           TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    status          TEXT NOT NULL,        -- succeeded | declined
    refunded        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY,
    pnr            TEXT NOT NULL UNIQUE,
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    passenger_seq  INTEGER NOT NULL,
    seat_id        INTEGER NOT NULL REFERENCES seats(id),
    status         TEXT NOT NULL,         -- valid | cancelled
    payload        TEXT NOT NULL,         -- the signed QR payload
    issued_at      INTEGER NOT NULL,
    UNIQUE (order_id, passenger_seq)
);

-- Transactional outbox: written in the same transaction as the state change.
-- Each in-process consumer marks its own column, so one slow consumer never
-- holds back another, and a crash before marking means a redelivery.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    fulfilled_at INTEGER,
    notified_at  INTEGER,
    audited_at   INTEGER
);
CREATE INDEX outbox_fulfil ON outbox(fulfilled_at, id);
CREATE INDEX outbox_notify ON outbox(notified_at, id);
CREATE INDEX outbox_audit ON outbox(audited_at, id);

-- Append-only, hash-chained audit log: hash = SHA-256(prev_hash || entry).
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL UNIQUE,    -- outbox id: a redelivered event is logged once
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
