//! The TUI's HTTP client for `ticketctl serve`: typed calls, problem+json
//! errors, and a refresh of the access token when it runs out mid-shift.

use parking_lot::Mutex;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

use super::wire::*;
use crate::domain::{HoldId, OrderId, SeatClass, TripId};
use crate::wire::booking::{HoldRequest, PassengerBody};
use crate::wire::counter::CounterOrderRequest;
use crate::wire::identity::{LoginRequest, RefreshRequest};

/// A request body of the wire contract, as the JSON sent.
fn body_of(body: &impl serde::Serialize) -> Value {
    serde_json::to_value(body).expect("wire bodies serialise")
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached (or the connection dropped).
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with a problem (boxed: a problem with all its
    /// extras is large, and every result of the client carries this type).
    #[error("{}", .0.detail)]
    Api(Box<Problem>),
}

impl ClientError {
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(p) => Some(p.as_ref()),
            ClientError::Network(_) => None,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

pub struct Client {
    base: Url,
    http: reqwest::Client,
    tokens: Mutex<Option<Tokens>>,
}

fn network(e: reqwest::Error) -> ClientError {
    ClientError::Network(e.to_string())
}

impl Client {
    pub fn new(base: &str) -> ClientResult<Client> {
        let base = Url::parse(base.trim_end_matches('/'))
            .map_err(|e| ClientError::Network(format!("bad server URL '{base}': {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(network)?;
        Ok(Client {
            base,
            http,
            tokens: Mutex::new(None),
        })
    }

    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.join(path).expect("API paths are valid");
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn access_token(&self) -> Option<String> {
        let tokens = self.tokens.lock();
        tokens.as_ref().map(|t| t.access_token.clone())
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> ClientResult<(StatusCode, Vec<u8>)> {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .timeout(Duration::from_secs(15));
        if let Some(token) = self.access_token() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let resp = req.send().await.map_err(network)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(network)?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends a request; a 401 with a refresh token in hand refreshes once and retries.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        key: Option<&str>,
    ) -> ClientResult<T> {
        let url = self.url(path, query);
        let (mut status, mut bytes) = self.send_once(&method, &url, body.as_ref(), key).await?;
        if status == StatusCode::UNAUTHORIZED && self.refresh().await {
            (status, bytes) = self.send_once(&method, &url, body.as_ref(), key).await?;
        }
        if status.is_success() {
            let text = if bytes.is_empty() {
                b"null".to_vec()
            } else {
                bytes
            };
            serde_json::from_slice(&text)
                .map_err(|e| ClientError::Network(format!("unexpected answer from {path}: {e}")))
        } else {
            let mut problem: Problem = serde_json::from_slice(&bytes).unwrap_or_default();
            problem.status = status.as_u16();
            if problem.detail.is_empty() {
                problem.detail = format!("the server answered {status}");
            }
            Err(ClientError::Api(Box::new(problem)))
        }
    }

    /// Trades the refresh token for a new pair; false when there is none or it failed.
    async fn refresh(&self) -> bool {
        let refresh = {
            let tokens = self.tokens.lock();
            match tokens.as_ref() {
                Some(t) => t.refresh_token.clone(),
                None => return false,
            }
        };
        let url = self.url("/v1/auth/refresh", &[]);
        let Ok(resp) = self
            .http
            .post(url)
            .json(&RefreshRequest {
                refresh_token: refresh,
            })
            .send()
            .await
        else {
            return false;
        };
        match resp.json::<Tokens>().await {
            Ok(t) => {
                *self.tokens.lock() = Some(t);
                true
            }
            Err(_) => false,
        }
    }

    /// Logs in; then the caller must be a clerk (or admin) to sell.
    pub async fn login(&self, login: &str, password: &str, totp: Option<&str>) -> ClientResult<Me> {
        let body = body_of(&LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            totp: totp.filter(|c| !c.is_empty()).map(str::to_owned),
        });
        *self.tokens.lock() = None;
        let tokens: Tokens = self
            .call(Method::POST, "/v1/auth/login", &[], Some(body), None)
            .await?;
        *self.tokens.lock() = Some(tokens);
        self.call(Method::GET, "/v1/me", &[], None, None).await
    }

    pub async fn stations(&self) -> ClientResult<Vec<Station>> {
        let list: Stations = self
            .call(Method::GET, "/v1/stations", &[], None, None)
            .await?;
        Ok(list.stations)
    }

    pub async fn search(&self, from: &str, to: &str, date: &str) -> ClientResult<SearchResult> {
        let q = [("from", from), ("to", to), ("date", date)];
        self.call(Method::GET, "/v1/trips", &q, None, None).await
    }

    pub async fn seat_map(&self, trip: TripId, from: &str, to: &str) -> ClientResult<SeatMap> {
        let q = [("from", from), ("to", to), ("detail", "true")];
        let path = format!("/v1/trips/{trip}/seats");
        self.call(Method::GET, &path, &q, None, None).await
    }

    pub async fn hold(
        &self,
        trip: TripId,
        from: &str,
        to: &str,
        class: SeatClass,
        seats: &[String],
    ) -> ClientResult<Hold> {
        let body = body_of(&HoldRequest {
            trip_id: trip,
            from: from.to_owned(),
            to: to.to_owned(),
            class: class.to_string(),
            seats: Some(seats.to_vec()),
            count: None,
        });
        self.call(Method::POST, "/v1/counter/holds", &[], Some(body), None)
            .await
    }

    pub async fn release(&self, hold: HoldId) -> ClientResult<()> {
        let path = format!("/v1/holds/{hold}");
        self.call::<Value>(Method::DELETE, &path, &[], None, None)
            .await
            .map(|_| ())
    }

    /// Sells a hold for cash; `key` makes a retried sale safe.
    pub async fn sell(
        &self,
        hold: HoldId,
        passengers: &[(String, Option<String>)],
        phone: &str,
        buyer_nid: &str,
        key: &str,
    ) -> ClientResult<CounterOrder> {
        let body = body_of(&CounterOrderRequest {
            hold_id: hold,
            passengers: passengers
                .iter()
                .map(|(name, nid)| PassengerBody {
                    name: name.clone(),
                    nid: nid.clone(),
                })
                .collect(),
            phone: phone.to_owned(),
            nid: buyer_nid.to_owned(),
            lang: None,
        });
        let order: Order = self
            .call(
                Method::POST,
                "/v1/counter/orders",
                &[],
                Some(body),
                Some(key),
            )
            .await?;
        self.order(order.order_id).await
    }

    pub async fn order(&self, id: OrderId) -> ClientResult<CounterOrder> {
        let path = format!("/v1/counter/orders/{id}");
        self.call(Method::GET, &path, &[], None, None).await
    }

    /// Finds orders by PNR, or by phone when the query looks like one.
    pub async fn lookup(&self, query: &str) -> ClientResult<Vec<CounterOrder>> {
        let q = query.trim();
        let is_phone = q.starts_with('+')
            || q.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        let param = [(if is_phone { "phone" } else { "pnr" }, q)];
        let found: Lookup = self
            .call(Method::GET, "/v1/counter/lookup", &param, None, None)
            .await?;
        Ok(found.orders)
    }

    pub async fn cancel(&self, order: OrderId) -> ClientResult<Cancelled> {
        let path = format!("/v1/counter/orders/{order}/cancel");
        self.call(Method::POST, &path, &[], None, None).await
    }

    pub async fn shift(&self) -> ClientResult<Shift> {
        self.call(Method::GET, "/v1/counter/shift", &[], None, None)
            .await
    }

    /// Follows a trip's live stream, calling `changed` for every event (the
    /// first one at once). Returns when the stream ends or breaks.
    pub async fn follow_trip(&self, trip: TripId, mut changed: impl FnMut()) -> ClientResult<()> {
        let url = self.url(&format!("/v1/trips/{trip}/live"), &[]);
        let mut req = self.http.get(url).header("accept", "text/event-stream");
        // Signed in, a clerk's stream comes from the share kept for staff.
        if let Some(token) = self.access_token() {
            req = req.bearer_auth(token);
        }
        let mut resp = req.send().await.map_err(network)?;
        if !resp.status().is_success() {
            return Err(ClientError::Network(format!(
                "live seat updates refused: {}",
                resp.status()
            )));
        }
        let mut pending = String::new();
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line; keep-alive comments start with ':'.
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if event.lines().any(|l| l.starts_with("data:")) {
                    changed();
                }
            }
        }
        Ok(())
    }
}
