//! The connection to Redis, built from `--redis-url`: one multiplexed
//! connection that reconnects by itself, with short timeouts, so that when
//! Redis is down a request is refused within a couple of seconds (503 with
//! Retry-After) instead of hanging, and the room works again as soon as Redis
//! answers again.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, ServerErrorKind};
use std::future::Future;
use std::time::Duration;

use crate::app::{AppError, AppResult};
use crate::domain::ParseError;

/// The longest a request waits for Redis before it is refused.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// When a refused client should try again.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Clone)]
pub(super) struct RedisLink {
    conn: ConnectionManager,
}

impl RedisLink {
    /// Prepares the connection without opening it: `serve` starts even while
    /// Redis is down (queued sales refuse until it is back).
    pub(super) fn open(url: &str) -> AppResult<RedisLink> {
        let client = redis::Client::open(url).map_err(|e| {
            AppError::Invalid(ParseError::new(
                "redis_url",
                format!("not a Redis URL (redis://host:port/db): {}", kind_name(&e)),
            ))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(CALL_TIMEOUT))
            // One quick retry per attempt; the next request tries again anyway.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| AppError::Internal(format!("Redis connection: {e}")))?;
        Ok(RedisLink { conn })
    }

    /// Makes one call to Redis, mapping failures to what the client is told.
    /// A call that finds the connection broken is made once more: the broken
    /// connection is replaced meanwhile, so the first request after Redis
    /// comes back succeeds. (Every operation of the room may run twice.)
    pub(super) async fn call<T, F, Fut>(&self, call: F) -> AppResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        match tokio::time::timeout(CALL_TIMEOUT, call(self.conn.clone())).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if !(e.is_io_error() || e.is_connection_dropped()) => {
                return Err(refusal(e));
            }
            Ok(Err(_)) => {}
            Err(_) => return Err(unavailable("Redis did not answer in time")),
        }
        match tokio::time::timeout(CALL_TIMEOUT, call(self.conn.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(refusal(e)),
            Err(_) => Err(unavailable("Redis did not answer in time")),
        }
    }
}

/// The error without its text, which may quote the URL and its password.
fn kind_name(e: &RedisError) -> String {
    format!("{:?}", e.kind())
}

fn unavailable(why: &str) -> AppError {
    tracing::warn!(
        why,
        "the shared waiting room is unavailable: queued sales are refused"
    );
    AppError::Unavailable {
        detail: "the waiting room cannot be reached just now; nothing was sold or changed, try again shortly".into(),
        retry_after_secs: RETRY_AFTER_SECS,
    }
}

/// A mistake of ours (a script or a reply that does not parse) is a 500; any
/// other failure means Redis cannot serve now, and the request is refused
/// with 503: a queued sale fails closed.
fn refusal(e: RedisError) -> AppError {
    match e.kind() {
        ErrorKind::Server(ServerErrorKind::ResponseError)
        | ErrorKind::Parse
        | ErrorKind::UnexpectedReturnType => {
            AppError::Internal(format!("waiting room script: {e}"))
        }
        _ => unavailable(&e.to_string()),
    }
}
