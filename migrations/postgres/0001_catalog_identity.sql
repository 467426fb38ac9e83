-- Catalog, trip inventory and identity. Times are Unix seconds (UTC);
-- service dates are ISO 'YYYY-MM-DD' text in Dhaka local time.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE stations (
    id      BIGSERIAL PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_bn TEXT,
    aliases TEXT NOT NULL DEFAULT '[]'   -- JSON array of extra names people type
);

CREATE TABLE trains (
    id      BIGSERIAL PRIMARY KEY,
    number  BIGINT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    name_bn TEXT,
    runs_on BIGINT NOT NULL              -- weekday bits, bit 0 = Monday
);

CREATE TABLE train_stops (
    train_id   BIGINT NOT NULL REFERENCES trains(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    station_id BIGINT NOT NULL REFERENCES stations(id),
    arrive_min BIGINT,                   -- minutes after midnight of the service date
    depart_min BIGINT,
    km         BIGINT NOT NULL,
    PRIMARY KEY (train_id, seq)
);
CREATE INDEX train_stops_station ON train_stops(station_id);

CREATE TABLE train_coaches (
    train_id BIGINT NOT NULL REFERENCES trains(id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    code     TEXT NOT NULL,
    class    TEXT NOT NULL,
    seats    BIGINT NOT NULL,
    layout   TEXT NOT NULL,
    PRIMARY KEY (train_id, seq)
);

CREATE TABLE fares (
    from_id BIGINT NOT NULL REFERENCES stations(id),
    to_id   BIGINT NOT NULL REFERENCES stations(id),
    class   TEXT NOT NULL,
    base    BIGINT NOT NULL,
    vat     BIGINT NOT NULL,
    PRIMARY KEY (from_id, to_id, class)
);

CREATE TABLE fare_rates (
    class       TEXT PRIMARY KEY,
    per_km      DOUBLE PRECISION NOT NULL,
    min_fare    BIGINT NOT NULL,
    vat_percent BIGINT NOT NULL
);

CREATE TABLE trips (
    id            BIGSERIAL PRIMARY KEY,
    train_id      BIGINT NOT NULL REFERENCES trains(id),
    service_date  TEXT NOT NULL,
    departs_at    BIGINT NOT NULL,
    sale_opens_at BIGINT NOT NULL,
    UNIQUE (train_id, service_date)
);
CREATE INDEX trips_date ON trips(service_date);

-- One row per seat per trip; `taken` is the mask of segments held or sold.
CREATE TABLE seats (
    id         BIGSERIAL PRIMARY KEY,
    trip_id    BIGINT NOT NULL REFERENCES trips(id) ON DELETE CASCADE,
    coach_seq  BIGINT NOT NULL,
    coach_code TEXT NOT NULL,
    seat_no    BIGINT NOT NULL,
    class      TEXT NOT NULL,
    taken      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (trip_id, coach_seq, seat_no)
);
CREATE INDEX seats_trip_class ON seats(trip_id, class);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    totp_secret   TEXT,
    mfa_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,          -- SHA-256 of the token; the token itself is never stored
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
