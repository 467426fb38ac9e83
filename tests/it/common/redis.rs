//! Redis for tests: the shared server (`127.0.0.1:6379`, or
//! `TICKETCTL_TEST_REDIS_URL`) under a key prefix of the test's own, whose keys
//! are deleted when the test ends; or a `redis-server` child of the test's
//! own on a random port, to stop and start in the middle of a test.
//!
//! Without Redis the tests skip, visibly and counted, as for Postgres
//! (`services`); with `CI=true` or `CI=1` they must run.

use rand::RngCore;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services::{self, Service};

const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";

/// A key prefix of one test on the shared Redis; its keys go with it.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

fn url() -> String {
    std::env::var("TICKETCTL_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// The shared Redis under a fresh prefix, or `None` (skipped) when it does not answer.
pub async fn redis() -> Option<TestRedis> {
    let url = url();
    if let Err(e) = ping(&url).await {
        services::skip(Service::Redis, &format!("not reachable at {url}: {e}"));
        return None;
    }
    services::ran(Service::Redis);
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    Some(TestRedis {
        url,
        prefix: format!("ticketctl_test_{}:", hex::encode(suffix)),
    })
}

async fn ping(url: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    redis::cmd("PING").query_async::<String>(&mut conn).await?;
    Ok(())
}

/// Keys under `prefix` on the Redis at `url`, sorted.
pub async fn keys(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    keys.sort();
    keys
}

impl TestRedis {
    pub async fn keys(&self) -> Vec<String> {
        keys(&self.url, &self.prefix).await
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        // Drop cannot await: a blocking connection of its own.
        let pattern = format!("{}*", self.prefix);
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// A `redis-server` of the test's own, without persistence, killed on drop.
pub struct RedisChild {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
}

impl RedisChild {
    /// Starts one on a free port; `None` (skipped) when `redis-server` is not installed.
    pub async fn start() -> Option<RedisChild> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = RedisChild {
            child: None,
            port,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        if let Err(e) = redis.spawn().await {
            services::skip(Service::Redis, &format!("cannot run redis-server: {e}"));
            return None;
        }
        services::ran(Service::Redis);
        Some(redis)
    }

    async fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while ping(&self.url).await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// SIGKILL: Redis is gone at once, mid-run.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new, empty `redis-server` on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await.expect("restart redis-server");
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        self.kill();
    }
}
