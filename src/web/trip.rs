//! The seat map of one journey: tick seats (checkboxes, so it works without
//! a script and by keyboard) or ask for the best ones; either holds them.
//! A trip in a queued sale sends the passenger to the waiting room first.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, csrf_field, encode};
use super::pages;
use super::results::{class_name, field, pairs};
use super::session::Visit;
use super::waiting;
use crate::app::{App, AppError};
use crate::domain::TripId;
use crate::server::client_addr::ClientAddr;
use crate::wire::booking::HoldRequest;

/// Most seats one hold may take (the API's limit).
const MAX_SEATS: usize = 4;

fn trip_id(raw: &str) -> Option<TripId> {
    raw.parse().ok()
}

/// `GET /trips/{id}?from=&to=&class=`.
pub async fn page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let v = Visit::of(&app, &headers).await;
    let path = format!("/trips/{id}?{}", raw.as_deref().unwrap_or(""));
    let Some(trip) = trip_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such trip");
    };
    let q = pairs(raw.as_deref());
    let (from, to) = (
        field(&q, "from").unwrap_or(""),
        field(&q, "to").unwrap_or(""),
    );
    let class = field(&q, "class").unwrap_or("");
    let map = match app.seat_map(trip, from, to, false).await {
        Ok(m) => m,
        Err(e) => return pages::app_error(v, &path, e),
    };
    let l = v.lang;
    let coaches: Vec<_> = map
        .coaches
        .iter()
        .filter(|c| class.is_empty() || c.class.code() == class)
        .collect();
    let title = format!(
        "{} {} · {}",
        l.num(map.train.number),
        map.train.name,
        l.t(Msg::SeatMap)
    );
    let body = html! {
        h1 { (title) }
        p.muted { (map.from.name) " → " (map.to.name) " · " (class_name(l, class)) }
        form method="post" action=(format!("/trips/{trip}/hold")) {
            (csrf_field(&v))
            input type="hidden" name="from" value=(map.from.code);
            input type="hidden" name="to" value=(map.to.code);
            input type="hidden" name="class" value=(class);
            p { (l.t(Msg::PickSeats)) }
            @for c in &coaches {
                fieldset.card.coach {
                    legend { (l.t(Msg::Coach)) " " (c.code) " · " (l.num(c.free)) " " (l.t(Msg::SeatsFree)) }
                    div.seats {
                        @for s in &c.seats {
                            label.seat {
                                input type="checkbox" name="seat" value=(s.seat) disabled[!s.free]
                                    data-taken=[(!s.free).then_some("1")];
                                span { (s.seat) @if !s.free { span.skip { " " (l.t(Msg::Taken)) } } }
                            }
                        }
                    }
                }
            }
            button type="submit" name="how" value="picked" { (l.t(Msg::HoldPicked)) }
            div.card {
                label for="count" { (l.t(Msg::HowMany)) }
                select #count name="count" {
                    @for n in 1..=MAX_SEATS { option value=(n) { (l.num(n)) } }
                }
                button.secondary type="submit" name="how" value="best" { (l.t(Msg::BestSeats)) }
            }
        }
    };
    let page = layout::page(&v, &path, &title, None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `POST /trips/{id}/hold`: holds the ticked seats (or the best `count`),
/// then to the hold's page.
pub async fn hold(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (v, f) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let Some(trip) = trip_id(&id) else {
        return pages::problem_page(v, StatusCode::NOT_FOUND, "no such trip");
    };
    let get = |name: &str| field(&f, name).unwrap_or("").to_owned();
    let back = format!(
        "/trips/{trip}?from={}&to={}&class={}",
        encode(&get("from")),
        encode(&get("to")),
        encode(&get("class"))
    );
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &back);
    };
    let seats: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "seat")
        .map(|(_, s)| s.clone())
        .collect();
    let best = field(&f, "how") == Some("best");
    let (seats, count) = if best {
        match get("count").parse::<u32>() {
            Ok(n) => (None, Some(n)),
            Err(_) => {
                return pages::problem_page(v, StatusCode::UNPROCESSABLE_ENTITY, "count: 1 to 4");
            }
        }
    } else if seats.is_empty() || seats.len() > MAX_SEATS {
        return pages::problem_page(
            v,
            StatusCode::UNPROCESSABLE_ENTITY,
            "seat: pick 1 to 4 seats",
        );
    } else {
        (Some(seats), None)
    };
    let sale = app.waiting_room().sale_of(trip).await;
    let admission = match &sale {
        Ok(Some(sale)) => match waiting::admission(&headers, sale) {
            Some(token) => Some(token),
            None => return pages::see_other(v, &waiting::room_url(sale, &back)),
        },
        Ok(None) => None,
        Err(_) => None,
    };
    let req = HoldRequest {
        trip_id: trip,
        from: get("from"),
        to: get("to"),
        class: get("class"),
        seats,
        count,
    };
    // The client's address caps its unexpired holds, as over the API.
    match app
        .hold_seats_from(user, req, admission.as_deref(), client)
        .await
    {
        Ok(hold) => pages::see_other(v, &format!("/holds/{}", hold.hold_id)),
        // An admission that lapsed: back to the room.
        Err(AppError::Forbidden(_)) if matches!(sale, Ok(Some(_))) => {
            let sale = sale.ok().flatten().unwrap_or_default();
            pages::see_other(v, &waiting::room_url(&sale, &back))
        }
        Err(e) => pages::app_error(v, &back, e),
    }
}
