//! `serve --log-format json`: the real binary writes one JSON object per log
//! line on stderr, and a request's lines carry its request id.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::server::TEST_JWT_SECRET;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_of_a_request_carry_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args([
            "serve",
            "--log-format",
            "json",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/t.db", dir.path().display()),
        )
        .env("TICKETCTL_JWT_SECRET", TEST_JWT_SECRET)
        // Each answered request logs one debug line (server::metrics).
        .env("TICKETCTL_LOG", "ticketctl=debug")
        .env_remove("TICKETCTL_LOG_FORMAT")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start ticketctl serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client
        .get(format!("{base}/v1/stations"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let generated = client.get(format!("{base}/v1/nope")).send().await.unwrap();
    let generated = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    // The line is written when the response is; give the writer a moment.
    let mut lines = vec![];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        lines = text.lines().map(str::to_owned).collect::<Vec<_>>();
        let done = lines
            .iter()
            .filter(|l| l.contains("trace-me-42") || l.contains(&generated))
            .count()
            >= 2;
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();

    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(parsed.len() >= 2, "{lines:?}");
    let of = |id: &str| {
        parsed
            .iter()
            .filter(|v| v["span"]["request_id"] == id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let mine = of("trace-me-42");
    assert!(
        !mine.is_empty(),
        "no line carries the request id: {lines:#?}"
    );
    let answered = &mine[0];
    assert_eq!(answered["fields"]["status"], 200, "{answered}");
    assert_eq!(answered["fields"]["route"], "/v1/stations");
    assert_eq!(answered["span"]["method"], "GET");
    let theirs = of(&generated);
    assert_eq!(theirs.len(), 1, "{lines:#?}");
    assert_eq!(theirs[0]["fields"]["status"], 404);
}
