//! The mock card gateway: a service of its own, shaped after Stripe's API, so
//! card numbers never reach the booking server (the PCI boundary).
//!
//! A passenger's client posts the card straight here (`POST /v1/tokens`, with
//! the publishable key; CORS lets a browser page do it) and gets a token; the
//! booking server only ever sees tokens, brands and last fours. With the
//! secret key the booking server checks tokens, charges them under an
//! Idempotency-Key, asks whether a charge landed, refunds, and reads the
//! ledger for reconciliation. Its ledger is its own database (`ledger`).
//!
//! Like Stripe's test cards, the outcome of a charge depends on the card:
//!
//! | card ends in | outcome |
//! |---|---|
//! | 0002 | declined ("card declined") |
//! | 9995 | declined ("insufficient funds") |
//! | 0119 | the charge lands, but the answer comes only after `lost_answer` |
//! | 0259 | no answer for `lost_answer`, and nothing is charged |
//! | anything else | succeeds after the configured latency |
//!
//! `POST /v1/test_helpers/charges` (secret key) writes a ledger record as
//! given, as Stripe's test helpers stage states no real card produces: for
//! tests of recovery and reconciliation.

pub mod ledger;

use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Datelike;
use rand::RngCore;
use tower_http::cors::CorsLayer;

use crate::app::Clock;
use crate::domain::card::{CardNumber, check_expiry_and_cvc};
use crate::wire::gateway::{
    CardBody, CardToken, ChargeBody, ChargeList, ChargeView, GatewayError, GatewayErrorBody,
    RefundBody,
};
pub use ledger::Ledger;
use ledger::StoredToken;

/// The keys a development gateway accepts when none are given.
pub const TEST_SECRET_KEY: &str = "sk_test_ticketctl";
pub const TEST_PUBLISHABLE_KEY: &str = "pk_test_ticketctl";

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Authenticates the merchant (the booking server): charges, refunds, ledger.
    pub secret_key: String,
    /// Lets a passenger's client tokenize a card, and nothing else.
    pub publishable_key: String,
    /// How long a charge takes.
    pub latency: Duration,
    /// How long test cards …0119 and …0259 keep the caller waiting: longer
    /// than any client's charge timeout.
    pub lost_answer: Duration,
    pub clock: Clock,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            secret_key: TEST_SECRET_KEY.into(),
            publishable_key: TEST_PUBLISHABLE_KEY.into(),
            latency: Duration::ZERO,
            lost_answer: Duration::from_secs(30),
            clock: Clock::System,
        }
    }
}

#[derive(Clone)]
struct Gw {
    ledger: Ledger,
    settings: std::sync::Arc<GatewaySettings>,
}

struct Fail(StatusCode, GatewayError);

impl Fail {
    fn invalid(param: Option<&str>, message: impl Into<String>) -> Fail {
        Fail(
            StatusCode::BAD_REQUEST,
            GatewayError {
                kind: "invalid_request_error".into(),
                message: message.into(),
                param: param.map(str::to_owned),
            },
        )
    }

    fn not_found(message: impl Into<String>) -> Fail {
        Fail(
            StatusCode::NOT_FOUND,
            GatewayError {
                kind: "invalid_request_error".into(),
                message: message.into(),
                param: None,
            },
        )
    }
}

impl From<ledger::LedgerError> for Fail {
    fn from(e: ledger::LedgerError) -> Self {
        tracing::error!(error = %e, "mock gateway ledger failed");
        Fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            GatewayError {
                kind: "api_error".into(),
                message: "the gateway's ledger failed".into(),
                param: None,
            },
        )
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, Json(GatewayErrorBody { error: self.1 })).into_response()
    }
}

type GwResult<T> = Result<T, Fail>;

/// The gateway's router over `ledger`.
pub fn router(ledger: Ledger, settings: GatewaySettings) -> Router {
    let gw = Gw {
        ledger,
        settings: std::sync::Arc::new(settings),
    };
    // Only tokenization is for browsers: any page may post a card here, with
    // the publishable key, and read the token back.
    let cors = CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let public = Router::new()
        .route("/v1/tokens", post(create_token))
        .layer(cors)
        .layer(middleware::from_fn_with_state(gw.clone(), publishable_key));
    let merchant = Router::new()
        .route("/v1/tokens/{token}", get(get_token))
        .route("/v1/charges", post(create_charge))
        .route("/v1/charges/{key}", get(get_charge))
        .route("/v1/charges/{id}/refunds", post(refund))
        .route("/v1/ledger/summary", get(summary))
        .route("/v1/ledger/charges", get(list_charges))
        .route("/v1/test_helpers/charges", post(put_charge))
        .layer(middleware::from_fn_with_state(gw.clone(), secret_key));
    public.merge(merchant).with_state(gw)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized(message: &str) -> Response {
    Fail(
        StatusCode::UNAUTHORIZED,
        GatewayError {
            kind: "authentication_error".into(),
            message: message.into(),
            param: None,
        },
    )
    .into_response()
}

/// Tokenization takes the publishable key (or the secret one); a CORS
/// preflight carries no key and is let through to the CORS layer.
async fn publishable_key(State(gw): State<Gw>, req: Request, next: Next) -> Response {
    let key = bearer(req.headers());
    let s = &gw.settings;
    if req.method() == Method::OPTIONS
        || key == Some(s.publishable_key.as_str())
        || key == Some(s.secret_key.as_str())
    {
        next.run(req).await
    } else {
        unauthorized("send the publishable key as 'Authorization: Bearer pk_…'")
    }
}

async fn secret_key(State(gw): State<Gw>, req: Request, next: Next) -> Response {
    if bearer(req.headers()) == Some(gw.settings.secret_key.as_str()) {
        next.run(req).await
    } else {
        unauthorized("this needs the secret key as 'Authorization: Bearer sk_…'")
    }
}

fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}_{}", hex::encode(b))
}

