//! The outbox relay: every outbox event, in order, to an event stream (NATS
//! JetStream, through `adapters::nats`), so processes and services outside
//! this one learn what happened.
//!
//! An event is marked relayed only after the stream acknowledged it; a crash or
//! an outage in between means it is published again, and the stream drops the
//! copy because the message id is the event id. The relay runs beside the
//! booking path, never in it: with the stream down, bookings go on and their
//! events wait in the outbox while the relay retries with backoff.
//!
//! This module knows the port (`EventPublisher`) and the wire envelope, not NATS.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::domain::{EventId, SubjectId};
use crate::store::{Consumer, OutboxEvent};

use super::{App, AppError};

/// The version of [`EventEnvelope`]; raised when a field changes meaning or is
/// removed (adding a field is not a new version). See docs/events.md.
pub const ENVELOPE_VERSION: u32 = 1;

/// Events taken from the outbox per round.
const BATCH: i64 = 200;
/// Pause between rounds when the outbox is drained.
const IDLE: Duration = Duration::from_millis(100);
/// Waits after a failed round: doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// One event as it is published: the documented wire format (docs/events.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub version: u32,
    /// The outbox id: unique and increasing, and the stream's message id.
    pub id: EventId,
    /// e.g. `order.confirmed`; the subject is `<prefix>.<kind>`.
    pub kind: String,
    /// What the event is about: an order, hold or ticket id, by kind.
    pub subject_id: SubjectId,
    /// When the state change was committed (RFC 3339, UTC).
    pub occurred_at: DateTime<Utc>,
    /// Kind-specific fields, as written to the outbox.
    pub payload: serde_json::Value,
}

impl EventEnvelope {
    pub fn of(event: &OutboxEvent) -> EventEnvelope {
        EventEnvelope {
            version: ENVELOPE_VERSION,
            id: event.id,
            kind: event.kind().to_owned(),
            subject_id: event.subject_id,
            occurred_at: event.created_at,
            // Every store writes JSON; should one ever not, the text still travels.
            payload: serde_json::from_str(&event.payload)
                .unwrap_or_else(|_| serde_json::Value::String(event.payload.clone())),
        }
    }
}

/// Why the stream did not take (all of) a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PublishError(pub String);

/// How far a batch got: the first `acknowledged` events are safely stored.
#[derive(Debug)]
pub struct Published {
    pub acknowledged: usize,
    /// Why the rest were not; `None` when all were acknowledged.
    pub failure: Option<PublishError>,
}

/// The port events leave through; `adapters::nats::JetStreamPublisher` implements it.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes `events` in order and waits for the stream's acknowledgements;
    /// reports how many from the front were acknowledged.
    async fn publish(&self, events: &[EventEnvelope]) -> Published;

    /// Gets the destination ready before the first event (connects, creates
    /// the stream), so watchers can attach to it early; publishing does the
    /// same when it has to.
    async fn prepare(&self) -> Result<(), PublishError> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("publishing events: {0}")]
    Publish(#[from] PublishError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<RelayError> for AppError {
    fn from(e: RelayError) -> Self {
        match e {
            RelayError::Publish(e) => AppError::Internal(format!("publishing events: {e}")),
            RelayError::App(e) => e,
        }
    }
}

impl App {
    /// Relays outbox events through `publisher` from the background workers.
    pub fn with_event_publisher(mut self, publisher: Arc<dyn EventPublisher>) -> App {
        self.events = Some(publisher);
        self
    }

    /// Publishes one batch of unrelayed events and marks those the stream
    /// acknowledged; returns how many. A failure still marks the acknowledged
    /// front of the batch, so the next round starts after it.
    pub async fn relay_once(&self, publisher: &dyn EventPublisher) -> Result<usize, RelayError> {
        let _turn = self.outbox_turns.of(Consumer::Relay).lock().await;
        let events = self.claim_events(Consumer::Relay).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let envelopes: Vec<EventEnvelope> = events.iter().map(EventEnvelope::of).collect();
        let published = publisher.publish(&envelopes).await;
        let acknowledged = published.acknowledged.min(events.len());
        if acknowledged > 0 {
            let ids: Vec<EventId> = events[..acknowledged].iter().map(|e| e.id).collect();
            self.store
                .outbox_mark(Consumer::Relay, &ids, self.now())
                .await
                .map_err(AppError::from)?;
            self.events_delivered(Consumer::Relay, &events[..acknowledged]);
        }
        match published.failure {
            Some(e) => Err(e.into()),
            None => Ok(acknowledged),
        }
    }
}

/// Relays until shutdown: at once while a full batch came back (a backlog),
/// every `IDLE` when drained, and with growing pauses while publishing fails.
pub(crate) async fn relay_loop(
    app: App,
    publisher: Arc<dyn EventPublisher>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut retry = Backoff::default();
    let mut prepared = false;
    loop {
        // Shutdown may cut a round short: at-least-once delivery makes that safe.
        let round = tokio::select! {
            round = async {
                if !prepared {
                    publisher.prepare().await?;
                    prepared = true;
                }
                app.relay_once(publisher.as_ref()).await
            } => round,
            _ = shutdown.changed() => return,
        };
        let pause = match round {
            Ok(n) => {
                if retry.failures > 0 {
                    tracing::info!(relayed = n, "event relay publishing again");
                }
                retry = Backoff::default();
                if n as i64 >= BATCH {
                    Duration::ZERO
                } else {
                    IDLE
                }
            }
            Err(e) => {
                let pause = retry.next_pause();
                // The first failure of a run is news; the retries after it are not.
                if retry.failures == 1 {
                    tracing::warn!(error = %e, retry_in = ?pause, "event relay failed; events wait in the outbox");
                } else {
                    tracing::debug!(error = %e, retry_in = ?pause, "event relay still failing");
                }
                pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Pauses after consecutive failures: `FIRST_RETRY`, doubling, at most `LONGEST_RETRY`.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next_pause(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doublings = (self.failures - 1).min(16);
        FIRST_RETRY
            .saturating_mul(1 << doublings)
            .min(LONGEST_RETRY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        let mut b = Backoff::default();
        let pauses: Vec<u128> = (0..8).map(|_| b.next_pause().as_millis()).collect();
        assert_eq!(pauses, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        for _ in 0..100 {
            assert_eq!(
                b.next_pause(),
                LONGEST_RETRY,
                "no overflow after many failures"
            );
        }
    }

    #[test]
    fn the_envelope_carries_the_documented_fields() {
        let payload =
            r#"{"failure":null,"from":"paid","order_id":7,"refunded":null,"to":"confirmed"}"#;
        let event = OutboxEvent {
            id: EventId(42),
            event: crate::domain::Event::parse("order.confirmed", payload).unwrap(),
            subject_id: SubjectId(7),
            payload: payload.into(),
            created_at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        };
        let json = serde_json::to_value(EventEnvelope::of(&event)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1,
                "id": 42,
                "kind": "order.confirmed",
                "subject_id": 7,
                "occurred_at": "2026-09-21T14:13:20Z",
                "payload": { "failure": null, "order_id": 7, "from": "paid", "refunded": null, "to": "confirmed" },
            })
        );
    }
}
