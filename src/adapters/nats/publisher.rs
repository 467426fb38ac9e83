//! Publishing outbox events to JetStream with the event id as `Nats-Msg-Id`.

use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{DUPLICATE_WINDOW, NatsError, NatsSettings, connect};
use crate::app::relay::{EventEnvelope, EventPublisher, PublishError, Published};

/// How long to wait for the stream to acknowledge a message.
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Publishes to one stream, connecting on first use and again after a
/// failure, so a NATS server that is down at start or goes away is only a
/// reason to retry, never a reason not to serve.
pub struct JetStreamPublisher {
    settings: NatsSettings,
    /// The connection with its stream checked; `None` until (re)connected.
    context: Mutex<Option<jetstream::Context>>,
}

impl JetStreamPublisher {
    pub fn new(settings: NatsSettings) -> JetStreamPublisher {
        JetStreamPublisher {
            settings,
            context: Mutex::new(None),
        }
    }

    /// The connection, with the stream created if it is missing.
    async fn ready(&self) -> Result<jetstream::Context, NatsError> {
        let mut slot = self.context.lock().await;
        if let Some(context) = slot.as_ref() {
            return Ok(context.clone());
        }
        let client = connect(self.settings.url()).await?;
        let context = jetstream::ContextBuilder::new()
            .timeout(ACK_TIMEOUT)
            .build(client);
        context
            .get_or_create_stream(stream::Config {
                name: self.settings.stream().to_owned(),
                subjects: vec![self.settings.all_subjects()],
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                NatsError::new(format!("creating the stream {}", self.settings.stream()), e)
            })?;
        *slot = Some(context.clone());
        Ok(context)
    }

    /// Drops the connection so the next round connects and checks the stream
    /// afresh (the server may have restarted without it).
    async fn forget(&self) {
        *self.context.lock().await = None;
    }

    async fn publish_in_order(&self, events: &[EventEnvelope]) -> Published {
        let failed = |acknowledged: usize, e: String| Published {
            acknowledged,
            failure: Some(PublishError(e)),
        };
        let context = match self.ready().await {
            Ok(c) => c,
            Err(e) => return failed(0, e.to_string()),
        };
        // Send them all, then collect the acknowledgements in order: one round
        // trip's wait for the batch instead of one per event.
        let mut pending = Vec::with_capacity(events.len());
        let mut send_failure = None;
        for event in events {
            let body = match serde_json::to_vec(event) {
                Ok(b) => b,
                Err(e) => {
                    send_failure = Some(format!("event {}: {e}", event.id));
                    break;
                }
            };
            let message = PublishMessage::build()
                .payload(body.into())
                .message_id(event.id.to_string());
            match context
                .send_publish(self.settings.subject_of(&event.kind), message)
                .await
            {
                Ok(ack) => pending.push(ack),
                Err(e) => {
                    send_failure = Some(format!("event {}: {e}", event.id));
                    break;
                }
            }
        }
        let mut acknowledged = 0;
        for (ack, event) in pending.into_iter().zip(events) {
            // A duplicate is acknowledged too: the stream already holds it.
            match ack.await {
                Ok(_) => acknowledged += 1,
                Err(e) => return failed(acknowledged, format!("event {}: {e}", event.id)),
            }
        }
        match send_failure {
            Some(e) => failed(acknowledged, e),
            None => Published {
                acknowledged,
                failure: None,
            },
        }
    }
}

#[async_trait]
impl EventPublisher for JetStreamPublisher {
    async fn publish(&self, events: &[EventEnvelope]) -> Published {
        let published = self.publish_in_order(events).await;
        if published.failure.is_some() {
            self.forget().await;
        }
        published
    }

    async fn prepare(&self) -> Result<(), PublishError> {
        self.ready()
            .await
            .map(|_| ())
            .map_err(|e| PublishError(e.to_string()))
    }
}
