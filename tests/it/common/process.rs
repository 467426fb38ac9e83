//! The built `ticketctl serve` as a child process on a random port, for tests
//! where a crash must be a real `kill -9` and a restart a new process; and
//! `ServeFlags`, the flags that put several of them on the same Redis, NATS
//! stream and SMTP sink.

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::server::TEST_JWT_SECRET;

pub struct ServedBinary {
    child: Child,
    pub base: String,
    pub port: u16,
    db_url: String,
    flags: Vec<String>,
}

/// `serve` flags for one of several processes sharing services.
#[derive(Debug, Clone, Default)]
pub struct ServeFlags(Vec<String>);

impl ServeFlags {
    pub fn new() -> ServeFlags {
        ServeFlags::default()
    }

    /// `--name value`.
    pub fn with(mut self, name: &str, value: impl ToString) -> ServeFlags {
        self.0.push(format!("--{name}"));
        self.0.push(value.to_string());
        self
    }

    /// The waiting room and rate limits in this Redis, under the test's prefix.
    pub fn redis(self, redis: &super::redis::TestRedis) -> ServeFlags {
        self.with("redis-url", &redis.url)
            .with("redis-prefix", &redis.prefix)
    }

    /// Events relayed to the test's stream and subjects.
    pub fn nats(self, stream: &super::nats::TestStream) -> ServeFlags {
        self.with("nats-url", &stream.url)
            .with("nats-stream", &stream.name)
            .with("nats-subject-prefix", &stream.prefix)
    }

    /// Passenger e-mail through the sink.
    pub fn smtp(self, sink: &super::smtp::SmtpSink) -> ServeFlags {
        self.with("smtp-url", sink.url())
    }

    /// Requests per second per address and per user (0: no limit).
    pub fn rates(self, per_ip: u32, per_user: u32) -> ServeFlags {
        self.with("rate-per-ip", per_ip)
            .with("rate-per-user", per_user)
    }

    pub fn args(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }
}

impl ServedBinary {
    /// Starts `ticketctl serve` on `db_url` with `flags` and waits until it is
    /// ready. Its log goes to `ticketctl-served-binary.log` in the temp dir.
    pub async fn start(db_url: &str, flags: &[&str]) -> ServedBinary {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port, db_url, flags).await
    }

    /// As `start`, on `port` (a restarted server where its clients expect it).
    pub async fn start_on(port: u16, db_url: &str, flags: &[&str]) -> ServedBinary {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let child = Self::spawn(port, db_url, &flags);
        let served = ServedBinary {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            db_url: db_url.to_owned(),
            flags,
        };
        served.ready().await;
        served
    }

    /// SIGKILL, then the same command on the same port, ready again.
    pub async fn kill_9_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.child = Self::spawn(self.port, &self.db_url, &self.flags);
        self.ready().await;
    }

    fn spawn(port: u16, db_url: &str, flags: &[String]) -> Child {
        // The embedded gateway's ledger in the database's fixed place, so a
        // restarted server, and a checker on the database, find its charges.
        let own_gateway = flags
            .iter()
            .any(|f| f == "--gateway-url" || f == "--gateway-ledger");
        let ledger = super::gateway::ledger_path(db_url);
        let ledger_flags: Vec<&std::ffi::OsStr> = if own_gateway {
            vec![]
        } else {
            vec!["--gateway-ledger".as_ref(), ledger.as_os_str()]
        };
        Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(flags)
            .args(ledger_flags)
            .env("DATABASE_URL", db_url)
            .env("TICKETCTL_JWT_SECRET", TEST_JWT_SECRET)
            .env("TICKETCTL_LOG", "warn")
            // A test that wants Redis says so with --redis-url and a prefix of
            // its own; an inherited REDIS_URL would share the default prefix.
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(std::env::temp_dir().join("ticketctl-served-binary.log"))
                    .unwrap(),
            )
            .spawn()
            .expect("start ticketctl serve")
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("{}/readyz", self.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown hooks, no flushing, like a power cut of the process.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the process to finish its shutdown (up to 20 s,
    /// then SIGKILL): the way an operator stops a server.
    pub fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }

    /// Sends `signal` (`TERM`, `STOP`, `CONT`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let done = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(done.success(), "kill -{signal} {}", self.child.id());
    }

    /// Tokenizes card `number` at the server's gateway and registers it for
    /// `token`'s user: (201, the server's answer) as `post` answers.
    pub async fn card(&self, token: &str, number: &str) -> (u16, Value) {
        let client = reqwest::Client::new();
        let body = super::gateway::registered_card(&client, &self.base, token, number).await;
        (201, body)
    }

    /// POSTs `body` as `token` (with an Idempotency-Key if given); status 0 when
    /// the connection failed.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }
}

impl Drop for ServedBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON report of a finished `ticketctl rehearse --json`, after checking
/// that it exited successfully and that its invariants verdict is ok.
pub fn rehearsal_report(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["invariants"]["ok"], true, "{report}");
    report
}
