//! Sliding-window counters for the velocity rules, behind one trait: in this
//! process's memory, or in Redis shared by every `serve` process (chosen as
//! the waiting room is: `--redis-url`). Step-up codes and passes are kept
//! here too, with their time to live.
//!
//! Every operation is atomic: in memory under one lock, in Redis one Lua
//! script (one round trip). "Add and count" is one step, so N acts arriving
//! together are counted 1..N and exactly `limit` of them pass a rule.
//! Time is the app's clock, passed in (tests run on manual clocks; processes
//! sharing Redis must roughly agree on the time, as they do for the room).

use async_trait::async_trait;
use parking_lot::Mutex;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::app::{AppError, AppResult};
use crate::domain::ParseError;
use crate::domain::risk::SlidingWindow;

#[async_trait]
pub trait RiskCounters: Send + Sync {
    /// "memory" or "redis".
    fn kind(&self) -> &'static str;
    /// Records `member` (`None`: a new act of its own) in the window of `key`
    /// ending at `now_ms`, and answers how many the window holds after `since_ms`.
    async fn hit(&self, key: &str, member: Option<&str>, span: Span) -> u64;
    /// How many the window of `key` holds after `since_ms`, adding nothing.
    async fn count(&self, key: &str, span: Span) -> u64;
    /// Forgets every counter and pass whose key starts with `prefix`.
    async fn forget(&self, prefix: &str) -> AppResult<()>;
    /// Keeps `value` under `key` until `now_ms + ttl_ms`.
    async fn put(&self, key: &str, value: &str, ttl_ms: i64, now_ms: i64) -> AppResult<()>;
    /// Deletes the live value under `key` if it is `expected`, atomically;
    /// answers whether it did (so a value is taken once at most).
    async fn take_if(&self, key: &str, expected: &str, now_ms: i64) -> AppResult<bool>;
    /// Whether a live value is under `key`.
    async fn has(&self, key: &str, now_ms: i64) -> bool;
}

/// Where a count is taken: the window (ms) ending at `now_ms`, counting only
/// what came after `since_ms` (the subject's last clearing; `i64::MIN`: none).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub window_ms: i64,
    pub now_ms: i64,
    pub since_ms: i64,
}

/// The counters of one process.
#[derive(Default)]
pub struct MemoryCounters {
    windows: Mutex<HashMap<String, SlidingWindow>>,
    values: Mutex<HashMap<String, (String, i64)>>,
    next: AtomicU64,
}

/// Windows kept at most before idle (empty) ones are dropped.
const SWEEP_AT: usize = 100_000;

#[async_trait]
impl RiskCounters for MemoryCounters {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn hit(&self, key: &str, member: Option<&str>, span: Span) -> u64 {
        let Span {
            window_ms,
            now_ms,
            since_ms,
        } = span;
        let member = match member {
            Some(m) => m.to_owned(),
            None => format!("#{}", self.next.fetch_add(1, Ordering::Relaxed)),
        };
        let mut windows = self.windows.lock();
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| {
                w.trim(now_ms, 7 * 86_400_000);
                !w.is_empty()
            });
        }
        windows
            .entry(key.to_owned())
            .or_default()
            .hit(member, now_ms, window_ms, since_ms)
    }

    async fn count(&self, key: &str, span: Span) -> u64 {
        self.windows
            .lock()
            .get_mut(key)
            .map_or(0, |w| w.count(span.now_ms, span.window_ms, span.since_ms))
    }

    async fn forget(&self, prefix: &str) -> AppResult<()> {
        self.windows.lock().retain(|k, _| !k.starts_with(prefix));
        self.values.lock().retain(|k, _| !k.starts_with(prefix));
        Ok(())
    }

    async fn put(&self, key: &str, value: &str, ttl_ms: i64, now_ms: i64) -> AppResult<()> {
        let mut values = self.values.lock();
        if values.len() >= SWEEP_AT {
            values.retain(|_, (_, until)| *until > now_ms);
        }
        values.insert(key.to_owned(), (value.to_owned(), now_ms + ttl_ms));
        Ok(())
    }

    async fn take_if(&self, key: &str, expected: &str, now_ms: i64) -> AppResult<bool> {
        let mut values = self.values.lock();
        let live = values
            .get(key)
            .is_some_and(|(v, until)| *until > now_ms && v == expected);
        if live {
            values.remove(key);
        }
        Ok(live)
    }

    async fn has(&self, key: &str, now_ms: i64) -> bool {
        self.values
            .lock()
            .get(key)
            .is_some_and(|(_, until)| *until > now_ms)
    }
}

/// Trims the window (scores are milliseconds), adds the member and answers the
/// count after `since`, in one step. ARGV: now, window, member ('' = a new
/// act: a member of its own from a per-key sequence), since.
const HIT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local member = ARGV[3]
if member == '' then
  member = '#' .. redis.call('INCR', KEYS[1] .. ':seq')
  redis.call('PEXPIRE', KEYS[1] .. ':seq', window)
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[4], '+inf')
";

const COUNT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[3], '+inf')
";

/// Deletes every key under a prefix (a subject's few counters), by SCAN.
const FORGET: &str = r"
local cursor = '0'
local n = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 500)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    redis.call('DEL', key)
    n = n + 1
  end
until cursor == '0'
return n
";

