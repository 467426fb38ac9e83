-- Queued sales (issue 10): the waiting room's configuration is kept in the
-- database, so every server process, and a restarted one, knows which trips
-- are gated and how. The queue itself is kept by the room (Redis or memory).
CREATE TABLE queued_sales (
    id           TEXT PRIMARY KEY,
    -- Milliseconds since the epoch: the room opens to the millisecond.
    opens_at_ms  BIGINT NOT NULL,
    rate_per_sec DOUBLE PRECISION NOT NULL,
    max_active   BIGINT NOT NULL,
    idle_secs    BIGINT NOT NULL,
    paused       BOOLEAN NOT NULL DEFAULT FALSE
);
-- A trip is in at most one queued sale: the primary key says so atomically.
-- No foreign key to trips: a sale may name trips scheduled later.
CREATE TABLE queued_sale_trips (
    trip_id BIGINT PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES queued_sales(id)
);
CREATE INDEX queued_sale_trips_sale ON queued_sale_trips(sale_id);
