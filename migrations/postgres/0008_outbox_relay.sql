-- The outbox relay to NATS JetStream: an event is marked relayed only after the
-- stream acknowledged it. Events written before this migration are relayed too,
-- once a relay runs.
ALTER TABLE outbox ADD COLUMN relayed_at BIGINT;
CREATE INDEX outbox_relay ON outbox(relayed_at, id);