/// Values carry their expiry in the value too, so an app clock ahead of
/// Redis's (a manual clock in tests) is obeyed: ARGV now.
const TAKE_IF: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local sep = string.find(v, '|', 1, true)
if not sep or tonumber(string.sub(v, 1, sep - 1)) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 0
end
if string.sub(v, sep + 1) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// Longest a request waits for Redis before counting in this process instead.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// The counters of every process, in Redis under the deployment's prefix.
/// When Redis fails, the process counts in its own memory meanwhile (logged
/// once each way): velocity checks weaken to per-process, requests are not
/// refused for it.
pub struct RedisCounters {
    connection: ConnectionManager,
    prefix: String,
    hit: Script,
    count: Script,
    forget: Script,
    take: Script,
    fallback: MemoryCounters,
    down: AtomicBool,
}

impl RedisCounters {
    pub fn connect(url: &str, prefix: &str) -> AppResult<RedisCounters> {
        let client = redis::Client::open(url).map_err(|e| {
            AppError::Invalid(ParseError::new(
                "redis_url",
                format!("not a Redis URL (redis://host:port/db): {:?}", e.kind()),
            ))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| AppError::Internal(format!("Redis connection: {e}")))?;
        Ok(RedisCounters {
            connection,
            prefix: format!("{prefix}risk:"),
            hit: Script::new(HIT),
            count: Script::new(COUNT),
            forget: Script::new(FORGET),
            take: Script::new(TAKE_IF),
            fallback: MemoryCounters::default(),
            down: AtomicBool::new(false),
        })
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut connection = self.connection.clone();
        let result =
            match tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async::<T>(&mut connection))
                .await
            {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer in time".to_owned()),
            };
        match &result {
            Ok(_) => {
                if self.down.swap(false, Ordering::AcqRel) {
                    tracing::info!("Redis answers again: risk counters are shared again");
                }
            }
            Err(why) => {
                if !self.down.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        error = %why,
                        "Redis does not answer: risk counters fall back to this process's own"
                    );
                }
            }
        }
        result
    }
}

#[async_trait]
impl RiskCounters for RedisCounters {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn hit(&self, key: &str, member: Option<&str>, span: Span) -> u64 {
        let mut inv = self.hit.prepare_invoke();
        inv.key(format!("{}{key}", self.prefix))
            .arg(span.now_ms)
            .arg(span.window_ms)
            .arg(member.unwrap_or(""))
            .arg(since_arg(span));
        match self.run::<u64>(inv).await {
            Ok(n) => n,
            Err(_) => self.fallback.hit(key, member, span).await,
        }
    }

    async fn count(&self, key: &str, span: Span) -> u64 {
        let mut inv = self.count.prepare_invoke();
        inv.key(format!("{}{key}", self.prefix))
            .arg(span.now_ms)
            .arg(span.window_ms)
            .arg(since_arg(span));
        match self.run::<u64>(inv).await {
            Ok(n) => n,
            Err(_) => self.fallback.count(key, span).await,
        }
    }

    async fn forget(&self, prefix: &str) -> AppResult<()> {
        self.fallback.forget(prefix).await?;
        let pattern = format!("{}{}*", self.prefix, glob_escape(prefix));
        let mut inv = self.forget.prepare_invoke();
        inv.arg(pattern);
        self.run::<u64>(inv)
            .await
            .map(|_| ())
            .map_err(|why| AppError::Unavailable {
                detail: format!("the risk counters in Redis cannot be reset now: {why}"),
                retry_after_secs: 1,
            })
    }

    async fn put(&self, key: &str, value: &str, ttl_ms: i64, now_ms: i64) -> AppResult<()> {
        let mut connection = self.connection.clone();
        let stored = format!("{}|{value}", now_ms + ttl_ms);
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{key}", self.prefix))
            .arg(stored)
            .arg("PX")
            .arg(ttl_ms.max(1));
        let set = cmd.exec_async(&mut connection);
        match tokio::time::timeout(CALL_TIMEOUT, set).await {
            Ok(Ok(())) => Ok(()),
            _ => self.fallback.put(key, value, ttl_ms, now_ms).await,
        }
    }

    async fn take_if(&self, key: &str, expected: &str, now_ms: i64) -> AppResult<bool> {
        let mut inv = self.take.prepare_invoke();
        inv.key(format!("{}{key}", self.prefix))
            .arg(now_ms)
            .arg(expected);
        match self.run::<i64>(inv).await {
            Ok(1) => Ok(true),
            Ok(_) => self.fallback.take_if(key, expected, now_ms).await,
            Err(_) => self.fallback.take_if(key, expected, now_ms).await,
        }
    }

    async fn has(&self, key: &str, now_ms: i64) -> bool {
        let mut connection = self.connection.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(format!("{}{key}", self.prefix));
        let get = cmd.query_async::<Option<String>>(&mut connection);
        match tokio::time::timeout(CALL_TIMEOUT, get).await {
            Ok(Ok(Some(v))) => v
                .split_once('|')
                .and_then(|(until, _)| until.parse::<i64>().ok())
                .is_some_and(|until| until > now_ms),
            Ok(Ok(None)) => self.fallback.has(key, now_ms).await,
            _ => self.fallback.has(key, now_ms).await,
        }
    }
}

/// The lower bound of a count (exclusive), never below the window's start.
fn since_arg(span: Span) -> i64 {
    span.since_ms.max(span.now_ms - span.window_ms)
}

/// `s` as a literal inside a SCAN MATCH pattern.
fn glob_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
