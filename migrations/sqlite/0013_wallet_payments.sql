-- Mobile-wallet payments (bKash, Nagad, Rocket): one per order paid by wallet.
-- The passenger pays on the provider's page; the outcome arrives by a signed
-- callback (or, if none comes, by asking the provider). The order waits in
-- 'awaiting_payment' meanwhile, keeping its seats.
CREATE TABLE wallet_payments (
    order_id     INTEGER PRIMARY KEY REFERENCES orders(id),
    provider     TEXT NOT NULL,            -- bkash | nagad | rocket
    number       TEXT NOT NULL,            -- the payer's wallet number
    payment_id   TEXT UNIQUE,              -- the provider's id, once it made the payment
    redirect_url TEXT,                     -- where the passenger approves it
    state        TEXT NOT NULL,            -- initiated | processing | completed | cancelled | failed
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX wallet_payments_number ON wallet_payments(number, created_at);

-- Callbacks consumed, one body per payment: an exact duplicate is harmless
-- (answered the same), a different body for a consumed payment is a replay.
CREATE TABLE wallet_callbacks (
    payment_id  TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
