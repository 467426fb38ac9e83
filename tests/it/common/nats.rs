//! NATS for the event-relay tests: a stream name and subject prefix of each
//! test's own on the NATS server at 127.0.0.1:4222 (`TICKETCTL_TEST_NATS_URL`
//! overrides), deleted when the test ends; reading a stream back message by
//! message; and a private `nats-server` child for outage tests.
//!
//! Without NATS these tests skip visibly and are counted (see `services`);
//! with `CI=true` or `CI=1` they must run.

use rand::RngCore;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use ticketctl::adapters::nats::{JetStreamPublisher, NatsSettings};

use super::services::{self, Service};

const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

pub fn url() -> String {
    std::env::var("TICKETCTL_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// One message as the stream stored it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub subject: String,
    /// The `Nats-Msg-Id` header.
    pub msg_id: String,
    /// The body, parsed: the event envelope.
    pub envelope: Value,
}

/// A stream name and subject prefix for one test, on a NATS server; the
/// stream (if the relay made it) is deleted on drop.
pub struct TestStream {
    pub settings: NatsSettings,
    pub url: String,
    pub name: String,
    pub prefix: String,
}

/// A fresh stream name and prefix on the shared NATS server, or `None` (a
/// visible skip) when it does not answer.
pub async fn stream() -> Option<TestStream> {
    let url = url();
    if let Err(e) = async_nats::connect(&url).await {
        services::skip(Service::Nats, &format!("not reachable at {url}: {e}"));
        return None;
    }
    services::ran(Service::Nats);
    Some(TestStream::on(&url))
}

impl TestStream {
    /// Unique names on the server at `url` (nothing is created yet).
    pub fn on(url: &str) -> TestStream {
        let mut suffix = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut suffix);
        let tag = hex::encode(suffix);
        let (name, prefix) = (format!("TEST_{tag}"), format!("test{tag}"));
        TestStream {
            settings: NatsSettings::new(url, &name, &prefix).unwrap(),
            url: url.to_owned(),
            name,
            prefix,
        }
    }

    /// The relay's publisher for this stream.
    pub fn publisher(&self) -> Arc<JetStreamPublisher> {
        Arc::new(JetStreamPublisher::new(self.settings.clone()))
    }

    /// Every message in the stream, in order; empty if it does not exist yet.
    pub async fn messages(&self) -> Vec<Stored> {
        let context = jetstream::new(async_nats::connect(&self.url).await.unwrap());
        let Ok(stream) = context.get_stream(&self.name).await else {
            return Vec::new();
        };
        let state = stream.get_info().await.unwrap().state;
        let mut out = Vec::new();
        for seq in state.first_sequence..=state.last_sequence {
            if state.messages == 0 {
                break;
            }
            let m = stream.get_raw_message(seq).await.unwrap();
            out.push(Stored {
                subject: m.subject.to_string(),
                msg_id: m
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                envelope: serde_json::from_slice(&m.payload).unwrap(),
            });
        }
        out
    }

    /// The stream's duplicate window and subjects, as the server has them.
    pub async fn config(&self) -> jetstream::stream::Config {
        let context = jetstream::new(async_nats::connect(&self.url).await.unwrap());
        let stream = context.get_stream(&self.name).await.unwrap();
        stream.get_info().await.unwrap().config
    }

    /// Whether the stream exists on the server.
    pub async fn exists(&self) -> bool {
        let context = jetstream::new(async_nats::connect(&self.url).await.unwrap());
        context.get_stream(&self.name).await.is_ok()
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        // Drop cannot await: a thread with its own small runtime, as for Postgres.
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let connect = async_nats::ConnectOptions::new()
                    .connection_timeout(Duration::from_secs(1))
                    .connect(&url);
                if let Ok(client) = connect.await {
                    let _ = jetstream::new(client).delete_stream(&name).await;
                }
            });
        })
        .join();
    }
}

/// `nats-server` on PATH or where Debian puts it.
pub fn nats_server_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (nothing listens there once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private `nats-server -js` on `port`, with its storage in a temp dir;
/// killed on drop. It can be killed and started again on the same port and
/// storage, as a supervisor restarts a crashed server.
pub struct NatsServer {
    child: Option<Child>,
    binary: PathBuf,
    port: u16,
    storage: tempfile::TempDir,
    pub url: String,
}

impl NatsServer {
    pub async fn start(binary: &std::path::Path, port: u16) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            binary: binary.to_owned(),
            port,
            storage: tempfile::tempdir().unwrap(),
            url: format!("nats://127.0.0.1:{port}"),
        };
        server.start_again().await;
        server
    }

    /// Starts it (again) on its port and storage, and waits until it answers.
    pub async fn start_again(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.storage.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while async_nats::connect(&self.url).await.is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the server is gone at once (its stream stays on disk).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
