//! Orders: the confirmation with the QR tickets, a printable ticket page,
//! "my trips", and cancellation that shows the refund before it is done.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::i18n::{Lang, Msg};
use super::layout::{self, csrf_field, error_box, ok_box};
use super::pages;
use super::results::class_name;
use super::session::Visit;
use crate::adapters::qr;
use crate::app::App;
use crate::domain::{OrderId, OrderStatus, TicketId};
use crate::wire::booking::OrderView;

fn order_id(raw: &str) -> Option<OrderId> {
    raw.parse().ok()
}

/// The signed-in visitor's order `raw`, or the page that says why not.
async fn load(app: &App, v: Visit, raw: &str, path: &str) -> Result<(Visit, OrderView), Response> {
    let Some(user) = v.user_id() else {
        return Err(pages::signin_redirect(v, path));
    };
    let Some(id) = order_id(raw) else {
        return Err(pages::problem_page(
            v,
            StatusCode::NOT_FOUND,
            "no such order",
        ));
    };
    let view = match app.order_of(id, user, false).await {
        Ok(order) => app.order_view(&order).await,
        Err(e) => Err(e),
    };
    match view {
        Ok(view) => Ok((v, view)),
        Err(e) => Err(pages::app_error(v, path, e)),
    }
}

fn status_word(l: Lang, s: OrderStatus) -> String {
    match (l, s) {
        (Lang::Bn, OrderStatus::Confirmed) => "নিশ্চিত".into(),
        (Lang::Bn, OrderStatus::Failed) => "ব্যর্থ".into(),
        (Lang::Bn, OrderStatus::Refunded) => "ফেরত দেওয়া হয়েছে".into(),
        (Lang::Bn, OrderStatus::Cancelled) => "বাতিল".into(),
        _ => format!("{s:?}").to_lowercase(),
    }
}

fn summary(l: Lang, o: &OrderView) -> Markup {
    html! {
        p { strong { (l.t(Msg::Order)) " " (l.num(o.order_id)) } " · " (l.num(o.train)) " · "
            (o.from) " → " (o.to) " · " (class_name(l, o.class.code())) }
        p { (l.date_time(&o.departs)) }
        p { (l.t(Msg::Status)) ": " strong.order-status { (status_word(l, o.status)) }
            " · " (l.t(Msg::Total)) " " (l.taka(o.amount)) }
        @if o.refunded > 0 { p.refund { (l.t(Msg::Refunded)) " " strong { (l.taka(o.refunded)) } } }
    }
}

fn tickets(l: Lang, o: &OrderView) -> Markup {
    html! {
        div.tickets {
            @for t in &o.tickets {
                article.card.ticket {
                    p { (l.t(Msg::Ticket)) " · " (l.t(Msg::Seat)) " " strong { (t.seat) } }
                    p { (l.t(Msg::Pnr)) " " strong.pnr { (t.pnr) } " · " (format!("{:?}", t.status).to_lowercase()) }
                    img.qr src=(format!("/tickets/{}/qr.svg", t.ticket_id)) alt=(format!("QR {}", t.pnr)) width="240" height="240";
                }
            }
        }
    }
}

