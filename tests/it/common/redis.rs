//! Redis for tests: the shared server (127.0.0.1:6379, or `TICKETCTL_TEST_REDIS_URL`) with a
//! key prefix of the test's own, whose keys are deleted when the test ends;
//! or a `redis-server` child process of the test's own, to stop and start.
//!
//! Without Redis the Redis tests skip, visibly and counted (see `services`);
//! with `CI=true` or `CI=1` they must run, and fail if they cannot.

use rand::RngCore;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::services::{self, Service};

const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";

fn url() -> String {
    std::env::var("TICKETCTL_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

fn answers(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query::<String>(&mut conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The shared Redis with a fresh key prefix; its keys go when this is dropped.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

/// The shared Redis, or None (the test skips) when it does not answer.
pub fn shared() -> Option<TestRedis> {
    let url = url();
    if let Err(e) = answers(&url) {
        services::skip(Service::Redis, &format!("not reachable at {url}: {e}"));
        return None;
    }
    services::ran(Service::Redis);
    let mut suffix = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut suffix);
    Some(TestRedis {
        url,
        prefix: format!("ticketctl-test-{}:", hex::encode(suffix)),
    })
}

impl TestRedis {
    /// `config` with its waiting room in this Redis, under this test's prefix.
    pub fn room(&self, config: ticketctl::app::AppConfig) -> ticketctl::app::AppConfig {
        ticketctl::app::AppConfig {
            redis_url: Some(self.url.clone()),
            redis_prefix: self.prefix.clone(),
            ..config
        }
    }

    /// The keys this test has written so far, sorted.
    pub fn keys(&self) -> Vec<String> {
        keys(&self.url, &self.prefix)
    }
}

/// Keys under `prefix` on the Redis at `url`, sorted (empty if it does not answer).
pub fn keys(url: &str, prefix: &str) -> Vec<String> {
    let Ok(mut conn) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
        return vec![];
    };
    let pattern = format!("{prefix}*");
    let found: redis::RedisResult<redis::Iter<String>> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(&pattern)
        .arg("COUNT")
        .arg(1000)
        .clone()
        .iter(&mut conn);
    let mut keys: Vec<String> = found
        .map(|keys| keys.filter_map(Result::ok).collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        if let Ok(mut conn) =
            redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

/// A `redis-server` of the test's own on a free port, without persistence:
/// stopping it loses its data, as a crashed Redis without disks would.
pub struct OwnRedis {
    child: Option<Child>,
    pub port: u16,
}

impl OwnRedis {
    /// Starts one, or None (the test skips) when `redis-server` is not installed.
    pub fn start() -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut own = OwnRedis { child: None, port };
        if let Err(e) = own.spawn() {
            services::skip(Service::Redis, &format!("cannot start redis-server: {e}"));
            return None;
        }
        services::ran(Service::Redis);
        Some(own)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = answers(&self.url()) {
            if Instant::now() > deadline {
                return Err(format!("it did not answer on port {}: {e}", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGKILL: Redis is gone at once, with its data.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn().expect("redis-server starts again on its port");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where a test's waiting room is kept.
pub enum TestRoom {
    Memory,
    Redis(TestRedis),
}

impl TestRoom {
    pub fn memory() -> Option<TestRoom> {
        Some(TestRoom::Memory)
    }

    /// The shared Redis under a prefix of the test's own (None: skipped).
    pub fn redis() -> Option<TestRoom> {
        shared().map(TestRoom::Redis)
    }

    /// `config` with its waiting room kept here.
    pub fn apply(&self, config: ticketctl::app::AppConfig) -> ticketctl::app::AppConfig {
        match self {
            TestRoom::Memory => ticketctl::app::AppConfig {
                redis_url: None,
                ..config
            },
            TestRoom::Redis(r) => r.room(config),
        }
    }
}
