//! Booking endpoints: holds, card tokens, orders (with Idempotency-Key),
//! cancellation, tickets with QR codes, and ticket verification.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::adapters::qr;
use crate::app::booking::OrderAnswer;
use crate::app::payments::CardInput;
use crate::app::{App, AppError};
use crate::domain::{HoldId, OrderId, Role, TicketId, UserId};
use crate::store::RecordedAnswer;
use crate::wire::booking::{
    CardRequest, HoldRequest, HoldView, OrderList, OrderRequest, OrderView, TokenView,
};
use crate::wire::tickets::{TicketView, Verdict, VerifyRequest};

use super::auth::Caller;
use super::client_addr::ClientAddr;
use super::error::{ApiError, ApiResult, render_order_outcome};
use super::extract::{ApiJson, ApiPath};

fn is_staff(caller: &Caller) -> bool {
    caller.require(Role::Clerk).is_ok()
}

/// The waiting-room token, for trips in a queued sale.
fn admission(headers: &HeaderMap) -> Option<&str> {
    headers.get("admission-token").and_then(|v| v.to_str().ok())
}

/// The client's address caps its unexpired holds (with the account's own cap).
pub async fn create_hold(
    State(app): State<App>,
    caller: Caller,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<HoldRequest>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let view = app
        .hold_seats_from(caller.id(), req, admission(&headers), client)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn get_hold(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<Json<HoldView>> {
    Ok(Json(app.hold(caller.id(), id).await?))
}

pub async fn release_hold(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<StatusCode> {
    app.release_hold(caller.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The card number and CVC exist only in this request; they are never logged or stored.
pub async fn tokenize(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<CardRequest>,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    let card = CardInput {
        number: b.number,
        exp_month: b.exp_month,
        exp_year: b.exp_year,
        cvc: b.cvc,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.tokenize_card(caller.id(), card).await?),
    ))
}

pub async fn place_order(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<OrderRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let answer = app
        .place_order(
            caller.id(),
            key,
            req,
            admission(&headers),
            render_order_outcome,
        )
        .await?;
    answer_order(&app, caller.id(), key, answer).await
}

/// Answers an order request: a settled outcome is rendered here and recorded
/// under its Idempotency-Key first (an order confirmed at once comes with its
/// answer recorded already), and what is recorded is what is sent, so every
/// request with the key gets the same bytes (see `app::booking::outcome`).
pub(super) async fn answer_order(
    app: &App,
    user_id: UserId,
    key: &str,
    answer: OrderAnswer,
) -> ApiResult<Response> {
    let recorded = match answer {
        OrderAnswer::Recorded(recorded) => recorded,
        OrderAnswer::Settled(outcome) => {
            app.record_order_answer(user_id, key, render_order_outcome(*outcome))
                .await?
        }
    };
    Ok(recorded_response(recorded))
}

/// The `Idempotency-Key` every order needs, so a retry never sells or charges twice.
/// It is stored with the order, so its length is bounded like any text field.
pub(super) fn idempotency_key(headers: &HeaderMap) -> ApiResult<&str> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-missing",
                "Idempotency-Key required",
                "send a unique 'Idempotency-Key' header so a retried order is never charged twice",
            )
        })?;
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid value",
            format!("Idempotency-Key: at most {MAX_IDEMPOTENCY_KEY} characters"),
        )
        .with(serde_json::json!({ "field": "Idempotency-Key" })));
    }
    Ok(key)
}

/// Longest Idempotency-Key accepted (a UUID is 36; room for other schemes).
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A recorded answer as a response, its body sent as it was recorded: 201
/// with the order (JSON), or a problem (402 payment-failed).
fn recorded_response(recorded: RecordedAnswer) -> Response {
    let status = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_client_error() {
        "application/problem+json"
    } else {
        "application/json"
    };
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        recorded.body,
    )
        .into_response()
}

pub async fn get_order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<OrderView>> {
    let order = app.order_of(id, caller.id(), is_staff(&caller)).await?;
    Ok(Json(app.order_view(&order).await?))
}

pub async fn my_orders(State(app): State<App>, caller: Caller) -> ApiResult<Json<OrderList>> {
    let orders = app.orders_of(caller.id()).await?;
    Ok(Json(OrderList { orders }))
}

pub async fn cancel_order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(
        app.cancel_order(id, caller.id(), is_staff(&caller)).await?,
    ))
}

pub async fn get_ticket(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TicketId>,
) -> ApiResult<Json<TicketView>> {
    let ticket = app.ticket_for(id, caller.id(), is_staff(&caller)).await?;
    Ok(Json(app.ticket_view(&ticket)?))
}

/// A signed payload that cannot be drawn is our fault, never the caller's.
fn qr_failed(e: qr::QrError) -> ApiError {
    AppError::Internal(e.to_string()).into()
}

pub async fn ticket_png(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TicketId>,
) -> ApiResult<Response> {
    let ticket = app.ticket_for(id, caller.id(), is_staff(&caller)).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/png")],
        qr::png(&ticket.payload).map_err(qr_failed)?,
    )
        .into_response())
}

pub async fn ticket_svg(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<TicketId>,
) -> ApiResult<Response> {
    let ticket = app.ticket_for(id, caller.id(), is_staff(&caller)).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        qr::svg(&ticket.payload).map_err(qr_failed)?,
    )
        .into_response())
}

/// For inspectors: is this ticket genuine and still valid?
pub async fn verify_ticket(
    State(app): State<App>,
    ApiJson(b): ApiJson<VerifyRequest>,
) -> ApiResult<Json<Verdict>> {
    Ok(Json(app.verify_ticket(&b.payload).await?))
}

/// The key inspectors' devices use to check tickets offline.
pub async fn public_key(State(app): State<App>) -> Json<Value> {
    Json(json!({ "algorithm": "Ed25519", "public_key": app.ticket_public_key() }))
}

pub async fn audit_verify(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Role::Admin)?;
    Ok(Json(
        serde_json::to_value(app.verify_audit().await?).expect("serialisable"),
    ))
}
