-- Fraud velocity checks (issue 11): every step-up or block a velocity rule
-- decided, with its reason, for admins to list (`ticketctl risk list`,
-- `GET /v1/admin/risk`). A block (outcome 'block', cleared_at NULL) refuses
-- its subject until an admin clears it. The subject's value is kept plainly
-- (an NID, a phone number, an account id, a card fingerprint, a wallet
-- number, an address) for the admin to act on; logs carry only a hash of it.
-- The sliding-window counters themselves live with the waiting room (Redis
-- or memory), not here. Times are in milliseconds: a clearing restarts the
-- subject's counts from that instant.
CREATE TABLE risk_decisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    rule         TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('step-up', 'block')),
    subject_kind TEXT NOT NULL,
    subject      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    -- The account whose request tripped the rule, when there was one.
    user_id      INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    cleared_at   INTEGER,
    cleared_by   INTEGER REFERENCES users(id)
);
-- Blocks by subject: those in force refuse it; the last clearing of one
-- restarts the subject's counts (older acts no longer count).
CREATE INDEX risk_decisions_blocks ON risk_decisions (subject_kind, subject)
    WHERE outcome = 'block';
