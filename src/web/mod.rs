//! The passenger web app, served by `serve` at `/`: server-rendered pages
//! (maud templates compiled into the binary) that work without JavaScript,
//! in English and Bangla, over the same app use cases as the JSON API.
//!
//! Like the API's handlers, these are thin: read the form, call the app,
//! render. Rules stay in `app` and `domain`; no SQL here.

mod account;
mod assets;
mod checkout;
mod headers;
mod i18n;
mod layout;
mod messages;
mod orders;
mod pages;
mod results;
mod search;
mod session;
mod trip;
mod waiting;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::app::App;
use i18n::Lang;
use session::Visit;

/// Largest form accepted: the biggest (registration) is well under 2 KiB.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Every page and asset of the web app, with its security headers.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(search::home))
        .route("/search", get(results::page))
        .route("/lang/{code}", get(switch_language))
        .route("/assets/{version}/{file}", get(assets::serve))
        .route("/signin", get(account::signin_page).post(account::signin))
        .route(
            "/register",
            get(account::register_page).post(account::register),
        )
        .route("/signout", post(account::signout))
        .route("/trips/{id}", get(trip::page))
        .route("/trips/{id}/hold", post(trip::hold))
        .route("/holds/{id}", get(checkout::page))
        .route("/holds/{id}/pay", post(checkout::pay))
        .route("/holds/{id}/release", post(checkout::release))
        .route("/orders/{id}", get(orders::page))
        .route("/orders/{id}/print", get(orders::print))
        .route(
            "/orders/{id}/cancel",
            get(orders::cancel_page).post(orders::cancel),
        )
        .route("/my/trips", get(orders::my_trips))
        .route("/tickets/{id}/qr.svg", get(orders::qr))
        .route("/queue/{sale}", get(waiting::room))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            headers::secure,
        ))
        .with_state(app)
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// `GET /lang/{en|bn}?back=/path`: keeps the choice in a cookie and goes back.
/// A link, not a form: choosing a language changes nothing worth forging.
async fn switch_language(
    State(app): State<App>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let mut v = Visit::of(&app, &headers).await;
    let Some(lang) = Lang::parse(&code) else {
        return pages::problem(&v, StatusCode::NOT_FOUND, "language: en or bn");
    };
    v.set_lang(lang);
    let back = layout::safe_back(q.back.as_deref());
    v.finish(Redirect::to(&back).into_response())
}
