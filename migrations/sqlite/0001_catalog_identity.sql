-- Catalog, trip inventory and identity. Times are Unix seconds (UTC);
-- service dates are ISO 'YYYY-MM-DD' text in Dhaka local time.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE stations (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_bn TEXT,
    aliases TEXT NOT NULL DEFAULT '[]'   -- JSON array of extra names people type
);

CREATE TABLE trains (
    id      INTEGER PRIMARY KEY,
    number  INTEGER NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    name_bn TEXT,
    runs_on INTEGER NOT NULL              -- weekday bits, bit 0 = Monday
);

CREATE TABLE train_stops (
    train_id   INTEGER NOT NULL REFERENCES trains(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    station_id INTEGER NOT NULL REFERENCES stations(id),
    arrive_min INTEGER,                   -- minutes after midnight of the service date
    depart_min INTEGER,
    km         INTEGER NOT NULL,
    PRIMARY KEY (train_id, seq)
);
CREATE INDEX train_stops_station ON train_stops(station_id);

CREATE TABLE train_coaches (
    train_id INTEGER NOT NULL REFERENCES trains(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    code     TEXT NOT NULL,
    class    TEXT NOT NULL,
    seats    INTEGER NOT NULL,
    layout   TEXT NOT NULL,
    PRIMARY KEY (train_id, seq)
);

CREATE TABLE fares (
    from_id INTEGER NOT NULL REFERENCES stations(id),
    to_id   INTEGER NOT NULL REFERENCES stations(id),
    class   TEXT NOT NULL,
    base    INTEGER NOT NULL,
    vat     INTEGER NOT NULL,
    PRIMARY KEY (from_id, to_id, class)
);

CREATE TABLE fare_rates (
    class       TEXT PRIMARY KEY,
    per_km      REAL NOT NULL,
    min_fare    INTEGER NOT NULL,
    vat_percent INTEGER NOT NULL
);

CREATE TABLE trips (
    id            INTEGER PRIMARY KEY,
    train_id      INTEGER NOT NULL REFERENCES trains(id),
    service_date  TEXT NOT NULL,
    departs_at    INTEGER NOT NULL,
    sale_opens_at INTEGER NOT NULL,
    UNIQUE (train_id, service_date)
);
CREATE INDEX trips_date ON trips(service_date);

-- One row per seat per trip; `taken` is the mask of segments held or sold.
CREATE TABLE seats (
    id         INTEGER PRIMARY KEY,
    trip_id    INTEGER NOT NULL REFERENCES trips(id) ON DELETE CASCADE,
    coach_seq  INTEGER NOT NULL,
    coach_code TEXT NOT NULL,
    seat_no    INTEGER NOT NULL,
    class      TEXT NOT NULL,
    taken      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (trip_id, coach_seq, seat_no)
);
CREATE INDEX seats_trip_class ON seats(trip_id, class);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    totp_secret   TEXT,
    mfa_enabled   INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,          -- SHA-256 of the token; the token itself is never stored
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
