//! Booking endpoints: holds, card tokens, orders (with Idempotency-Key),
//! cancellation, tickets with QR codes, and ticket verification.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::adapters::qr;
use crate::app::booking::OrderAnswer;
use crate::app::{App, AppError};
use crate::domain::{HoldId, OrderId, ParseError, Role, TicketId, UserId};
use crate::store::RecordedAnswer;
use crate::wire::admin::AuditReport;
use crate::wire::booking::{
    GatewayInfo, HoldRequest, HoldView, OrderList, OrderRequest, OrderView, TokenRequest, TokenView,
};
use crate::wire::problem::Problem;
use crate::wire::tickets::{TicketKey, TicketView, Verdict, VerifyRequest};

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

#[utoipa::path(post, path = "/v1/holds", tag = "booking", security(("bearer" = [])),
    params(("Admission-Token" = Option<String>, Header, description = "The waiting room's admission token (`GET /v1/queue/{sale}/status` once admitted); required for trips in a queued sale"), ("X-Step-Up-Code" = Option<String>, Header, description = "A step-up code (TOTP, or the SMS code from `POST /v1/me/step-up/sms`) answering a `step-up-required` problem")),
    request_body = HoldRequest,
    responses(
        (status = 201, description = "The seats are held until `expires_at`", body = HoldView),
        (status = 403, description = "`forbidden`: the trip is in a queued sale and the admission token is missing or not valid; `nid-required`: the account has no NID; `nid-flagged`: its NID is flagged; `step-up-required` (`methods`, `rule`, `reason`): send again with `X-Step-Up-Code`; `risk-blocked` (`rule`, `reason`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such trip", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`seats-unavailable` (with `seats`), `nid-limit` (seats per NID per trip or per day: `limit`, `max`, `already`) or `conflict` (sale not open, departed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`, `unknown-station` or `invalid-body`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`hold-limit` (unexpired holds per account or address) or `rate-limited`", body = Problem, content_type = "application/problem+json"),
    ))]
/// The client's address caps its unexpired holds (with the account's own cap).
pub async fn create_hold(
    State(app): State<App>,
    caller: Caller,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<HoldRequest>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    super::risk::step_up(&app, &caller, &headers).await?;
    let view = app
        .hold_seats_from(caller.id(), req, admission(&headers), client)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/holds/{id}", tag = "booking", security(("bearer" = [])),
    params(("id" = HoldId, Path, description = "The hold")),
    responses(
        (status = 200, description = "The caller's hold", body = HoldView),
        (status = 404, description = "`not-found` (also for another user's hold)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_hold(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<Json<HoldView>> {
    Ok(Json(app.hold(caller.id(), id).await?))
}

#[utoipa::path(delete, path = "/v1/holds/{id}", tag = "booking", security(("bearer" = [])),
    params(("id" = HoldId, Path, description = "The hold")),
    responses(
        (status = 204, description = "Released: its seats are free again"),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already ordered, released or expired", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn release_hold(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<StatusCode> {
    app.release_hold(caller.id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/payments/gateway", tag = "booking",
    responses(
        (status = 200, description = "Where clients tokenize cards: the card gateway, never this server", body = GatewayInfo),
    ))]
/// Public: a client (or a browser page) posts the card straight to the gateway.
pub async fn card_gateway(State(app): State<App>) -> ApiResult<Json<GatewayInfo>> {
    let e = app.card_gateway()?;
    Ok(Json(GatewayInfo {
        tokens_url: e.tokens_url,
        publishable_key: e.publishable_key,
    }))
}

/// Fields of a card: a body carrying any of them is refused, so a client
/// that still sends cards here learns where they go.
const CARD_FIELDS: [&str; 5] = ["number", "cvc", "exp_month", "exp_year", "card"];

#[utoipa::path(post, path = "/v1/payments/tokens", tag = "booking", security(("bearer" = [])),
    params(("X-Step-Up-Code" = Option<String>, Header, description = "A step-up code (TOTP, or the SMS code from `POST /v1/me/step-up/sms`) answering a `step-up-required` problem")),
    request_body = TokenRequest,
    responses(
        (status = 403, description = "`step-up-required` (`methods`, `rule`, `reason`): send again with `X-Step-Up-Code`; `risk-blocked` (`rule`, `reason`)", body = Problem, content_type = "application/problem+json"),
        (status = 201, description = "The gateway's token, registered to pay this account's orders with", body = TokenView),
        (status = 422, description = "`invalid-field`: card details sent here (they go to the gateway), or a token the gateway did not issue; `invalid-body`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the card gateway cannot be reached to check the token", body = Problem, content_type = "application/problem+json"),
    ))]
/// Checks the token at the gateway and keeps its brand, last four and expiry.
pub async fn register_token(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    if let Some(field) = CARD_FIELDS.into_iter().find(|f| body.get(f).is_some()) {
        return Err(AppError::Invalid(ParseError::new(
            field,
            "card details go to the card gateway, never to this server: POST the card to \
             the gateway (GET /v1/payments/gateway says where) and send its token here \
             as {\"gateway_token\": \"tok_…\"}",
        ))
        .into());
    }
    let b: TokenRequest = serde_json::from_value(body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Invalid request body",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })?;
    super::risk::step_up(&app, &caller, &headers).await?;
    let token = app
        .register_card_token(caller.id(), &b.gateway_token)
        .await?;
    Ok((StatusCode::CREATED, Json(token)))
}

#[utoipa::path(post, path = "/v1/orders", tag = "booking", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per order (a UUID); a retry with the same key and body gets the same answer and is charged once. At most 255 characters"), ("Admission-Token" = Option<String>, Header, description = "The waiting room's admission token (`GET /v1/queue/{sale}/status` once admitted); required for trips in a queued sale"), ("X-Step-Up-Code" = Option<String>, Header, description = "A step-up code (TOTP, or the SMS code from `POST /v1/me/step-up/sms`) answering a `step-up-required` problem")),
    request_body = OrderRequest,
    responses(
        (status = 201, description = "Paid and confirmed; tickets follow (`GET /v1/orders/{id}`)", body = OrderView),
        (status = 202, description = "Paid by `wallet`: `awaiting_payment`; send the passenger to `wallet.redirect_url`; the outcome follows (`GET /v1/orders/{id}`)", body = OrderView),
        (status = 400, description = "`idempotency-key-missing`, `malformed-json`, `invalid-query`", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "`payment-failed`: the card was declined; `order` is the failed order and its seats are free again", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: admission token missing or not valid for a queued sale; `step-up-required` (`methods`, `rule`, `reason`): send again with `X-Step-Up-Code`; `risk-blocked` (`rule`, `reason`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: no such hold (or not the caller's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`order-in-progress` (a request with this key is still running, `Retry-After`), `conflict` (hold expired or already ordered)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency-key-reused` (same key, another body), `invalid-field`, `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn place_order(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<OrderRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    super::risk::step_up(&app, &caller, &headers).await?;
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
pub(super) const MAX_IDEMPOTENCY_KEY: usize = 255;

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

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "booking", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses(
        (status = 200, description = "The order (the caller's own; staff see any)", body = OrderView),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<OrderView>> {
    let order = app.order_of(id, caller.id(), is_staff(&caller)).await?;
    Ok(Json(app.order_view(&order).await?))
}

#[utoipa::path(get, path = "/v1/me/orders", tag = "booking", security(("bearer" = [])),
    responses((status = 200, description = "The caller's orders, newest first", body = OrderList)))]
pub async fn my_orders(State(app): State<App>, caller: Caller) -> ApiResult<Json<OrderList>> {
    let orders = app.orders_of(caller.id()).await?;
    Ok(Json(OrderList { orders }))
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "booking", security(("bearer" = [])),
    params(("id" = OrderId, Path, description = "The order")),
    responses(
        (status = 200, description = "Cancelled, refunded by the cancellation table", body = OrderView),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: not confirmed, or departed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_order(
    State(app): State<App>,
    caller: Caller,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(
        app.cancel_order(id, caller.id(), is_staff(&caller)).await?,
    ))
}

#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "The ticket")),
    responses(
        (status = 200, description = "The ticket with its signed payload", body = TicketView),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
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

#[utoipa::path(get, path = "/v1/tickets/{id}/qr.png", tag = "tickets", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "The ticket")),
    responses(
        (status = 200, description = "The ticket's QR code", content_type = "image/png", body = Vec<u8>),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
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

#[utoipa::path(get, path = "/v1/tickets/{id}/qr.svg", tag = "tickets", security(("bearer" = [])),
    params(("id" = TicketId, Path, description = "The ticket")),
    responses(
        (status = 200, description = "The ticket's QR code", content_type = "image/svg+xml", body = String),
        (status = 404, description = "`not-found`", body = Problem, content_type = "application/problem+json"),
    ))]
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

#[utoipa::path(post, path = "/v1/tickets/verify", tag = "tickets", request_body = VerifyRequest,
    responses((status = 200, description = "The verdict (a forged or malformed payload is a verdict, not an error)", body = Verdict)))]
/// For inspectors: is this ticket genuine and still valid?
pub async fn verify_ticket(
    State(app): State<App>,
    ApiJson(b): ApiJson<VerifyRequest>,
) -> ApiResult<Json<Verdict>> {
    Ok(Json(app.verify_ticket(&b.payload).await?))
}

#[utoipa::path(get, path = "/v1/tickets/public-key", tag = "tickets",
    responses((status = 200, description = "The Ed25519 key tickets are signed with", body = TicketKey)))]
/// The key inspectors' devices use to check tickets offline.
pub async fn public_key(State(app): State<App>) -> Json<TicketKey> {
    Json(TicketKey {
        algorithm: "Ed25519".to_owned(),
        public_key: app.ticket_public_key(),
    })
}

#[utoipa::path(get, path = "/v1/admin/audit/verify", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether the audit log's hash chain holds", body = AuditReport),
        (status = 403, description = "`forbidden`: admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit_verify(State(app): State<App>, caller: Caller) -> ApiResult<Json<AuditReport>> {
    caller.require(Role::Admin)?;
    Ok(Json(AuditReport::from(app.verify_audit().await?)))
}
