//! Answering with a page: the status, the HTML, the cookies the visit set;
//! and app errors as pages a passenger can read (the same statuses as the
//! API's problems, so bad input is still a 4xx).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::i18n::Msg;
use super::layout::{self, encode, error_box};
use super::session::Visit;
use crate::app::AppError;
use crate::server::error::ApiError;

/// `markup` with `status`, and the visit's cookies. Pages are personal
/// (sign-in, CSRF token): never stored by shared caches.
pub fn html(v: Visit, status: StatusCode, markup: Markup) -> Response {
    let res = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
        .into_response();
    v.finish(res)
}

/// A page that says what went wrong, with a way back.
pub fn problem(v: &Visit, status: StatusCode, text: &str) -> Response {
    let l = v.lang;
    let body = html! {
        h1 { (l.t(Msg::Error)) }
        (error_box(text))
        a.button href="/" { (l.t(Msg::BackToSearch)) }
    };
    let markup = layout::page(v, "/", l.t(Msg::Error), None, body);
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// Like `problem`, keeping the visit's cookies.
pub fn problem_page(v: Visit, status: StatusCode, text: &str) -> Response {
    let res = problem(&v, status, text);
    v.finish(res)
}

/// The status an app error gets (the API's mapping) and the text to show:
/// the app's own words for a passenger's mistake, never an internal cause.
pub fn explain(v: &Visit, e: AppError) -> (StatusCode, String) {
    let said = e.to_string();
    let passing = matches!(e, AppError::Unavailable { .. } | AppError::Overloaded(_));
    let status = ApiError::from(e).status();
    let text = if status.is_server_error() && !passing {
        v.lang.t(Msg::Error).to_owned()
    } else {
        said
    };
    (status, text)
}

/// An app error as a page; a sign-in that lapsed goes to the sign-in page.
pub fn app_error(v: Visit, path: &str, e: AppError) -> Response {
    if matches!(e, AppError::Unauthorized(_)) {
        return signin_redirect(v, path);
    }
    let (status, text) = explain(&v, e);
    problem_page(v, status, &text)
}

/// To the sign-in page, coming back to `path` after.
pub fn signin_redirect(v: Visit, path: &str) -> Response {
    v.finish(Redirect::to(&format!("/signin?back={}", encode(path))).into_response())
}

/// After a form: to `to` with a GET (so a reload never posts twice).
pub fn see_other(v: Visit, to: &str) -> Response {
    v.finish(Redirect::to(to).into_response())
}

/// A form whose CSRF field does not match the visitor's cookie.
pub fn forged(v: Visit) -> Response {
    let text = v.lang.t(Msg::FormExpired);
    problem_page(v, StatusCode::FORBIDDEN, text)
}
