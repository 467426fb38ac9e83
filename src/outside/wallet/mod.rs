//! The mock mobile-wallet provider (bKash, Nagad, Rocket): a service of its
//! own, shaped after bKash's tokenized checkout.
//!
//! The merchant (the booking server, with the merchant key) creates a payment
//! for an invoice and gets the page where the passenger approves it; the
//! passenger approves or cancels there (a tiny HTML page, and the JSON
//! `POST /pay/{id}/approve|cancel` it calls, which tests and the rehearsal
//! drive directly); the provider posts the outcome to the merchant's callback
//! URL, signed with HMAC-SHA256 over `"<timestamp>.<body>"` with the merchant
//! key (`x-wallet-signature: t=…,v1=…`), retried until the merchant answers
//! 2xx. The merchant may ask a payment's status, cancel an unpaid one, refund,
//! and read the ledger for reconciliation. Its ledger is its own (`ledger`).
//!
//! The wallet number that approves decides the outcome, like test cards:
//!
//! | number ends in | outcome |
//! |---|---|
//! | 0002 | the passenger cancels: nothing taken |
//! | 9995 | failed, insufficient balance: nothing taken |
//! | 0119 | late success: processing, completed only after `late_delay` (longer than the merchant's payment timeout), then the callback; a cancel meanwhile is refused |
//! | 0333 | success, and the same callback sent 3 times at once |
//! | 0259 | success, but no callback at all: only a status query tells |
//! | anything else | success, one callback |

pub mod ledger;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::RngCore;

use crate::app::Clock;
use crate::domain::wallet::{self as rules, WalletNumber, WalletState};
use crate::wire::wallet::{
    ApproveBody, CreatePaymentBody, PaymentList, PaymentView, WalletCallback, WalletError,
    WalletErrorBody, WalletLedgerSummary, WalletRefundBody,
};
pub use ledger::Ledger;
use ledger::NewPayment;

/// The merchant key a development provider accepts when none is given.
pub const TEST_MERCHANT_KEY: &str = "wk_test_ticketctl";

/// How many times the duplicate-callback test number (…0333) is told.
pub const DUPLICATE_CALLBACKS: usize = 3;

#[derive(Debug, Clone)]
pub struct WalletSettings {
    /// Authenticates the merchant and signs its callbacks.
    pub merchant_key: String,
    /// How long a late success (…0119) stays processing before it completes.
    pub late_delay: Duration,
    /// Attempts per callback until the merchant answers 2xx.
    pub callback_attempts: u32,
    /// The wait before the first retry (doubled each time).
    pub callback_backoff: Duration,
    pub clock: Clock,
}

impl Default for WalletSettings {
    fn default() -> Self {
        WalletSettings {
            merchant_key: TEST_MERCHANT_KEY.into(),
            late_delay: Duration::from_secs(120),
            callback_attempts: 6,
            callback_backoff: Duration::from_millis(250),
            clock: Clock::System,
        }
    }
}

#[derive(Clone)]
struct Wp {
    ledger: Ledger,
    settings: Arc<WalletSettings>,
    client: reqwest::Client,
}

struct Fail(StatusCode, &'static str, String);

impl Fail {
    fn invalid(message: impl Into<String>) -> Fail {
        Fail(StatusCode::BAD_REQUEST, "invalid_request", message.into())
    }
    fn not_found(message: impl Into<String>) -> Fail {
        Fail(StatusCode::NOT_FOUND, "not_found", message.into())
    }
    fn conflict(message: impl Into<String>) -> Fail {
        Fail(StatusCode::CONFLICT, "conflict", message.into())
    }
}

impl From<ledger::LedgerError> for Fail {
    fn from(e: ledger::LedgerError) -> Self {
        tracing::error!(error = %e, "mock wallet ledger failed");
        Fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the wallet's ledger failed".into(),
        )
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let body = WalletErrorBody {
            error: WalletError {
                code: self.1.into(),
                message: self.2,
            },
        };
        (self.0, Json(body)).into_response()
    }
}

