//! The card gateway in tests: cards are tokenized there (never at the booking
//! server), the built `ticketctl mock-gateway` runs as a process of its own,
//! and a test database's gateway ledger has a fixed place, so a server
//! restarted on the database (or a checker opened on it) finds the charges.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ticketctl::app::payments::{GatewayConfig, RemoteGateway};
use ticketctl::outside::gateway::{TEST_PUBLISHABLE_KEY, TEST_SECRET_KEY};

/// Where the gateway of a test database keeps its ledger (servers started by
/// `ServedBinary` are given it): in the temp dir, named after the database,
/// never on the database's own disk (a drill fills that one).
pub fn ledger_path(db_url: &str) -> PathBuf {
    let h = hex::encode(&Sha256::digest(db_url.as_bytes())[..8]);
    std::env::temp_dir().join(format!("ticketctl-it-gateway-{h}.sqlite"))
}

/// Removes the ledger of `db_url` (and its WAL and the gateway's log).
pub fn remove_ledger(db_url: &str) {
    let ledger = ledger_path(db_url);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = ledger.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(ledger.with_extension("log"));
}

/// The embedded gateway with `db_url`'s ledger file: for an app that must see
/// what a server on that database charged.
pub fn embedded_for(db_url: &str, base: GatewayConfig) -> GatewayConfig {
    GatewayConfig {
        ledger: Some(ledger_path(db_url)),
        ..base
    }
}

/// Tokenizes `number` at the gateway the server at `base` names, and
/// registers the token for the user of `access_token`; answers the token.
pub async fn card_token(
    client: &reqwest::Client,
    base: &str,
    access_token: &str,
    number: &str,
) -> String {
    registered_card(client, base, access_token, number).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /v1/payments/gateway` of the server at `base`.
pub async fn info(client: &reqwest::Client, base: &str) -> Value {
    client
        .get(format!("{base}/v1/payments/gateway"))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("gateway info")
}

/// As `card_token`, answering the server's whole answer (token, brand, last4, …).
pub async fn registered_card(
    client: &reqwest::Client,
    base: &str,
    access_token: &str,
    number: &str,
) -> Value {
    let gw = info(client, base).await;
    let tok = tokenize(client, &gw, number).await;
    let r = client
        .post(format!("{base}/v1/payments/tokens"))
        .bearer_auth(access_token)
        .json(&json!({ "gateway_token": tok }))
        .send()
        .await
        .expect("the server answers");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Posts the card to the gateway `info` (`GET /v1/payments/gateway`) names,
/// as a passenger's client does; answers the gateway's token.
pub async fn tokenize(client: &reqwest::Client, info: &Value, number: &str) -> String {
    let r = client
        .post(info["tokens_url"].as_str().expect("tokens_url"))
        .bearer_auth(info["publishable_key"].as_str().expect("publishable_key"))
        .json(&json!({ "number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123" }))
        .send()
        .await
        .expect("the gateway answers");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The built `ticketctl mock-gateway` on a port of its own, with its ledger file.
pub struct GatewayProcess {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
    pub ledger: PathBuf,
    flags: Vec<String>,
    log: PathBuf,
}

impl GatewayProcess {
    /// Starts the gateway with its ledger at `ledger` and extra `flags`, ready.
    pub async fn start(ledger: PathBuf, flags: &[&str]) -> GatewayProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut gw = GatewayProcess {
            child: None,
            port,
            url: format!("http://127.0.0.1:{port}"),
            log: ledger.with_extension("log"),
            ledger,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        gw.restart(&[]).await;
        gw
    }

    /// Starts it again on the same port and ledger, with `flags` instead of
    /// the first start's when any are given.
    pub async fn restart(&mut self, flags: &[&str]) {
        if !flags.is_empty() {
            self.flags = flags.iter().map(|f| f.to_string()).collect();
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args([
                "mock-gateway",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .arg("--ledger")
            .arg(&self.ledger)
            .args(&self.flags)
            .env("TICKETCTL_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ticketctl mock-gateway");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        while !client
            .get(format!("{}/v1/ledger/summary", self.url))
            .bearer_auth(TEST_SECRET_KEY)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "the gateway did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: the gateway stops answering at once.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `serve` flags that use this gateway.
    pub fn serve_flags(&self) -> Vec<String> {
        vec![
            "--gateway-url".into(),
            self.url.clone(),
            "--gateway-secret-key".into(),
            TEST_SECRET_KEY.into(),
            "--gateway-publishable-key".into(),
            TEST_PUBLISHABLE_KEY.into(),
        ]
    }

    /// The app-side settings that use this gateway.
    pub fn config(&self, base: GatewayConfig) -> GatewayConfig {
        GatewayConfig {
            remote: Some(RemoteGateway {
                url: self.url.clone(),
                secret_key: TEST_SECRET_KEY.into(),
                publishable_key: TEST_PUBLISHABLE_KEY.into(),
            }),
            ..base
        }
    }

    /// A merchant's call at the gateway (secret key).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        secret_get(&self.url, path).await
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GET `path` at the gateway at `url` with the test secret key.
pub async fn secret_get(url: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(TEST_SECRET_KEY)
        .send()
        .await
        .expect("the gateway answers");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// POST `body` to `path` at the gateway at `url` with the test secret key.
pub async fn secret_post(url: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .bearer_auth(TEST_SECRET_KEY)
        .json(body)
        .send()
        .await
        .expect("the gateway answers");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The app's gateway base URL (its tokenization URL less `/v1/tokens`).
pub fn url_of(app: &ticketctl::app::App) -> String {
    let e = app.card_gateway().expect("a card gateway");
    e.tokens_url.trim_end_matches("/v1/tokens").to_owned()
}

/// The gateway's record under `key` (e.g. `order-7`), if any.
pub async fn charge(app: &ticketctl::app::App, key: &str) -> Option<Value> {
    let (s, body) = secret_get(&url_of(app), &format!("/v1/charges/{key}")).await;
    (s == 200).then_some(body)
}

/// Writes a record in the app's gateway ledger as given (the gateway's test
/// helper): `fields` overrides the record now under `key` (or a new one).
pub async fn stage_charge(app: &ticketctl::app::App, key: &str, fields: Value) {
    let mut record = charge(app, key).await.unwrap_or_else(|| {
        json!({ "id": format!("ch_staged_{key}"), "idempotency_key": key, "token": "tok_staged",
                "amount": 0, "status": "succeeded", "refunded": 0 })
    });
    for (k, v) in fields.as_object().expect("fields are an object") {
        record[k] = v.clone();
    }
    let (s, body) = secret_post(&url_of(app), "/v1/test_helpers/charges", &record).await;
    assert_eq!(s, 200, "{body}");
}

/// Rewrites the app's gateway record under `key` with `change` (the gateway's
/// test helper): damage planted behind the booking server's back.
pub async fn tamper(app: &ticketctl::app::App, key: &str, change: impl FnOnce(&mut Value)) {
    let mut record = charge(app, key).await.expect("a charge to tamper with");
    change(&mut record);
    let (s, body) = secret_post(&url_of(app), "/v1/test_helpers/charges", &record).await;
    assert_eq!(s, 200, "{body}");
}
