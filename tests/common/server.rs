//! A real `ticketctl` server on a random port, over a fresh database, with
//! typed HTTP helpers. No sleeps: `start` returns once the port is bound.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

use ticketctl::app::identity::Registration;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::Role;
use ticketctl::server::Server;
use ticketctl::store::Store;

use super::db::{TestDb, open_store};

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
        let store: Arc<dyn Store> = open_store(&db).await;
        let config = AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            ..AppConfig::default()
        };
        let app = App::new(store, config).await.expect("app starts");
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), app.clone())
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

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
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

    /// Creates a user directly (any role) and logs in over HTTP; returns the access token.
    pub async fn user_token(&self, phone: &str, role: Role) -> String {
        self.app
            .register(Registration {
                name: format!("{role} {phone}"),
                phone: phone.into(),
                email: format!("{}@test.ticketctl", phone.trim_start_matches('+')),
                password: PASSWORD.into(),
                role,
            })
            .await
            .expect("register");
        self.login(phone).await
    }

    pub async fn login(&self, login: &str) -> String {
        let r = self
            .post("/v1/auth/login", json!({ "login": login, "password": PASSWORD }))
            .await;
        assert_eq!(r.status, StatusCode::OK, "login: {}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
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
        assert_eq!(self.content_type, "application/problem+json", "{}", self.body);
        assert_eq!(self.body["type"], format!("/problems/{slug}"), "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", self.body);
    }
}
