//! The held seats: how long they stay held (the expiry time, and a live
//! countdown where scripts run), the passengers' names and the payment.
//!
//! The card never reaches this server: its fields have no `name`, so a form
//! submission cannot carry them; the page's script posts them to the card
//! gateway (allowed by the page's `connect-src`) and submits only the token.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::i18n::{Lang, Msg};
use super::layout::{self, csrf_field};
use super::pages;
use super::results::{class_name, field};
use super::session::Visit;
use super::waiting;
use crate::app::booking::{OrderAnswer, OrderOutcome};
use crate::app::{App, AppError, AppResult};
use crate::domain::{HoldId, HoldStatus, OrderId, UserId};
use crate::server::error::render_order_outcome;
use crate::wire::booking::{OrderRequest, PassengerBody};

fn hold_id(raw: &str) -> Option<HoldId> {
    raw.parse().ok()
}

/// `GET /holds/{id}`.
pub async fn page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let v = Visit::of(&app, &headers).await;
    let path = format!("/holds/{id}");
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &path);
    };
    let Some(id) = hold_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such hold");
    };
    let hold = match app.hold(user, id).await {
        Ok(h) => h,
        Err(e) => return pages::app_error(v, &path, e),
    };
    let l = v.lang;
    let gateway = app.card_gateway().ok();
    let active = hold.status == HoldStatus::Active;
    let body = html! {
        h1 { (l.t(Msg::Held)) }
        div.card {
            p { (l.num(hold.train)) " · " (hold.from) " → " (hold.to) " · " (class_name(l, hold.class.code())) }
            p { (l.t(Msg::Seat)) ": " strong #held-seats { (hold.seats.join(", ")) } }
            p { (l.t(Msg::HoldExpires)) " " strong #expires { (l.date_time(&hold.expires_at)) } }
            @if active {
                p { (l.t(Msg::TimeLeft)) " "
                    span.countdown role="timer" data-expires=(hold.expires_at) data-digits=(l.code()) {} }
            }
            p { (l.t(Msg::Total)) " " strong.big { (l.taka(hold.total)) } }
        }
        @if active {
            form #pay method="post" action=(format!("{path}/pay"))
                data-tokens-url=[gateway.as_ref().map(|g| g.tokens_url.as_str())]
                data-key=[gateway.as_ref().map(|g| g.publishable_key.as_str())] {
                (csrf_field(&v))
                input type="hidden" name="gateway_token" value="";
                fieldset.card {
                    legend { (l.t(Msg::Passengers)) }
                    @for (i, seat) in hold.seats.iter().enumerate() {
                        label for=(format!("passenger-{i}")) { (l.t(Msg::PassengerName)) " · " (seat) }
                        input id=(format!("passenger-{i}")) name="passenger" required maxlength="100" autocomplete="name";
                    }
                }
                fieldset.card {
                    legend { (l.t(Msg::Payment)) }
                    p.error data-needs-script { (l.t(Msg::NeedsScript)) }
                    div data-card-fields hidden {
                        (card_fields(l))
                        p.error role="alert" data-card-error hidden {}
                        button type="submit" { (l.t(Msg::Pay)) " " (l.taka(hold.total)) }
                    }
                }
            }
            form method="post" action=(format!("{path}/release")) {
                (csrf_field(&v))
                button.secondary type="submit" { (l.t(Msg::ReleaseHold)) }
            }
        }
    };
    let page = layout::page(&v, &path, l.t(Msg::Held), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// The card's fields, deliberately without `name`: read only by the script.
fn card_fields(l: Lang) -> maud::Markup {
    html! {
        p.hint { (l.t(Msg::CardNote)) }
        label for="card-number" { (l.t(Msg::CardNumber)) }
        input #card-number inputmode="numeric" autocomplete="cc-number" maxlength="23" required;
        label for="card-exp" { (l.t(Msg::CardExpiry)) }
        input #card-exp autocomplete="cc-exp" placeholder="12/30" maxlength="5" required;
        label for="card-cvc" { (l.t(Msg::CardCvc)) }
        input #card-cvc inputmode="numeric" autocomplete="cc-csc" maxlength="4" required;
    }
}

/// `POST /holds/{id}/pay`: registers the gateway's token, places the order
/// (keyed by the hold, so a double submission pays once) and shows it.
pub async fn pay(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/holds/{id}");
    let (v, f) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &path);
    };
    let Some(id) = hold_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such hold");
    };
    let passengers: Vec<PassengerBody> = f
        .iter()
        .filter(|(k, _)| k == "passenger")
        .map(|(_, n)| PassengerBody {
            name: n.trim().to_owned(),
            nid: None,
        })
        .collect();
    let token = field(&f, "gateway_token").unwrap_or("");
    if token.is_empty() {
        let text = v.lang.t(Msg::NeedsScript);
        return pages::problem_page(v, StatusCode::UNPROCESSABLE_ENTITY, text);
    }
    match place(&app, &headers, user, id, passengers, token).await {
        Ok(order) => pages::see_other(v, &format!("/orders/{order}")),
        Err(e) => pages::app_error(v, &path, e),
    }
}

async fn place(
    app: &App,
    headers: &HeaderMap,
    user: UserId,
    hold: HoldId,
    passengers: Vec<PassengerBody>,
    token: &str,
) -> AppResult<OrderId> {
    let card = app.register_card_token(user, token).await?;
    let view = app.hold(user, hold).await?;
    let sale = app.waiting_room().sale_of(view.trip_id).await?;
    let admission = sale.and_then(|s| waiting::admission(headers, &s));
    let key = format!("web-hold-{hold}");
    let req = OrderRequest {
        hold_id: hold,
        passengers,
        payment_token: Some(card.token),
        wallet: None,
    };
    let answer = app
        .place_order(user, &key, req, admission.as_deref(), render_order_outcome)
        .await?;
    let recorded = match answer {
        OrderAnswer::Recorded(r) => r,
        OrderAnswer::Settled(outcome) => {
            let order = match outcome.as_ref() {
                OrderOutcome::Confirmed(o)
                | OrderOutcome::PaymentFailed(o)
                | OrderOutcome::AwaitingPayment(o) => o.order_id,
            };
            app.record_order_answer(user, &key, render_order_outcome(*outcome))
                .await?;
            return Ok(order);
        }
    };
    // A recorded answer is the order itself, or a payment problem with it.
    let body: serde_json::Value = serde_json::from_str(&recorded.body)
        .map_err(|e| AppError::Internal(format!("recorded answer: {e}")))?;
    body.get("order_id")
        .or_else(|| body.get("order").and_then(|o| o.get("order_id")))
        .and_then(serde_json::Value::as_i64)
        .map(OrderId)
        .ok_or_else(|| AppError::Internal("recorded answer without an order".into()))
}

/// `POST /holds/{id}/release`: gives the seats back.
pub async fn release(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/holds/{id}");
    let (v, _) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &path);
    };
    let Some(id) = hold_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such hold");
    };
    match app.release_hold(user, id).await {
        Ok(()) => pages::see_other(v, "/"),
        Err(e) => pages::app_error(v, &path, e),
    }
}