/// `GET /orders/{id}`: the outcome of a payment, and the tickets.
pub async fn page(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let path = format!("/orders/{id}");
    let v = Visit::of(&app, &headers).await;
    let (v, o) = match load(&app, v, &id, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let l = v.lang;
    let issuing = o.status == OrderStatus::Confirmed && o.tickets.is_empty();
    let body = html! {
        @match o.status {
            OrderStatus::Confirmed => { h1 { (l.t(Msg::Confirmed)) } }
            OrderStatus::Failed => {
                h1 { (l.t(Msg::Payment)) }
                (error_box(l.t(Msg::Declined)))
                @if let Some(f) = &o.failure { p.muted { (f) } }
            }
            _ => { h1 { (l.t(Msg::Order)) " " (l.num(o.order_id)) } }
        }
        div.card { (summary(l, &o)) }
        @if issuing { (ok_box(l.t(Msg::TicketsComing))) }
        (tickets(l, &o))
        div.noprint {
            @if !o.tickets.is_empty() && o.status == OrderStatus::Confirmed {
                a.button href=(format!("{path}/print")) { (l.t(Msg::Print)) }
                a.button.secondary href=(format!("{path}/cancel")) { (l.t(Msg::Cancel)) }
            }
            a.button.secondary href="/my/trips" { (l.t(Msg::MyTrips)) }
        }
    };
    let page = layout::page(&v, &path, l.t(Msg::Order), issuing.then_some(1), body);
    pages::html(v, StatusCode::OK, page)
}

/// `GET /orders/{id}/print`: the tickets alone, laid out for paper.
pub async fn print(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let path = format!("/orders/{id}/print");
    let v = Visit::of(&app, &headers).await;
    let (v, o) = match load(&app, v, &id, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let l = v.lang;
    let body = html! {
        h1 { (l.t(Msg::AppName)) }
        div.card { (summary(l, &o)) }
        (tickets(l, &o))
        button type="button" data-print hidden { (l.t(Msg::Print)) }
    };
    let page = layout::page(&v, &path, l.t(Msg::Print), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `GET /orders/{id}/cancel`: what would be refunded, and a confirm button.
pub async fn cancel_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/orders/{id}/cancel");
    let v = Visit::of(&app, &headers).await;
    let (v, o) = match load(&app, v, &id, &path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &path);
    };
    let quote = match app.refund_quote(o.order_id, user).await {
        Ok(q) => q,
        Err(e) => return pages::app_error(v, &path, e),
    };
    let l = v.lang;
    let body = html! {
        h1 { (l.t(Msg::CancelTitle)) }
        div.card { (summary(l, &o)) }
        p.card { (l.t(Msg::RefundQuote)) " " strong.big #quote { (l.taka(quote)) } }
        form method="post" action=(path) {
            (csrf_field(&v))
            button.danger type="submit" { (l.t(Msg::ConfirmCancel)) }
            a.button.secondary href=(format!("/orders/{}", o.order_id)) { (l.t(Msg::KeepOrder)) }
        }
    };
    let page = layout::page(&v, &path, l.t(Msg::CancelTitle), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `POST /orders/{id}/cancel`: cancels and shows the order with its refund.
pub async fn cancel(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let path = format!("/orders/{id}/cancel");
    let (v, _) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &path);
    };
    let Some(order) = order_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such order");
    };
    match app.cancel_order(order, user, false).await {
        Ok(_) => pages::see_other(v, &format!("/orders/{order}")),
        Err(e) => pages::app_error(v, &path, e),
    }
}

/// `GET /my/trips`: every order, newest first.
pub async fn my_trips(State(app): State<App>, headers: HeaderMap) -> Response {
    let path = "/my/trips";
    let v = Visit::of(&app, &headers).await;
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, path);
    };
    let mut orders = match app.orders_of(user).await {
        Ok(o) => o,
        Err(e) => return pages::app_error(v, path, e),
    };
    orders.sort_by_key(|o| std::cmp::Reverse(o.order_id));
    let l = v.lang;
    let body = html! {
        h1 { (l.t(Msg::MyTrips)) }
        @if orders.is_empty() { p.card { (l.t(Msg::NoTrips)) } }
        @for o in &orders {
            article.card.trip {
                (summary(l, o))
                a.button.secondary href=(format!("/orders/{}", o.order_id)) { (l.t(Msg::View)) }
            }
        }
    };
    let page = layout::page(&v, path, l.t(Msg::MyTrips), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `GET /tickets/{id}/qr.svg`: the ticket's QR code, for its owner.
pub async fn qr(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let v = Visit::of(&app, &headers).await;
    let (Some(user), Some(id)) = (v.user_id(), id.parse::<TicketId>().ok()) else {
        return (StatusCode::NOT_FOUND, "no such ticket").into_response();
    };
    let svg = match app.ticket_for(id, user, false).await {
        Ok(t) => qr::svg(&t.payload).ok(),
        Err(_) => None,
    };
    match svg {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            svg,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such ticket").into_response(),
    }
}