async fn create_token(
    State(gw): State<Gw>,
    body: Result<Json<CardBody>, axum::extract::rejection::JsonRejection>,
) -> GwResult<(StatusCode, Json<CardToken>)> {
    let Json(card) = body.map_err(|e| Fail::invalid(None, e.body_text()))?;
    let number = CardNumber::parse(&card.number)
        .map_err(|e| Fail::invalid(Some(e.field), e.message.clone()))?;
    let today = gw.settings.clock.now();
    check_expiry_and_cvc(
        card.exp_month,
        card.exp_year,
        &card.cvc,
        (today.year() as u32, today.month()),
    )
    .map_err(|e| Fail::invalid(Some(e.field), e.message.clone()))?;
    let token = CardToken {
        token: random_id("tok"),
        brand: number.brand().to_owned(),
        last4: number.last4().to_owned(),
        exp_month: card.exp_month,
        exp_year: if card.exp_year < 100 {
            2000 + card.exp_year
        } else {
            card.exp_year
        },
    };
    let stored = StoredToken {
        card: token.clone(),
        fingerprint: ledger::fingerprint(number.digits()),
    };
    gw.ledger.insert_token(stored, today.timestamp()).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

async fn get_token(State(gw): State<Gw>, Path(token): Path<String>) -> GwResult<Json<CardToken>> {
    match gw.ledger.token(&token).await? {
        Some(t) => Ok(Json(t.card)),
        None => Err(Fail::not_found(format!("no such token: '{token}'"))),
    }
}

/// Charges once per Idempotency-Key: a retry gets the first record back.
async fn create_charge(
    State(gw): State<Gw>,
    headers: HeaderMap,
    body: Result<Json<ChargeBody>, axum::extract::rejection::JsonRejection>,
) -> GwResult<Json<ChargeView>> {
    let Json(body) = body.map_err(|e| Fail::invalid(None, e.body_text()))?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| Fail::invalid(None, "an Idempotency-Key header is required"))?
        .to_owned();
    if let Some(done) = gw.ledger.charge(&key).await? {
        return Ok(Json(done));
    }
    if body.amount <= 0 {
        return Err(Fail::invalid(Some("amount"), "must be positive"));
    }
    let Some(token) = gw.ledger.token(&body.token).await? else {
        return Err(Fail::invalid(
            Some("token"),
            format!("no such token: '{}'", body.token),
        ));
    };
    let s = &gw.settings;
    tokio::time::sleep(s.latency).await;
    let status = match token.card.last4.as_str() {
        "0002" => "declined",
        "9995" => "declined_funds",
        "0259" => {
            // Nothing is charged and no answer comes in time.
            tokio::time::sleep(s.lost_answer).await;
            return Err(Fail(
                StatusCode::GATEWAY_TIMEOUT,
                GatewayError {
                    kind: "api_error".into(),
                    message: "the card network did not answer".into(),
                    param: None,
                },
            ));
        }
        _ => "succeeded",
    };
    let charge = ChargeView {
        id: random_id("ch"),
        idempotency_key: key,
        token: body.token,
        amount: body.amount,
        status: status.into(),
        refunded: 0,
    };
    let charge = gw.ledger.record(charge, s.clock.now().timestamp()).await?;
    if token.card.last4 == "0119" {
        // The money is taken, but the answer is lost in transit.
        tokio::time::sleep(s.lost_answer).await;
    }
    Ok(Json(charge))
}

async fn get_charge(State(gw): State<Gw>, Path(key): Path<String>) -> GwResult<Json<ChargeView>> {
    match gw.ledger.charge(&key).await? {
        Some(c) => Ok(Json(c)),
        None => Err(Fail::not_found(format!("no charge under key '{key}'"))),
    }
}

async fn refund(
    State(gw): State<Gw>,
    Path(id): Path<String>,
    body: Result<Json<RefundBody>, axum::extract::rejection::JsonRejection>,
) -> GwResult<Json<ChargeView>> {
    let Json(body) = body.map_err(|e| Fail::invalid(None, e.body_text()))?;
    if body.total < 0 {
        return Err(Fail::invalid(Some("total"), "must not be negative"));
    }
    match gw.ledger.refund(&id, body.total).await? {
        Some(c) => Ok(Json(c)),
        None => Err(Fail::not_found(format!("no charge '{id}'"))),
    }
}

async fn summary(State(gw): State<Gw>) -> GwResult<Json<crate::wire::gateway::LedgerSummary>> {
    Ok(Json(gw.ledger.summary().await?))
}

async fn list_charges(State(gw): State<Gw>) -> GwResult<Json<ChargeList>> {
    Ok(Json(ChargeList {
        charges: gw.ledger.charges().await?,
    }))
}

async fn put_charge(
    State(gw): State<Gw>,
    body: Result<Json<ChargeView>, axum::extract::rejection::JsonRejection>,
) -> GwResult<Json<ChargeView>> {
    let Json(charge) = body.map_err(|e| Fail::invalid(None, e.body_text()))?;
    let now = gw.settings.clock.now().timestamp();
    Ok(Json(gw.ledger.put(charge, now).await?))
}

/// The mock gateway on a loopback port of its own, for a `serve` given no
/// gateway URL.
pub async fn embedded(
    ledger: Ledger,
    settings: GatewaySettings,
) -> std::io::Result<super::Embedded> {
    super::serve_embedded(router(ledger, settings)).await
}
