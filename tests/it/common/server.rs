//! A real `ticketctl` server on a random port, over a fresh database, with
//! typed HTTP helpers. No sleeps: `start` returns once the port is bound.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

use ticketctl::adapters::nid_http::HttpNidRegistry;
use ticketctl::app::identity::{NidInput, Registration};
use ticketctl::app::{App, AppConfig, Clock};
use ticketctl::domain::{Role, ServiceDate, TripId, TripTime, UserId};
use ticketctl::server::Server;

use super::db::{TestDb, open_store};
use ticketctl::store::prelude::*;

/// The JWT secret every test server uses, so tests can forge and expire tokens.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub client: reqwest::Client,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn start(db: TestDb) -> TestApp {
        Self::start_with(db, test_config()).await
    }

    /// Starts with `config` (its JWT secret is replaced by the test secret).
    pub async fn start_with(db: TestDb, config: AppConfig) -> TestApp {
        Self::start_with_limits(db, config, ticketctl::server::Limits::unlimited()).await
    }

    /// Starts with `config` and the server's rate limits and load shedding set to `limits`.
    pub async fn start_with_limits(
        db: TestDb,
        config: AppConfig,
        limits: ticketctl::server::Limits,
    ) -> TestApp {
        Self::start_plugged(db, config, limits, |app| app).await
    }

    /// Starts as `start_with_limits`, with adapters (a mailer, an event
    /// publisher) plugged into the app by `plug` before it serves.
    pub async fn start_plugged(
        db: TestDb,
        config: AppConfig,
        limits: ticketctl::server::Limits,
        plug: impl FnOnce(App) -> App,
    ) -> TestApp {
        let store: Arc<dyn Store> = open_store(&db).await;
        let config = AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            ..config
        };
        // The mock NID registry, embedded as `serve` runs it without a URL.
        let registry = HttpNidRegistry::embedded(std::time::Duration::from_secs(3))
            .await
            .expect("the mock NID registry starts");
        let app = plug(
            App::new(store, config)
                .await
                .expect("app starts")
                .with_nid_registry(Arc::new(registry)),
        );
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), app.clone(), limits)
            .await
            .expect("bind a random port");
        let addr = server.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            app,
            client: reqwest::Client::new(),
            db,
            shutdown: Some(tx),
        }
    }

    /// Starts with `config` on a manual clock standing at `at`; the periodic
    /// sweep is an hour apart, so only `App::sweep_now` sweeps during a test.
    pub async fn start_manual(
        db: TestDb,
        at: chrono::DateTime<chrono::Utc>,
        config: AppConfig,
    ) -> TestApp {
        let config = AppConfig {
            clock: Clock::manual(at),
            sweep_every: std::time::Duration::from_secs(3600),
            ..config
        };
        Self::start_with(db, config).await
    }

    /// The manual clock of a server started with `start_manual`.
    pub fn manual_clock(&self) -> &ticketctl::app::clock::ManualClock {
        self.app
            .clock()
            .as_manual()
            .expect("started with a manual clock")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Reply::from(req.send().await.expect("request reaches the server")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, None, Some(body)).await
    }

    pub async fn post_as(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    /// Sends raw bytes as a JSON body (for malformed and oversized bodies).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Reply {
        let req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body);
        Reply::from(req.send().await.expect("request reaches the server")).await
    }

    /// Creates a user directly (any role, with the NID `nid_for_phone(phone)`)
    /// and logs in over HTTP; returns the access token.
    pub async fn user_token(&self, phone: &str, role: Role) -> String {
        self.app
            .register(Registration {
                name: format!("{role} {phone}"),
                phone: phone.into(),
                email: format!("{}@test.ticketctl", phone.trim_start_matches('+')),
                password: PASSWORD.into(),
                role,
                nid: Some(NidInput {
                    nid: nid_for_phone(phone),
                    date_of_birth: TEST_DOB.into(),
                }),
            })
            .await
            .expect("register");
        self.login(phone).await
    }

    pub async fn login(&self, login: &str) -> String {
        let r = self
            .post(
                "/v1/auth/login",
                json!({ "login": login, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login: {}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }
}

/// Defaults for tests: quick payment timeouts and recovery, on the suite's clock.
/// The charge timeout is what the timing-out test cards cost each test; 300 ms
/// was too short for an ordinary charge on Postgres with the suite running on
/// two loaded cores, so ordinary payments sometimes "timed out".
pub fn test_config() -> AppConfig {
    AppConfig {
        gateway: ticketctl::app::payments::GatewayConfig {
            latency: std::time::Duration::from_millis(0),
            charge_timeout: std::time::Duration::from_millis(1000),
            ..Default::default()
        },
        recovery_after: chrono::Duration::seconds(1),
        clock: suite_clock(),
        // Storms of refused sales (the cap tests) would flag their NIDs; the
        // flagging tests (nid_limits.rs) set their own threshold.
        nid_flag_after: 1_000_000,
        ..AppConfig::default()
    }
}

/// The clock of the in-process suite: the system clock, or with
/// `TICKETCTL_TEST_TODAY=YYYY-MM-DD` the system clock moved by whole days to
/// that date (the binaries the suite starts read the same variable and agree),
/// so the whole suite can be run as if it were any day of the week.
pub fn suite_clock() -> Clock {
    static SHIFT: std::sync::OnceLock<Clock> = std::sync::OnceLock::new();
    SHIFT
        .get_or_init(|| Clock::from_env().unwrap_or_else(|e| panic!("TICKETCTL_TEST_TODAY: {e}")))
        .clone()
}

/// The suite's present, cut to a whole second: where manual clocks start.
pub fn suite_second() -> chrono::DateTime<chrono::Utc> {
    let now = suite_clock().now();
    chrono::DateTime::from_timestamp(now.timestamp(), 0).expect("a valid instant")
}

/// An instant on a manual clock: `date` at local Dhaka `time` ("HH:MM").
pub fn dhaka_instant(date: ServiceDate, time: &str) -> chrono::DateTime<chrono::Utc> {
    date.at(TripTime::parse(time).unwrap())
}

/// A small line for booking tests: DHK → APT → FNI → CTG, one S_CHAIR coach of
/// `seats` seats and one SNIGDHA coach of 8, running daily.
pub async fn tiny_trip(app: &App, seats: u32) -> TripId {
    use ticketctl::domain::*;
    use ticketctl::store::{FareRow, NewStation};
    let stations = [
        ("DHK", "Dhaka"),
        ("APT", "Biman Bandar"),
        ("FNI", "Feni"),
        ("CTG", "Chattogram"),
    ];
    for (code, name) in stations {
        app.raw_store()
            .upsert_station(&NewStation {
                code: StationCode::parse(code).unwrap(),
                name_en: name.into(),
                name_bn: None,
                aliases: vec![],
            })
            .await
            .unwrap();
    }
    let stop = |code: &str, arrive: Option<&str>, depart: Option<&str>, km| Stop {
        station: StationCode::parse(code).unwrap(),
        arrive: arrive.map(|t| TripTime::parse(t).unwrap()),
        depart: depart.map(|t| TripTime::parse(t).unwrap()),
        km,
    };
    let train = Train {
        number: 9001,
        name: "Test Express".into(),
        name_bn: None,
        runs_on: Weekdays::ALL,
        stops: vec![
            stop("DHK", None, Some("23:00"), 0),
            stop("APT", Some("23:20"), Some("23:25"), 21),
            stop("FNI", Some("02:40+1"), Some("02:42+1"), 205),
            stop("CTG", Some("04:30+1"), None, 321),
        ],
        coaches: vec![
            Coach {
                code: "KA".into(),
                class: SeatClass::ShovanChair,
                seats,
                layout: SeatLayout::parse("2+2").unwrap(),
            },
            Coach {
                code: "KHA".into(),
                class: SeatClass::Snigdha,
                seats: 8,
                layout: SeatLayout::parse("2+2").unwrap(),
            },
        ],
    };
    app.raw_store().upsert_train(&train).await.unwrap();
    let fare = |from: &str, to: &str, base, vat| FareRow {
        from: StationCode::parse(from).unwrap(),
        to: StationCode::parse(to).unwrap(),
        class: SeatClass::ShovanChair,
        fare: Fare { base, vat },
    };
    app.raw_store()
        .upsert_fares(&[
            fare("DHK", "CTG", 450, 0),
            fare("DHK", "FNI", 300, 0),
            fare("FNI", "CTG", 110, 0),
        ])
        .await
        .unwrap();
    app.raw_store()
        .upsert_fare_rates(&[
            (
                SeatClass::ShovanChair,
                FareRate {
                    per_km: 1.4,
                    min: 45,
                    vat_percent: 0,
                },
            ),
            (
                SeatClass::Snigdha,
                FareRate {
                    per_km: 2.3,
                    min: 80,
                    vat_percent: 15,
                },
            ),
        ])
        .await
        .unwrap();
    let tomorrow = ServiceDate::today_at(app.now()).add_days(1);
    app.schedule_trip(9001, tomorrow).await.unwrap()
}

/// The date of birth the mock NID registry records for every NID it makes up.
pub const TEST_DOB: &str = ticketctl::outside::nid::DEFAULT_DOB;

/// A valid NID of its own for each phone number (13 digits: "551" and the
/// number's last ten), known to the mock registry with `TEST_DOB`.
pub fn nid_for_phone(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let last10 = &digits[digits.len().saturating_sub(10)..];
    format!("551{last10:0>10}")
}

/// A valid NID never handed out before in this test process (13 digits,
/// "59" and a counter), known to the mock registry with `TEST_DOB`.
pub fn fresh_nid() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("59{n:011}")
}

/// The NID of `quick_user(_, n)` (13 digits: "56" and `n`).
pub fn quick_nid(n: u32) -> String {
    format!("56{n:011}")
}

/// A user created straight in the store (no argon2 per user) with a minted token:
/// fast enough to make hundreds for concurrency tests. It has the NID `quick_nid(n)`.
pub async fn quick_user(app: &App, n: u32) -> (UserId, String) {
    let user = app
        .raw_store()
        .create_user(&ticketctl::store::NewUser {
            name: format!("Passenger {n}"),
            phone: format!("+88017{n:08}"),
            email: format!("p{n}@test.ticketctl"),
            password_hash: "unusable".into(),
            role: Role::Passenger,
            created_at: app.now(),
            nid: Some(ticketctl::domain::Nid::parse(&quick_nid(n)).unwrap()),
        })
        .await
        .unwrap();
    (
        user.id,
        mint_token_at(app.now(), user.id, Role::Passenger, 600),
    )
}

/// An access token issued now on the suite's clock.
pub fn mint_token(user_id: UserId, role: Role, ttl_secs: i64) -> String {
    mint_token_at(suite_clock().now(), user_id, role, ttl_secs)
}

/// An access token issued at `issued` (an app's clock may stand anywhere).
pub fn mint_token_at(
    issued: chrono::DateTime<chrono::Utc>,
    user_id: UserId,
    role: Role,
    ttl_secs: i64,
) -> String {
    let now = issued.timestamp();
    let claims = ticketctl::app::identity::Claims {
        sub: user_id.get(),
        role,
        iat: now,
        exp: now + ttl_secs,
        iss: "ticketctl".into(),
        sid: None,
    };
    jsonwebtoken::encode(
        &Default::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

impl TestApp {
    /// Stops the server and the app (closing the database), returning the database.
    pub async fn shutdown(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Let the server task drop its App (and with it the store's connections).
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        std::mem::replace(&mut self.db, super::db::sqlite())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Reply {
    pub async fn from_response(resp: reqwest::Response) -> Reply {
        Self::from(resp).await
    }

    async fn from(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            headers,
            body,
        }
    }

    /// Asserts a problem+json answer with this status and problem type slug.
    pub fn assert_problem(&self, status: u16, slug: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("/problems/{slug}"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            self.body
        );
    }
}

/// The TOTP code an authenticator app would show now for `secret` (base32).
pub fn current_code(secret: &str) -> String {
    code_at(secret, suite_clock().now().timestamp())
}

/// The TOTP code for `secret` at `unix_secs`. A code works once, so a test that
/// needs a second one in the same 30 s uses the next step's (the server allows
/// one step of clock drift).
pub fn code_at(secret: &str, unix_secs: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.into()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into())
        .unwrap()
        .generate(unix_secs as u64)
}

/// "Now" as the suite's servers see it: use this, never `Utc::now()`, for any
/// instant a test sends or compares with a server's.
pub fn suite_now() -> chrono::DateTime<chrono::Utc> {
    suite_clock().now()
}
