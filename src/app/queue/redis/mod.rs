//! The waiting room in Redis, shared by every `serve` process of a deployment
//! and kept across their restarts. Each operation is one Lua script (one
//! round trip, run atomically by Redis) over a handful of keys per sale:
//! sorted sets and hashes, so every step is O(log n) in the queue's length.
//! See `lua/room.lua` for the layout.
//!
//! Time comes from the app's clock, passed in, never from Redis: tests run on
//! a manual clock and every process judges idle times alike. The settings go
//! with every call, so a Redis that lost its data starts the sale's room
//! afresh rather than failing; the live pause, rate and cap are the room's own
//! (written by `configure`).

mod link;
mod reply;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::{AsyncCommands, Script};
use std::collections::HashMap;

use super::room::{Census, WaitingRoom};
use crate::app::{AppError, AppResult};
use crate::domain::UserId;
use crate::domain::waiting_room::{PACE_WINDOW_SECS, Place, QueuedSale, Refusal, TOKEN_MAX_LIFE};
use link::RedisLink;
use reply::{bad_reply, parse_place, strings, text};

const PRELUDE: &str = include_str!("lua/room.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

struct Scripts {
    join: Script,
    status: Script,
    leave: Script,
    touch: Script,
    check_out: Script,
    configure: Script,
}

pub struct RedisRoom {
    link: RedisLink,
    prefix: String,
    scripts: Scripts,
}

/// The parts of one sale's state (see `lua/room.lua`).
const PARTS: [&str; 6] = ["meta", "queue", "active", "admits", "spent", "recent"];

impl RedisRoom {
    /// A room at `url` whose keys all start with `prefix`. No connection is
    /// made yet: `serve` starts while Redis is down, and queued sales refuse
    /// (503) until it answers.
    pub fn connect(url: &str, prefix: &str) -> AppResult<RedisRoom> {
        Ok(RedisRoom {
            link: RedisLink::open(url)?,
            prefix: prefix.to_owned(),
            scripts: Scripts {
                join: script(include_str!("lua/join.lua")),
                status: script(include_str!("lua/status.lua")),
                leave: script(include_str!("lua/leave.lua")),
                touch: script(include_str!("lua/touch.lua")),
                check_out: script(include_str!("lua/check_out.lua")),
                configure: script(include_str!("lua/configure.lua")),
            },
        })
    }

    fn keys(&self, sale: &QueuedSale) -> Vec<String> {
        PARTS
            .iter()
            .map(|part| format!("{}room:{}:{part}", self.prefix, sale.settings.id))
            .collect()
    }

    /// Runs `script` for `user` with the operation's own argument `arg`.
    async fn run(
        &self,
        script: &Script,
        sale: &QueuedSale,
        user: Option<UserId>,
        arg: &str,
        now: DateTime<Utc>,
    ) -> AppResult<redis::Value> {
        let s = &sale.settings;
        let mut call = script.prepare_invoke();
        for key in self.keys(sale) {
            call.key(key);
        }
        call.arg(now.timestamp_millis())
            .arg(s.opens_at.timestamp_millis())
            .arg(s.rate_per_sec.to_string())
            .arg(s.max_active)
            .arg(s.idle_secs.saturating_mul(1000))
            .arg(u8::from(sale.paused))
            // Used only when the room starts afresh: its admissions' ids differ
            // from any earlier state's.
            .arg(format!("{:016x}", rand::random::<u64>()))
            .arg(TOKEN_MAX_LIFE.num_milliseconds())
            .arg(PACE_WINDOW_SECS * 1000)
            .arg(user.map(|u| u.get().to_string()).unwrap_or_default())
            .arg(arg);
        let call = &call;
        self.link
            .call(move |mut conn| async move { call.invoke_async(&mut conn).await })
            .await
    }

    async fn place(
        &self,
        script: &Script,
        sale: &QueuedSale,
        user: UserId,
        arg: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Place>> {
        let reply: Vec<String> = strings(self.run(script, sale, Some(user), arg, now).await?)?;
        parse_place(&reply, sale, now)
    }
}

#[async_trait]
impl WaitingRoom for RedisRoom {
    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn reset(&self, sale: &QueuedSale) -> AppResult<()> {
        let keys = &self.keys(sale);
        self.link
            .call(move |mut conn| async move { conn.del::<_, ()>(keys).await })
            .await
    }

    async fn configure(&self, sale: &QueuedSale, now: DateTime<Utc>) -> AppResult<()> {
        self.run(&self.scripts.configure, sale, None, "", now)
            .await?;
        Ok(())
    }

    async fn join(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<Place> {
        // The lottery draw, used only if the room has not opened yet.
        let draw = rand::random::<u64>() >> 12;
        self.place(&self.scripts.join, sale, user, &draw.to_string(), now)
            .await?
            .ok_or_else(|| AppError::Internal("a user who just joined has no place".into()))
    }

    async fn status(
        &self,
        sale: &QueuedSale,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Place>> {
        self.place(&self.scripts.status, sale, user, "", now).await
    }

    async fn leave(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<()> {
        self.run(&self.scripts.leave, sale, Some(user), "", now)
            .await?;
        Ok(())
    }

    async fn touch(
        &self,
        sale: &QueuedSale,
        user: UserId,
        jti: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Result<(), Refusal>> {
        let verdict = text(
            self.run(&self.scripts.touch, sale, Some(user), jti, now)
                .await?,
        )?;
        match verdict.as_str() {
            "ok" => Ok(Ok(())),
            "replay" => Ok(Err(Refusal::Replay)),
            "expired" => Ok(Err(Refusal::Expired)),
            other => Err(bad_reply(&[other.to_owned()])),
        }
    }

    async fn check_out(
        &self,
        sale: &QueuedSale,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        self.run(&self.scripts.check_out, sale, Some(user), "", now)
            .await?;
        Ok(())
    }

    async fn admission_order(&self, sale: &QueuedSale) -> AppResult<Vec<UserId>> {
        let admits = &self.keys(sale)[3];
        let all: HashMap<String, String> = self
            .link
            .call(move |mut conn| async move { conn.hgetall(admits).await })
            .await?;
        let mut order = Vec::with_capacity(all.len());
        for (user, admission) in &all {
            let seq: u64 = admission
                .split(':')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad_reply(std::slice::from_ref(admission)))?;
            let user: i64 = user
                .parse()
                .map_err(|_| bad_reply(std::slice::from_ref(user)))?;
            order.push((seq, UserId(user)));
        }
        order.sort();
        Ok(order.into_iter().map(|(_, u)| u).collect())
    }

    async fn census(&self, sale: &QueuedSale) -> AppResult<Census> {
        let keys = &self.keys(sale);
        let (admissions, waiting, admitted): (Option<u64>, u64, u64) = self
            .link
            .call(move |mut conn| async move {
                redis::pipe()
                    .hget(&keys[0], "admissions")
                    .zcard(&keys[1])
                    .hlen(&keys[3])
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(Census {
            waiting,
            admitted,
            admissions: admissions.unwrap_or(0),
        })
    }
}
