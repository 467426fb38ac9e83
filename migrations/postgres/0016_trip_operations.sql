-- Operations staff perform on whole trips: cancellation (recorded before any
-- order is refunded, so an interrupted run can be finished), delays, closing
-- a trip's sale, and coaches taken out of sale.

CREATE TABLE trip_cancellations (
    trip_id      BIGINT PRIMARY KEY REFERENCES trips(id),
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    cancelled_at BIGINT NOT NULL,
    finished_at  BIGINT               -- every order settled, every hold released
);

CREATE TABLE trip_delays (
    trip_id    BIGINT PRIMARY KEY REFERENCES trips(id),
    minutes    BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    delayed_at BIGINT NOT NULL
);

-- A trip in this table sells nothing until it is reopened (row deleted).
CREATE TABLE trip_sale_closures (
    trip_id   BIGINT PRIMARY KEY REFERENCES trips(id),
    actor     TEXT NOT NULL,
    closed_at BIGINT NOT NULL
);

-- No new holds on these coaches; seats already sold in them are untouched.
CREATE TABLE coaches_off_sale (
    trip_id    BIGINT NOT NULL REFERENCES trips(id),
    coach_code TEXT NOT NULL,
    actor      TEXT NOT NULL,
    taken_at   BIGINT NOT NULL,
    PRIMARY KEY (trip_id, coach_code)
);

-- A cancellation walks a trip's orders in id order.
CREATE INDEX orders_trip ON orders(trip_id, id);
