-- Outgoing SMS: one row per message the notification consumer queued, with
-- its own retry schedule (next_attempt_ms, milliseconds: backoffs start
-- under a second) and a claim (lease) so one process sends it at a time.
-- `reference` is sent to the gateway with every attempt, so a message resent
-- after a lost answer is recognised there.
CREATE TABLE sms_messages (
    id              BIGSERIAL PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    event_id        BIGINT NOT NULL,
    phone           TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT,
    last_error      TEXT,
    provider_id     TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT
);
CREATE INDEX sms_messages_due ON sms_messages (next_attempt_ms) WHERE status = 'pending';
CREATE INDEX sms_messages_event ON sms_messages (event_id);

-- The language a counter buyer's SMS are written in, when the clerk chose
-- one (`lang` on the counter order); without a row they are in Bangla. Kept
-- against the hold, like the buyer's phone, because it is known before the order.
CREATE TABLE sms_languages (
    hold_id BIGINT PRIMARY KEY REFERENCES holds(id),
    lang    TEXT NOT NULL CHECK (lang IN ('bn', 'en'))
);
