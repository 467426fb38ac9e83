//! The mock NID registry as its own process (`ticketctl mock-nid`), used by a
//! served binary (`serve --nid-registry-url`) and by `ticketctl user add
//! --nid`: verification goes over HTTP with the shared key; a wrong key or a
//! registry that stopped is a 503 and creates nothing. Also the admin's
//! `ticketctl nid list-flagged|clear`.

use serde_json::{Value, json};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::db::{TestDb, scalar};
use crate::common::process::ServedBinary;
use crate::common::server::TEST_DOB;

const KEY: &str = "registry-test-key";

/// `ticketctl mock-nid` on a free port, stopped when dropped.
struct MockNid {
    child: Child,
    base: String,
}

impl MockNid {
    async fn start() -> MockNid {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["mock-nid", "--listen", &format!("127.0.0.1:{port}")])
            .env("TICKETCTL_NID_REGISTRY_KEY", KEY)
            .env("TICKETCTL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ticketctl mock-nid");
        let mock = MockNid {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while mock.verify(None, &json!({})).await.0 == 0 {
            assert!(Instant::now() < deadline, "mock-nid did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        mock
    }

    /// POST /v1/verify with `key`; status 0 when nothing answered.
    async fn verify(&self, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}/v1/verify", self.base))
            .json(body);
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }
}

impl Drop for MockNid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ticketctl(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TICKETCTL_LOG", "warn")
        .env("TICKETCTL_PASSWORD", "correct horse battery")
        .output()
        .expect("run ticketctl")
}

fn register_body(n: u32, nid: &str) -> Value {
    json!({ "name": "Karim Uddin", "phone": format!("0171{n:07}"), "email": format!("k{n}@example.com"),
            "password": "correct horse battery", "nid": nid, "date_of_birth": TEST_DOB })
}

async fn register(base: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/auth/register"))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn users(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM users").await
}

async fn a_served_binary_verifies_at_a_standalone_mock_nid(db: TestDb) {
    let mock = MockNid::start().await;
    // The registry's own API: the key, the test identities, "down".
    let claim = |nid: &str| json!({ "nid": nid, "dob": TEST_DOB });
    assert_eq!(mock.verify(None, &claim("5512345678901")).await.0, 401);
    assert_eq!(
        mock.verify(Some("wrong"), &claim("5512345678901")).await.0,
        401
    );
    let (status, body) = mock.verify(Some(KEY), &claim("5512345678901")).await;
    assert_eq!(
        (status, &body),
        (200, &json!({ "verified": true, "reason": "verified" }))
    );
    let (status, body) = mock.verify(Some(KEY), &claim("0001234567")).await;
    assert_eq!((status, body["reason"].as_str()), (200, Some("not_found")));
    assert_eq!(mock.verify(Some(KEY), &claim("1111234567")).await.0, 503);
    assert_eq!(mock.verify(Some(KEY), &claim("12ab")).await.0, 422);

    let served = ServedBinary::start(
        db.url(),
        &["--nid-registry-url", &mock.base, "--nid-registry-key", KEY],
    )
    .await;
    let (status, body) = register(&served.base, &register_body(1, "5512345678901")).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = register(&served.base, &register_body(2, "0001234567")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("/problems/nid-not-verified"))
    );
    assert_eq!(users(&db).await, 1);

    // The CLI verifies at the same registry.
    let add = |phone: &str, nid: &str| {
        ticketctl(
            db.url(),
            &[
                "user",
                "add",
                "--name",
                "Nasrin",
                "--phone",
                phone,
                "--email",
                &format!("{phone}@example.com"),
                "--nid",
                nid,
                "--date-of-birth",
                TEST_DOB,
                "--nid-registry-url",
                &mock.base,
                "--nid-registry-key",
                KEY,
            ],
        )
    };
    let out = add("01810000001", "5512345678902");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add("01810000002", "5512345678901");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already bound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(users(&db).await, 2);

    // The registry stops: registration is a 503 with Retry-After and makes nothing.
    drop(mock);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/auth/register", served.base))
        .json(&register_body(3, "5512345678903"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(users(&db).await, 2);
    served.stop();
}

/// A server given the wrong key is refused by the registry: 503, nothing made.
async fn a_wrong_registry_key_is_a_503(db: TestDb) {
    let mock = MockNid::start().await;
    let served = ServedBinary::start(
        db.url(),
        &[
            "--nid-registry-url",
            &mock.base,
            "--nid-registry-key",
            "not-the-key",
        ],
    )
    .await;
    let (status, body) = register(&served.base, &register_body(1, "5512345678901")).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (503, Some("/problems/unavailable"))
    );
    assert_eq!(users(&db).await, 0);
    // A URL without a key is refused at start.
    let out = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(["serve", "--nid-registry-url", &mock.base])
        .env("DATABASE_URL", db.url())
        .env_remove("TICKETCTL_NID_REGISTRY_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nid-registry-key"));
    served.stop();
}

/// `ticketctl nid list-flagged|clear` on what the limit count flagged.
async fn the_cli_lists_and_clears_flagged_nids(db: TestDb) {
    let out = ticketctl(db.url(), &["nid", "list-flagged"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 flagged"));
    let store = crate::common::db::open_store(&db).await;
    let nid = ticketctl::domain::Nid::parse("5512345678901").unwrap();
    for _ in 0..2 {
        store
            .note_nid_limit_hit(&nid, 2, chrono::Utc::now())
            .await
            .unwrap();
    }
    drop(store);
    let out = ticketctl(db.url(), &["nid", "list-flagged"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("5512345678901") && listed.contains("1 flagged"),
        "{listed}"
    );
    assert!(
        listed.contains("refused by the seat caps 2 times"),
        "{listed}"
    );
    let out = ticketctl(db.url(), &["nid", "clear", "5512345678901"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ticketctl(db.url(), &["nid", "clear", "5512345678901"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not flagged"));
    let out = ticketctl(db.url(), &["nid", "clear", "12ab"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("10, 13 or 17 digits"));
}

on_both_databases!(
    a_served_binary_verifies_at_a_standalone_mock_nid,
    a_wrong_registry_key_is_a_503,
    the_cli_lists_and_clears_flagged_nids,
);
