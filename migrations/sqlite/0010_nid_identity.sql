-- NID-bound identity (issue 11). Bangladesh Railway binds purchases to the
-- national ID (NID): the 4-seat cap is per NID per trip across online and
-- counter sales, with a cap per travel day across trips.
--
-- The account's NID, verified at the NID registry when it was given. Kept
-- plainly (counter look-ups and exports need the number) and never logged.
-- Older accounts (and staff) have none; they cannot buy online until they add
-- one. One account per NID: NULLs do not collide in a unique index.
ALTER TABLE users ADD COLUMN nid TEXT;
CREATE UNIQUE INDEX users_nid ON users(nid);

-- Whose cap a hold's seats count against: the account's NID for an online
-- hold, the buyer's NID once a counter hold is sold. NULL (a clerk's hold not
-- yet sold, or a hold from before this migration) counts for no NID.
ALTER TABLE holds ADD COLUMN nid TEXT;
CREATE INDEX holds_nid_status ON holds(nid, status);

-- A counter sale records the buyer's NID beside the phone.
ALTER TABLE counter_sales ADD COLUMN nid TEXT;
CREATE INDEX counter_sales_nid ON counter_sales(nid);

-- NIDs that hit the seat caps (counted) or were reported by a clerk. A
-- flagged NID (flagged_at set) cannot buy until an admin clears it.
CREATE TABLE nid_flags (
    nid         TEXT PRIMARY KEY,
    -- Sales refused by the NID's caps since it was last cleared.
    limit_hits  INTEGER NOT NULL DEFAULT 0,
    flagged_at  INTEGER,
    reason      TEXT,
    -- The clerk who reported it (NULL: flagged by the limit count).
    reported_by INTEGER REFERENCES users(id),
    updated_at  INTEGER NOT NULL
);
CREATE INDEX nid_flags_flagged ON nid_flags(flagged_at);