type WpResult<T> = Result<T, Fail>;
type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

/// The provider's router over `ledger`.
pub fn router(ledger: Ledger, settings: WalletSettings) -> Router {
    let wp = Wp {
        ledger,
        settings: Arc::new(settings),
        client: reqwest::Client::new(),
    };
    // The passenger's page: no key (the payment id is the capability).
    let page = Router::new()
        .route("/pay/{id}", get(page))
        .route("/pay/{id}/approve", post(approve))
        .route("/pay/{id}/cancel", post(passenger_cancel));
    let merchant = Router::new()
        .route("/v1/payments", post(create))
        .route("/v1/payments/{id}", get(status))
        .route("/v1/invoices/{invoice}", get(by_invoice))
        .route("/v1/payments/{id}/cancel", post(merchant_cancel))
        .route("/v1/payments/{id}/refunds", post(refund))
        .route("/v1/ledger/summary", get(summary))
        .route("/v1/ledger/payments", get(list))
        .layer(middleware::from_fn_with_state(wp.clone(), merchant_key));
    page.merge(merchant).with_state(wp)
}

async fn merchant_key(State(wp): State<Wp>, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if key == Some(wp.settings.merchant_key.as_str()) {
        next.run(req).await
    } else {
        Fail(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the merchant key as 'Authorization: Bearer …'".into(),
        )
        .into_response()
    }
}

fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode_upper(b))
}

fn now(wp: &Wp) -> i64 {
    wp.settings.clock.now().timestamp()
}

async fn create(
    State(wp): State<Wp>,
    headers: HeaderMap,
    body: JsonBody<CreatePaymentBody>,
) -> WpResult<(StatusCode, Json<PaymentView>)> {
    let Json(body) = body.map_err(|e| Fail::invalid(e.body_text()))?;
    if body.amount <= 0 {
        return Err(Fail::invalid("amount: must be positive"));
    }
    let invoice_ok = !body.merchant_invoice.is_empty()
        && body.merchant_invoice.len() <= 64
        && body
            .merchant_invoice
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !invoice_ok {
        return Err(Fail::invalid(
            "merchant_invoice: 1–64 letters, digits, '-' or '_'",
        ));
    }
    if !(body.callback_url.starts_with("http://") || body.callback_url.starts_with("https://")) {
        return Err(Fail::invalid("callback_url: must be an http(s) URL"));
    }
    WalletNumber::parse(&body.payer_reference)
        .map_err(|e| Fail::invalid(format!("payer_reference: {}", e.message)))?;
    let id = random_id("TR00");
    // The page is on this host, as the merchant reached it.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let view = PaymentView {
        payment_id: id.clone(),
        merchant_invoice: body.merchant_invoice,
        amount: body.amount,
        status: WalletState::Initiated,
        payer_reference: body.payer_reference,
        redirect_url: format!("http://{host}/pay/{id}"),
        refunded: 0,
        trx_id: None,
    };
    let created = wp
        .ledger
        .create(
            NewPayment {
                view,
                callback_url: body.callback_url,
            },
            now(&wp),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn payment(wp: &Wp, id: &str) -> WpResult<PaymentView> {
    wp.ledger
        .get(id)
        .await?
        .ok_or_else(|| Fail::not_found(format!("no payment '{id}'")))
}

async fn status(State(wp): State<Wp>, Path(id): Path<String>) -> WpResult<Json<PaymentView>> {
    Ok(Json(payment(&wp, &id).await?))
}

async fn by_invoice(
    State(wp): State<Wp>,
    Path(invoice): Path<String>,
) -> WpResult<Json<PaymentView>> {
    match wp.ledger.by_invoice(&invoice).await? {
        Some(p) => Ok(Json(p)),
        None => Err(Fail::not_found(format!(
            "no payment for invoice '{invoice}'"
        ))),
    }
}

/// The passenger's page: the amount, and buttons that call the JSON below.
async fn page(State(wp): State<Wp>, Path(id): Path<String>) -> WpResult<Html<String>> {
    let p = payment(&wp, &id).await?;
    let id = &p.payment_id; // ours: letters and digits only
    Ok(Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Mock wallet</title></head>
<body><h1>Pay Tk {amount}</h1><p>Invoice {invoice} &middot; status <b id="s">{status}</b></p>
<label>Wallet number <input id="n" value="{number}" maxlength="11"></label>
<button onclick="go('approve')">Approve</button> <button onclick="go('cancel')">Cancel</button>
<script>
async function go(what) {{
  const r = await fetch('/pay/{id}/' + what, {{method: 'POST', headers: {{'content-type': 'application/json'}},
    body: JSON.stringify(what === 'approve' ? {{number: document.getElementById('n').value}} : {{}})}});
  const b = await r.json();
  document.getElementById('s').textContent = b.status || (b.error && b.error.message);
}}
</script></body></html>"#,
        amount = p.amount,
        invoice = p.merchant_invoice,
        status = p.status,
        number = p.payer_reference,
    )))
}

