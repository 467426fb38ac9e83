-- Queued sales (issue 10): the waiting room's configuration is kept in the
-- database, so every server process, and a restarted one, knows which trips
-- are gated and how. The queue itself is kept by the room (Redis or memory).
CREATE TABLE queued_sales (
    id           TEXT PRIMARY KEY,
    -- Milliseconds since the epoch: the room opens to the millisecond.
    opens_at_ms  INTEGER NOT NULL,
    rate_per_sec REAL NOT NULL,
    max_active   INTEGER NOT NULL,
    idle_secs    INTEGER NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0
);
-- A trip is in at most one queued sale: the primary key says so atomically.
-- No foreign key to trips: a sale may name trips scheduled later.
CREATE TABLE queued_sale_trips (
    trip_id INTEGER PRIMARY KEY,
    sale_id TEXT NOT NULL REFERENCES queued_sales(id)
);
CREATE INDEX queued_sale_trips_sale ON queued_sale_trips(sale_id);
