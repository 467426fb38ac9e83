//! Watching the event stream: an ephemeral ordered consumer that lives as
//! long as the watcher and leaves nothing behind on the server.

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{NatsError, connect};

/// Events as they arrive: each message's body (an `EventEnvelope` in JSON).
pub type Tail = BoxStream<'static, Result<Vec<u8>, NatsError>>;

/// Follows `subject` (NATS wildcards allowed) on `stream` at `url`: from the
/// stream's first message when `from_start`, else only new ones.
pub async fn tail(
    url: &str,
    stream: &str,
    subject: &str,
    from_start: bool,
) -> Result<Tail, NatsError> {
    let context = jetstream::new(connect(url).await?);
    let events = context.get_stream(stream).await.map_err(|e| {
        NatsError::new(
            format!("finding the stream {stream} (a server started with --nats-url creates it)"),
            e,
        )
    })?;
    let consumer = events
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: if from_start {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .map_err(|e| NatsError::new(format!("watching {subject} on {stream}"), e))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|e| NatsError::new(format!("watching {subject} on {stream}"), e))?;
    Ok(messages
        .map(|m| match m {
            Ok(message) => Ok(message.payload.to_vec()),
            Err(e) => Err(NatsError::new("reading the stream", e)),
        })
        .boxed())
}
