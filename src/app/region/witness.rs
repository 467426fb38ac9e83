//! The witness (docs/multi-region.md §5.2–§5.3): a small store outside both
//! regions holding each region's lease and which region holds each epoch.
//! Redis here, as the drill runs it; each operation is one Lua script, so
//! it is atomic at the witness.
//!
//! Keys under `<prefix>witness:`: `epoch` (the last epoch handed out),
//! `grants` (hash epoch → region holding it), `numbers` (hash region → its
//! number, for id ranges), `lease:<region>` (present while the lease lives).

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::app::{AppError, AppResult};
use crate::domain::ParseError;

const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// A region joins once: it gets a number and a first epoch. Joining again
/// changes nothing (a region that returns after a takeover gets nothing back).
const JOIN: &str = r#"
local numbers, grants, epoch = KEYS[1], KEYS[2], KEYS[3]
local region, number = ARGV[1], ARGV[2]
local known = redis.call('HGET', numbers, region)
if not known then
  local all = redis.call('HGETALL', numbers)
  for i = 2, #all, 2 do
    if all[i] == number then return redis.error_reply('REFUSED region number ' .. number .. ' is taken by ' .. all[i-1]) end
  end
  redis.call('HSET', numbers, region, number)
  local e = redis.call('INCR', epoch)
  redis.call('HSET', grants, e, region)
end
return redis.call('HGETALL', grants)
"#;

/// Renews the region's lease; returns the epochs it holds.
const RENEW: &str = r#"
local lease, grants = KEYS[1], KEYS[2]
local region, ttl = ARGV[1], ARGV[2]
redis.call('SET', lease, region, 'PX', ttl)
local held = {}
local all = redis.call('HGETALL', grants)
for i = 1, #all, 2 do
  if all[i+1] == region then table.insert(held, all[i]) end
end
return held
"#;

/// Moves every epoch `from` holds to one new epoch of `to`; refused while
/// `from` still holds its lease or when `to` holds none.
const TAKE_OVER: &str = r#"
local from_lease, to_lease, grants, epoch = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local from, to = ARGV[1], ARGV[2]
if redis.call('EXISTS', from_lease) == 1 then
  return redis.error_reply('REFUSED region ' .. from .. ' still holds its lease: it may be alive; a takeover waits for it to expire')
end
if redis.call('EXISTS', to_lease) == 0 then
  return redis.error_reply('REFUSED region ' .. to .. ' holds no lease: start its servers first')
end
local e = redis.call('INCR', epoch)
local all = redis.call('HGETALL', grants)
for i = 1, #all, 2 do
  if all[i+1] == from then redis.call('HDEL', grants, all[i]) end
end
redis.call('HSET', grants, e, to)
return e
"#;

pub struct Witness {
    connection: ConnectionManager,
    prefix: String,
}

/// What the witness knows.
#[derive(Debug, Clone, Default)]
pub struct WitnessView {
    /// Epoch → region holding it.
    pub grants: BTreeMap<i64, String>,
    /// Region → its number.
    pub numbers: BTreeMap<String, i64>,
    /// Regions whose lease is alive.
    pub leased: Vec<String>,
}

impl Witness {
    pub fn connect(url: &str, prefix: &str) -> AppResult<Witness> {
        let client = redis::Client::open(url).map_err(|e| {
            AppError::Invalid(ParseError::new(
                "witness_url",
                format!("not a Redis URL (redis://host:port/db): {:?}", e.kind()),
            ))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| AppError::Internal(format!("witness connection: {e}")))?;
        Ok(Witness {
            connection,
            prefix: format!("{prefix}witness:"),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn call<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> AppResult<T> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(CALL_TIMEOUT, invocation.invoke_async::<T>(&mut connection))
            .await
        {
            Ok(Ok(v)) => Ok(v),
            // Our scripts' refusals; anything else is the witness failing.
            Ok(Err(e)) if e.code() == Some("REFUSED") => Err(AppError::Conflict(
                e.detail().unwrap_or("refused").to_owned(),
            )),
            Ok(Err(e)) => Err(unavailable(e.to_string())),
            Err(_) => Err(unavailable("no answer in time".into())),
        }
    }

    /// Registers `region` with `number` (once); returns every grant.
    pub async fn join(&self, region: &str, number: i64) -> AppResult<BTreeMap<i64, String>> {
        let script = Script::new(JOIN);
        let mut inv = script.key(self.key("numbers"));
        inv.key(self.key("grants"))
            .key(self.key("epoch"))
            .arg(region)
            .arg(number);
        let flat: Vec<String> = self.call(inv).await?;
        Ok(pairs(&flat))
    }

    /// Renews `region`'s lease for `ttl`; returns the epochs it holds.
    pub async fn renew(&self, region: &str, ttl: Duration) -> AppResult<Vec<i64>> {
        let script = Script::new(RENEW);
        let mut inv = script.key(self.key(&format!("lease:{region}")));
        inv.key(self.key("grants"))
            .arg(region)
            .arg(ttl.as_millis() as u64);
        let held: Vec<String> = self.call(inv).await?;
        Ok(held.iter().filter_map(|e| e.parse().ok()).collect())
    }

    /// Hands `from`'s epochs to `to` under one new epoch; returns it.
    pub async fn take_over(&self, from: &str, to: &str) -> AppResult<i64> {
        let script = Script::new(TAKE_OVER);
        let mut inv = script.key(self.key(&format!("lease:{from}")));
        inv.key(self.key(&format!("lease:{to}")))
            .key(self.key("grants"))
            .key(self.key("epoch"))
            .arg(from)
            .arg(to);
        self.call(inv).await
    }

    pub async fn view(&self) -> AppResult<WitnessView> {
        let mut c = self.connection.clone();
        let run = async {
            let grants: Vec<String> = redis::cmd("HGETALL")
                .arg(self.key("grants"))
                .query_async(&mut c)
                .await?;
            let numbers: Vec<String> = redis::cmd("HGETALL")
                .arg(self.key("numbers"))
                .query_async(&mut c)
                .await?;
            let mut leased = Vec::new();
            for region in numbers.chunks(2).filter_map(|p| p.first()) {
                let alive: bool = redis::cmd("EXISTS")
                    .arg(self.key(&format!("lease:{region}")))
                    .query_async(&mut c)
                    .await?;
                if alive {
                    leased.push(region.clone());
                }
            }
            Ok::<_, redis::RedisError>((grants, numbers, leased))
        };
        let (grants, numbers, leased) = tokio::time::timeout(CALL_TIMEOUT, run)
            .await
            .map_err(|_| unavailable("no answer in time".into()))?
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(WitnessView {
            grants: pairs(&grants),
            numbers: numbers
                .chunks(2)
                .filter_map(|p| Some((p.first()?.clone(), p.get(1)?.parse().ok()?)))
                .collect(),
            leased,
        })
    }
}

/// A flat `HGETALL` of epoch → region.
fn pairs(flat: &[String]) -> BTreeMap<i64, String> {
    flat.chunks(2)
        .filter_map(|p| Some((p.first()?.parse().ok()?, p.get(1)?.clone())))
        .collect()
}

fn unavailable(why: String) -> AppError {
    tracing::warn!(error = %why, "the witness does not answer");
    AppError::Unavailable {
        detail: "the region witness cannot be reached; try again".into(),
        retry_after_secs: 2,
    }
}
