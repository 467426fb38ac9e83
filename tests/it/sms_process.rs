//! The shipped mock SMS gateway as its own process (`ticketctl mock-sms`) and
//! the built server talking to it by URL (`serve --sms-url`), as an operator
//! would run them: a counter sale's SMS reaches the gateway under the
//! configured key and sender id, and the gateway's JSONL log has it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::Role;
use ticketctl::wire::sms_gateway::Delivered;

use crate::common::db::{TestDb, open_store};
use crate::common::process::ServedBinary;
use crate::common::server::{TEST_JWT_SECRET, mint_token, test_config, tiny_trip};
use crate::sms_delivery::{API_KEY, wait_for_messages};

/// `ticketctl mock-sms` on a free port, stopped when dropped.
struct MockProcess {
    child: Child,
    base: String,
}

impl MockProcess {
    async fn start(log_file: &std::path::Path) -> MockProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["mock-sms", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--api-key", API_KEY, "--log-file"])
            .arg(log_file)
            .env("TICKETCTL_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start ticketctl mock-sms");
        let mock = MockProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !reqwest::get(format!("{}/messages", mock.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "mock-sms did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        mock
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn a_served_binary_texts_through_the_mock_sms_process(db: TestDb) {
    // The catalogue and a clerk, written before the server starts.
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        ..test_config()
    };
    let app = App::new(open_store(&db).await, config).await.unwrap();
    let trip = tiny_trip(&app, 8).await;
    let clerk = app
        .raw_store()
        .create_user(&ticketctl::store::NewUser {
            name: "Clerk".into(),
            phone: "+8801799000009".into(),
            email: "clerk@test.ticketctl".into(),
            password_hash: "unusable".into(),
            role: Role::Clerk,
            nid: None,
            created_at: app.now(),
        })
        .await
        .unwrap();
    let token = mint_token(clerk.id, Role::Clerk, 600);

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sms.jsonl");
    let mock = MockProcess::start(&log).await;
    let server = ServedBinary::start(
        db.url(),
        &[
            "--sms-url",
            &mock.base,
            "--sms-api-key",
            API_KEY,
            "--sms-sender-id",
            "BRTEST",
        ],
    )
    .await;

    let (status, hold) = server
        .post(
            "/v1/counter/holds",
            &token,
            None,
            &json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
        )
        .await;
    assert_eq!(status, 201, "{hold}");
    let (status, order) = server
        .post(
            "/v1/counter/orders",
            &token,
            Some("sale-1"),
            &json!({ "hold_id": hold["hold_id"], "passengers": [{ "name": "Karim" }], "phone": "01733333333", "nid": crate::common::server::fresh_nid() }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let pnr = order["tickets"][0]["pnr"].as_str().unwrap().to_owned();

    let got = wait_for_messages(&mock.base, "8801733333333", 1).await;
    let sms = &got.messages[0];
    assert_eq!(sms.sender_id, "BRTEST");
    assert_eq!(sms.kind, "unicode");
    assert!(
        sms.message.contains(&format!("PNR {pnr} আসন KA-1")),
        "{}",
        sms.message
    );
    assert!(
        received_nothing(&mock.base, "8801799000009").await,
        "not the clerk"
    );

    let lines = std::fs::read_to_string(&log).unwrap();
    let logged: Vec<Delivered> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        logged, got.messages,
        "the JSONL log holds what was accepted"
    );
    server.stop();
}

async fn received_nothing(base: &str, number: &str) -> bool {
    crate::sms_delivery::received(base, number)
        .await
        .attempts
        .is_empty()
}

on_both_databases!(a_served_binary_texts_through_the_mock_sms_process);