/// What the test number that approved does.
enum Outcome {
    Success { callbacks: usize },
    Cancel,
    Insufficient,
    Late,
}

fn outcome_of(number: &WalletNumber) -> Outcome {
    match number.last4() {
        "0002" => Outcome::Cancel,
        "9995" => Outcome::Insufficient,
        "0119" => Outcome::Late,
        "0333" => Outcome::Success {
            callbacks: DUPLICATE_CALLBACKS,
        },
        "0259" => Outcome::Success { callbacks: 0 },
        _ => Outcome::Success { callbacks: 1 },
    }
}

async fn approve(
    State(wp): State<Wp>,
    Path(id): Path<String>,
    body: JsonBody<ApproveBody>,
) -> WpResult<Json<PaymentView>> {
    let Json(body) = body.map_err(|e| Fail::invalid(e.body_text()))?;
    let p = payment(&wp, &id).await?;
    let raw = body.number.unwrap_or_else(|| p.payer_reference.clone());
    let number =
        WalletNumber::parse(&raw).map_err(|e| Fail::invalid(format!("number: {}", e.message)))?;
    let open = [WalletState::Initiated];
    let (to, callbacks) = match outcome_of(&number) {
        Outcome::Success { callbacks } => (WalletState::Completed, callbacks),
        Outcome::Cancel => (WalletState::Cancelled, 1),
        Outcome::Insufficient => (WalletState::Failed, 1),
        Outcome::Late => (WalletState::Processing, 0),
    };
    let trx = (to == WalletState::Completed).then(|| random_id("TRX"));
    let Some(moved) = wp
        .ledger
        .advance(&id, &open, to, Some(number.to_string()), trx, now(&wp))
        .await?
    else {
        return Err(Fail::conflict(format!(
            "payment '{id}' is {} and cannot be approved",
            payment(&wp, &id).await?.status
        )));
    };
    if to == WalletState::Processing {
        let wp = wp.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wp.settings.late_delay).await;
            let done = wp
                .ledger
                .advance(
                    &id,
                    &[WalletState::Processing],
                    WalletState::Completed,
                    None,
                    Some(random_id("TRX")),
                    now(&wp),
                )
                .await;
            match done {
                Ok(Some(p)) => deliver(&wp, &p, 1).await,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "mock wallet could not complete a late payment")
                }
            }
        });
    } else if callbacks > 0 {
        let wp = wp.clone();
        let p = moved.clone();
        tokio::spawn(async move { deliver(&wp, &p, callbacks).await });
    }
    Ok(Json(moved))
}

async fn passenger_cancel(
    State(wp): State<Wp>,
    Path(id): Path<String>,
) -> WpResult<Json<PaymentView>> {
    match cancel(&wp, &id).await? {
        (p, true) => {
            let wp2 = wp.clone();
            let sent = p.clone();
            tokio::spawn(async move { deliver(&wp2, &sent, 1).await });
            Ok(Json(p))
        }
        (p, false) => Ok(Json(p)),
    }
}

