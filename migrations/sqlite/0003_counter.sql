-- Counter sales: tickets sold for cash by a clerk at a station counter.
-- The order itself is an ordinary order (held and placed under the clerk's
-- account, paid through the cash drawer's ledger); this row says who bought it
-- (the passenger's phone, for look-ups) and which clerk took the money, so a
-- shift's cash can be reconciled. It is keyed by the hold and written before
-- the order is placed, so no crash can leave a cash order without it; it
-- counts only once its order is paid.
CREATE TABLE counter_sales (
    hold_id    INTEGER PRIMARY KEY REFERENCES holds(id),
    clerk_id   INTEGER NOT NULL REFERENCES users(id),
    phone      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX counter_sales_clerk ON counter_sales(clerk_id, created_at);
CREATE INDEX counter_sales_phone ON counter_sales(phone);

-- Cash handed back at a counter for a cancelled order (at most once per order).
CREATE TABLE counter_refunds (
    order_id   INTEGER PRIMARY KEY REFERENCES orders(id),
    clerk_id   INTEGER NOT NULL REFERENCES users(id),
    amount     INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX counter_refunds_clerk ON counter_refunds(clerk_id, created_at);

-- The seat map's "held" state reads the live holds of one trip.
CREATE INDEX holds_trip_status ON holds(trip_id, status);
