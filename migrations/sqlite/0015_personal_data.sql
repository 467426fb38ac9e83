-- Personal data (issue 11): export, erasure and retention.
--
-- An erased account keeps its row (orders, tickets and ledgers point at it)
-- with every personal field replaced; `erased_at` says when. Erased accounts
-- cannot log in and their tokens stop working.
ALTER TABLE users ADD COLUMN erased_at INTEGER;

-- One secret key per person, for keyed pseudonyms (HMAC-SHA256) of their
-- personal data where a record that must never change (the audit chain)
-- needs to tell one person from another. Erasure deletes the row: the
-- pseudonyms stay where they are, but nobody can link them to anyone again.
CREATE TABLE person_keys (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    hmac_key   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
