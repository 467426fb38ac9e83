//! Rate-limit buckets in Redis, shared by every `serve` process: GCRA in one
//! Lua script, so a request's address and user buckets are checked and drawn
//! from in one round trip, atomically, on Redis's own clock (processes on
//! different machines need not agree on the time).
//!
//! Redis failing must not fail requests: a call that errs or takes longer
//! than [`CALL_TIMEOUT`] answers `None` and the caller uses this process's own
//! buckets. After a failure Redis is left alone for [`RETRY_AFTER_FAILURE`],
//! then one request tries it again; the switch each way is logged once.

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::rate::{Bucket, Budget, Rate, Refused, retry_after_secs};

/// Longest a request waits for Redis before deciding without it.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a failed Redis is left alone before it is tried again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// For each key in order: its bucket is the theoretical arrival time (TAT)
/// in microseconds of Redis time. A request fits when, after adding one
/// interval, the TAT is at most `burst` intervals ahead of now. A refusal
/// returns at once, so an earlier bucket stays drawn and later ones are not
/// touched (as the in-process limiter does). A key expires when its bucket is
/// full again, so idle clients cost nothing.
///
/// ARGV holds (interval µs, burst) per key. Returns {1, burst, remaining} of
/// the last key, or {0, index, burst, wait µs} of the refusing one.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local result = {1, 0, 0}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local next_tat = tat + interval
  local ahead = next_tat - now
  local over = ahead - interval * burst
  if over > 0 then
    return {0, i, burst, over}
  end
  redis.call('SET', key, string.format('%.0f', next_tat), 'PX', string.format('%.0f', math.ceil(ahead / 1000)))
  result = {1, burst, math.floor((interval * burst - ahead) / interval)}
end
return result
";

/// The shared buckets of one deployment (all keys under its prefix).
pub struct RedisRates {
    connection: ConnectionManager,
    prefix: String,
    script: Script,
    health: Health,
}

impl RedisRates {
    /// Parses the URL and prepares a connection that is made on first use,
    /// so a server starts (with its own buckets) while Redis is down.
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<RedisRates> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(0);
        Ok(RedisRates {
            connection: ConnectionManager::new_lazy_with_config(client, config)?,
            prefix: prefix.to_owned(),
            script: Script::new(GCRA),
            health: Health::new(),
        })
    }

    fn key(&self, bucket: Bucket) -> String {
        match bucket {
            Bucket::Address(ip) => format!("{}ratelimit:ip:{ip}", self.prefix),
            Bucket::Account(id) => format!("{}ratelimit:user:{id}", self.prefix),
        }
    }

    /// The decision for `buckets`, or `None` when Redis cannot give one now.
    pub async fn check(&self, buckets: &[(Bucket, Rate)]) -> Option<Result<Budget, Refused>> {
        if !self.health.may_try() {
            return None;
        }
        let mut invocation = self.script.prepare_invoke();
        for (bucket, rate) in buckets {
            let interval = u64::try_from(rate.interval().as_micros()).unwrap_or(u64::MAX);
            invocation
                .key(self.key(*bucket))
                .arg(interval.max(1))
                .arg(rate.burst.get());
        }
        let mut connection = self.connection.clone();
        let reply = tokio::time::timeout(
            CALL_TIMEOUT,
            invocation.invoke_async::<Vec<i64>>(&mut connection),
        )
        .await;
        let reply = match reply {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                self.health.failed(&e.to_string());
                return None;
            }
            Err(_) => {
                self.health.failed("no answer in time");
                return None;
            }
        };
        match decode(&reply, buckets) {
            Some(decision) => {
                self.health.succeeded();
                Some(decision)
            }
            None => {
                self.health.failed(&format!("unexpected reply {reply:?}"));
                None
            }
        }
    }
}

/// Reads the script's reply; `None` for anything it cannot have sent.
fn decode(reply: &[i64], buckets: &[(Bucket, Rate)]) -> Option<Result<Budget, Refused>> {
    let as_u32 = |v: i64| u32::try_from(v).ok();
    match *reply {
        [1, burst, remaining] => Some(Ok(Budget {
            limit: as_u32(burst)?,
            remaining: as_u32(remaining)?,
        })),
        [0, index, burst, wait_us] => {
            let (bucket, _) = buckets.get(usize::try_from(index).ok()?.checked_sub(1)?)?;
            Some(Err(Refused {
                bucket: *bucket,
                limit: as_u32(burst)?,
                retry_after: retry_after_secs(Duration::from_micros(u64::try_from(wait_us).ok()?)),
            }))
        }
        _ => None,
    }
}

/// Whether Redis is used, and one log line per change of mind.
struct Health {
    start: Instant,
    /// Milliseconds after `start` before which Redis is not tried; 0 while it answers.
    down_until: AtomicU64,
}

impl Health {
    fn new() -> Health {
        Health {
            start: Instant::now(),
            down_until: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn retry_at(&self) -> u64 {
        let pause = u64::try_from(RETRY_AFTER_FAILURE.as_millis()).unwrap_or(u64::MAX);
        self.now_ms().saturating_add(pause).max(1)
    }

    /// True while Redis answers, and for one caller once a pause is over (the
    /// others keep deciding locally until that one's try is done).
    fn may_try(&self) -> bool {
        let until = self.down_until.load(Ordering::Acquire);
        until == 0
            || (self.now_ms() >= until
                && self
                    .down_until
                    .compare_exchange(until, self.retry_at(), Ordering::AcqRel, Ordering::Acquire)
                    .is_ok())
    }

    fn succeeded(&self) {
        if self.down_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("Redis answers again: rate limits are shared across processes again");
        }
    }

    fn failed(&self, why: &str) {
        if self.down_until.swap(self.retry_at(), Ordering::AcqRel) == 0 {
            tracing::warn!(
                error = why,
                "Redis does not answer: rate limits fall back to this process's own until it does"
            );
        } else {
            tracing::debug!(error = why, "Redis still does not answer");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn buckets() -> Vec<(Bucket, Rate)> {
        let rate = Rate::with_double_burst(NonZeroU32::new(5).unwrap());
        vec![
            (Bucket::Address("192.0.2.1".parse().unwrap()), rate),
            (Bucket::Account(7), rate),
        ]
    }

    #[test]
    fn replies_decode_and_nonsense_does_not() {
        let b = buckets();
        assert_eq!(
            decode(&[1, 10, 9], &b),
            Some(Ok(Budget {
                limit: 10,
                remaining: 9
            }))
        );
        let refused = decode(&[0, 2, 10, 200_001], &b).unwrap().unwrap_err();
        assert_eq!(refused.bucket, Bucket::Account(7));
        assert_eq!((refused.limit, refused.retry_after), (10, 1));
        for nonsense in [
            &[][..],
            &[1, -1, 0],
            &[0, 3, 10, 5],
            &[0, 0, 10, 5],
            &[2, 1, 1],
        ] {
            assert_eq!(decode(nonsense, &b), None, "{nonsense:?}");
        }
    }

    #[test]
    fn after_a_failure_redis_is_left_alone_then_one_caller_tries_again() {
        let health = Health::new();
        assert!(health.may_try());
        health.failed("test");
        assert!(!health.may_try(), "paused after a failure");
        // Pretend the pause is over.
        health.down_until.store(1, Ordering::Release);
        std::thread::sleep(Duration::from_millis(2));
        assert!(health.may_try(), "one caller tries");
        assert!(!health.may_try(), "the others wait for its answer");
        health.succeeded();
        assert!(health.may_try() && health.may_try());
    }
}