/// The merchant gives up on an unpaid payment (no callback: it asked).
async fn merchant_cancel(
    State(wp): State<Wp>,
    Path(id): Path<String>,
) -> WpResult<Json<PaymentView>> {
    Ok(Json(cancel(&wp, &id).await?.0))
}

/// Cancels an initiated payment; a cancelled one stays so (the answer repeats,
/// `false`); a processing or completed one cannot be.
async fn cancel(wp: &Wp, id: &str) -> WpResult<(PaymentView, bool)> {
    let moved = wp
        .ledger
        .advance(
            id,
            &[WalletState::Initiated],
            WalletState::Cancelled,
            None,
            None,
            now(wp),
        )
        .await?;
    if let Some(p) = moved {
        return Ok((p, true));
    }
    let p = payment(wp, id).await?;
    match p.status {
        WalletState::Cancelled => Ok((p, false)),
        other => Err(Fail::conflict(format!(
            "payment '{id}' is {other} and cannot be cancelled"
        ))),
    }
}

async fn refund(
    State(wp): State<Wp>,
    Path(id): Path<String>,
    body: JsonBody<WalletRefundBody>,
) -> WpResult<Json<PaymentView>> {
    let Json(body) = body.map_err(|e| Fail::invalid(e.body_text()))?;
    if body.total < 0 {
        return Err(Fail::invalid("total: must not be negative"));
    }
    match wp.ledger.refund(&id, body.total).await? {
        Some(p) => Ok(Json(p)),
        None => Err(Fail::not_found(format!("no payment '{id}'"))),
    }
}

async fn summary(State(wp): State<Wp>) -> WpResult<Json<WalletLedgerSummary>> {
    Ok(Json(wp.ledger.summary().await?))
}

async fn list(State(wp): State<Wp>) -> WpResult<Json<PaymentList>> {
    Ok(Json(PaymentList {
        payments: wp.ledger.payments().await?,
    }))
}

/// Posts `p`'s outcome to its merchant, `copies` times at once (each signed
/// afresh), each retried with backoff until the merchant answers 2xx; a 4xx
/// other than 408/429 is final (the merchant refused it).
async fn deliver(wp: &Wp, p: &PaymentView, copies: usize) {
    let url = match wp.ledger.callback_url(&p.payment_id).await {
        Ok(Some(u)) => u,
        _ => return,
    };
    let body = WalletCallback {
        payment_id: p.payment_id.clone(),
        merchant_invoice: p.merchant_invoice.clone(),
        status: p.status,
        amount: p.amount,
        trx_id: p.trx_id.clone(),
    };
    let bytes = match serde_json::to_vec(&body) {
        Ok(b) => b,
        Err(_) => return,
    };
    let sends = (0..copies).map(|_| send_with_retries(wp, &url, &bytes));
    futures_util::future::join_all(sends).await;
}

async fn send_with_retries(wp: &Wp, url: &str, body: &[u8]) {
    let s = &wp.settings;
    let mut backoff = s.callback_backoff;
    for attempt in 1..=s.callback_attempts.max(1) {
        let signature = rules::sign(s.merchant_key.as_bytes(), now(wp), body);
        let sent = wp
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(rules::SIGNATURE_HEADER, signature)
            .timeout(Duration::from_secs(10))
            .body(body.to_vec())
            .send()
            .await;
        let _ = wp.ledger.count_callback().await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r)
                if r.status().is_client_error()
                    && r.status() != StatusCode::REQUEST_TIMEOUT
                    && r.status() != StatusCode::TOO_MANY_REQUESTS =>
            {
                tracing::warn!(status = %r.status(), url, "merchant refused a wallet callback");
                return;
            }
            other => {
                let why = match other {
                    Ok(r) => r.status().to_string(),
                    Err(e) => e.to_string(),
                };
                tracing::info!(attempt, why, url, "wallet callback not taken; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// The mock provider on a loopback port of its own, for a `serve` given no
/// wallet URL.
pub async fn embedded(
    ledger: Ledger,
    settings: WalletSettings,
) -> std::io::Result<super::Embedded> {
    super::serve_embedded(router(ledger, settings)).await
}
