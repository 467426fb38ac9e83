//! The PCI boundary: card numbers never reach the booking server. The built
//! `ticketctl serve` runs beside a separate `ticketctl mock-gateway` process;
//! passengers tokenize test cards at the gateway and book with the tokens.
//! Afterwards the server's whole log output (at debug level) and every column
//! of every table of its database are searched for each card number, as
//! digits and grouped in fours, and none is found, while the gateway's own
//! ledger knows each card (by fingerprint) and the booking database keeps only
//! tokens, brands and last fours.
//!
//! Also: a forged or unknown token is refused 422; card details sent to the
//! booking server are refused 422 (and not logged either); with the gateway
//! down a payment answers 402 within the charge timeout and registering a
//! token answers 503.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::db::{TestDb, dump_all, strings};
use crate::common::gateway::{GatewayProcess, tokenize};
use crate::common::server::{TEST_JWT_SECRET, quick_user, suite_clock, tiny_trip};
use ticketctl::app::{App, AppConfig};

const CARDS: [(&str, &str); 3] = [
    ("4242424242424242", "confirmed"),
    ("4000000000000002", "declined"),
    ("4000000000009995", "declined"),
];

/// `4242 4242 4242 4242`: how people type and print card numbers.
fn grouped(pan: &str) -> String {
    pan.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ticketctl serve` with its stdout and stderr (debug logs) in `log`.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    async fn start(db_url: &str, gateway: &GatewayProcess, log: &Path) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(gateway.serve_flags())
            .args(["--charge-timeout-ms", "1000", "--rate-per-ip", "0"])
            .args(["--rate-per-user", "0", "--max-holds-per-address", "0"])
            .env("DATABASE_URL", db_url)
            .env("TICKETCTL_JWT_SECRET", TEST_JWT_SECRET)
            // Everything the server would ever log, so the search misses nothing.
            .env("TICKETCTL_LOG", "trace")
            .env_remove("REDIS_URL")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start ticketctl serve");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Served { child, base }
    }

    async fn post(&self, path: &str, token: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let r = req.send().await.expect("the server answers");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Holds one seat and orders it with `card` under `key`.
async fn book(server: &Served, trip: i64, user: &str, card: &str, key: &str) -> (u16, Value) {
    let (s, held) = server
        .post(
            "/v1/holds",
            user,
            None,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }),
        )
        .await;
    assert_eq!(s, 201, "{held}");
    let body = json!({ "hold_id": held["hold_id"], "passengers": [{ "name": "Card Holder" }], "payment_token": card });
    server.post("/v1/orders", user, Some(key), body).await
}

async fn card_numbers_never_reach_the_booking_server(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    // The stage, made with the library, then handed to the binary.
    let app = App::new(
        crate::common::db::open_store(&db).await,
        AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            clock: suite_clock(),
            ..AppConfig::default()
        },
    )
    .await
    .unwrap();
    let trip = tiny_trip(&app, 10).await.get();
    let mut users = vec![];
    for n in 0..5 {
        users.push(quick_user(&app, 700 + n).await.1);
    }
    drop(app);

    let mut gateway = GatewayProcess::start(dir.path().join("gateway-ledger.sqlite"), &[]).await;
    let log = dir.path().join("serve.log");
    let server = Served::start(db.url(), &gateway, &log).await;
    let client = reqwest::Client::new();
    let (s, info) = {
        let r = client
            .get(format!("{}/v1/payments/gateway", server.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(s, 200, "{info}");
    assert_eq!(
        info["tokens_url"],
        format!("{}/v1/tokens", gateway.url),
        "clients are sent to the gateway"
    );

    // Each card is tokenized at the gateway (one typed with spaces) and booked with.
    let mut tokens = vec![];
    for (i, (pan, outcome)) in CARDS.iter().enumerate() {
        let typed = if i == 0 {
            grouped(pan)
        } else {
            pan.to_string()
        };
        let tok = tokenize(&client, &info, &typed).await;
        let (s, registered) = server
            .post(
                "/v1/payments/tokens",
                &users[i],
                None,
                json!({ "gateway_token": tok }),
            )
            .await;
        assert_eq!(s, 201, "{registered}");
        assert_eq!(registered["last4"], &pan[12..]);
        let (s, order) = book(&server, trip, &users[i], &tok, &format!("pci-{i}")).await;
        match *outcome {
            "confirmed" => {
                assert_eq!(s, 201, "{order}");
                assert_eq!(order["status"], "confirmed", "{order}");
            }
            _ => assert_eq!(s, 402, "{order}"),
        }
        tokens.push(tok);
    }

    // A token the gateway never issued, and another account's token, are refused.
    for (forged, who) in [
        ("tok_000000000000000000000000", &users[3]),
        ("not-a-token", &users[3]),
        (tokens[0].as_str(), &users[3]),
    ] {
        let (s, problem) = server
            .post(
                "/v1/payments/tokens",
                who,
                None,
                json!({ "gateway_token": forged }),
            )
            .await;
        assert_eq!(s, 422, "{forged}: {problem}");
        assert_eq!(problem["type"], "/problems/invalid-field", "{problem}");
    }
    // Card details sent to the booking server are refused, pointing at the gateway.
    let (s, problem) = server
        .post(
            "/v1/payments/tokens",
            &users[3],
            None,
            json!({ "number": CARDS[0].0, "exp_month": 12, "exp_year": 2035, "cvc": "123" }),
        )
        .await;
    assert_eq!(s, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("card gateway"),
        "{problem}"
    );

    // The gateway goes down: a saved card's payment fails fast, a new token waits.
    let saved = tokenize(&client, &info, CARDS[0].0).await;
    let (s, _) = server
        .post(
            "/v1/payments/tokens",
            &users[4],
            None,
            json!({ "gateway_token": saved }),
        )
        .await;
    assert_eq!(s, 201);
    let fresh = tokenize(&client, &info, CARDS[0].0).await;
    gateway.kill();
    let began = Instant::now();
    let (s, problem) = book(&server, trip, &users[4], &saved, "pci-down").await;
    assert_eq!(s, 402, "{problem}");
    assert_eq!(problem["type"], "/problems/payment-failed", "{problem}");
    assert!(
        began.elapsed() < Duration::from_millis(3000),
        "answered within the charge timeout: {:?}",
        began.elapsed()
    );
    let (s, problem) = server
        .post(
            "/v1/payments/tokens",
            &users[3],
            None,
            json!({ "gateway_token": fresh }),
        )
        .await;
    assert_eq!(s, 503, "{problem}");
    assert_eq!(problem["type"], "/problems/unavailable", "{problem}");
    server.stop();

    // The search: the server's logs and every column of every table.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("/v1/payments/tokens"),
        "the log holds the requests (trace level): {} bytes",
        logged.len()
    );
    let dumped = dump_all(&db).await;
    for t in &tokens {
        assert!(dumped.contains(t.as_str()), "the dump holds the token {t}");
    }
    let mut raw = String::new();
    if let Some(p) = ticketctl::store::sqlite_path(db.url()) {
        // The file itself too, free pages and write-ahead log included.
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{}{suffix}", p.display())) {
                raw.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    for (pan, _) in CARDS {
        for form in [pan.to_owned(), grouped(pan)] {
            assert!(!logged.contains(&form), "the server logged the card {form}");
            assert!(
                !dumped.contains(&form),
                "the database holds the card {form}"
            );
            assert!(
                !raw.contains(&form),
                "the database file holds the card {form}"
            );
        }
    }
    // What the booking database does keep: token, brand, last four.
    let kept = strings(
        &db,
        "SELECT brand || ' ' || last4 FROM payment_tokens ORDER BY created_at, token",
    )
    .await;
    assert!(kept.contains(&"visa 4242".to_owned()), "{kept:?}");
    assert!(kept.contains(&"visa 9995".to_owned()), "{kept:?}");

    // The gateway's ledger knows every card, by fingerprint: the cards went there.
    let ledger = rusqlite::Connection::open(&gateway.ledger).unwrap();
    for (pan, _) in CARDS {
        let fingerprint = hex::encode(Sha256::digest(pan.as_bytes()));
        let n: i64 = ledger
            .query_row(
                "SELECT COUNT(*) FROM tokens WHERE fingerprint = ?1 AND last4 = ?2",
                [fingerprint.as_str(), &pan[12..]],
                |r| r.get(0),
            )
            .unwrap();
        assert!(n >= 1, "the gateway tokenized {pan}");
    }
    let charged: i64 = ledger
        .query_row("SELECT COUNT(*) FROM charges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(charged, 3, "one charge per booking, declined ones included");
}

on_both_databases!(card_numbers_never_reach_the_booking_server);
