//! Sign-in (with the authenticator code when the account has two-factor
//! on), registration (the NID is verified as over the API) and sign-out.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::Msg;
use super::layout::{self, csrf_field, error_box, ok_box, safe_back};
use super::pages;
use super::results::{field, pairs};
use super::session::{Visit, refresh_cookie};
use crate::app::identity::{NidInput, Registration};
use crate::app::{App, AppError};
use crate::domain::Role;

/// The fields of a posted form.
pub fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn signin_form(
    v: &Visit,
    back: &str,
    login: &str,
    problem: Option<&str>,
    ask_totp: bool,
) -> Markup {
    let l = v.lang;
    html! {
        h1 { (l.t(Msg::SignIn)) }
        @if let Some(p) = problem { (error_box(p)) }
        form.card method="post" action="/signin" {
            (csrf_field(v))
            input type="hidden" name="back" value=(back);
            label for="login" { (l.t(Msg::Login)) }
            input #login name="login" required maxlength="254" autocomplete="username" value=(login);
            label for="password" { (l.t(Msg::Password)) }
            input #password name="password" type="password" required maxlength="128" autocomplete="current-password";
            label for="totp" { (l.t(Msg::Totp)) }
            input #totp name="totp" inputmode="numeric" maxlength="6" autocomplete="one-time-code" autofocus[ask_totp];
            button type="submit" { (l.t(Msg::SignIn)) }
        }
        p { (l.t(Msg::NoAccount)) " " a href="/register" { (l.t(Msg::Register)) } }
    }
}

/// `GET /signin?back=/path`.
pub async fn signin_page(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let v = Visit::of(&app, &headers).await;
    let q = pairs(raw.as_deref());
    let back = safe_back(field(&q, "back"));
    let note = field(&q, "registered").map(|_| ok_box(v.lang.t(Msg::Registered)));
    let body = html! { @if let Some(n) = note { (n) } (signin_form(&v, &back, "", None, false)) };
    let page = layout::page(&v, "/signin", v.lang.t(Msg::SignIn), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `POST /signin`: on success to `back`; otherwise the form again, saying why.
pub async fn signin(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let (mut v, f) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let back = safe_back(field(&f, "back"));
    let login = field(&f, "login").unwrap_or("");
    let password = f
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, p)| p.as_str())
        .unwrap_or("");
    let totp = field(&f, "totp").filter(|t| !t.is_empty());
    match app.login(login, password, totp).await {
        Ok(pair) => {
            v.signed_in(&pair.access_token, &pair.refresh_token);
            pages::see_other(v, &back)
        }
        Err(e) => {
            let l = v.lang;
            let (status, text, ask) = match e {
                AppError::Unauthorized(_) => (
                    StatusCode::UNAUTHORIZED,
                    l.t(Msg::BadLogin).to_owned(),
                    false,
                ),
                AppError::MfaRequired => (
                    StatusCode::UNAUTHORIZED,
                    l.t(Msg::NeedTotp).to_owned(),
                    true,
                ),
                other => {
                    let (s, t) = pages::explain(&v, other);
                    (s, t, false)
                }
            };
            let body = signin_form(&v, &back, login, Some(&text), ask);
            let page = layout::page(&v, "/signin", l.t(Msg::SignIn), None, body);
            pages::html(v, status, page)
        }
    }
}

fn register_form(v: &Visit, f: &[(String, String)], problem: Option<&str>) -> Markup {
    let l = v.lang;
    let val = |name: &str| field(f, name).unwrap_or("").to_owned();
    html! {
        h1 { (l.t(Msg::Register)) }
        @if let Some(p) = problem { (error_box(p)) }
        form.card method="post" action="/register" {
            (csrf_field(v))
            label for="name" { (l.t(Msg::Name)) }
            input #name name="name" required maxlength="100" autocomplete="name" value=(val("name"));
            label for="phone" { (l.t(Msg::Phone)) }
            input #phone name="phone" type="tel" required maxlength="20" autocomplete="tel" value=(val("phone"));
            label for="email" { (l.t(Msg::Email)) }
            input #email name="email" type="email" required maxlength="254" autocomplete="email" value=(val("email"));
            label for="nid" { (l.t(Msg::Nid)) }
            input #nid name="nid" inputmode="numeric" required maxlength="17" value=(val("nid"));
            label for="dob" { (l.t(Msg::Dob)) }
            input #dob name="date_of_birth" type="date" required value=(val("date_of_birth"));
            label for="new-password" { (l.t(Msg::Password)) }
            input #new-password name="password" type="password" required minlength="8" maxlength="128" autocomplete="new-password";
            button type="submit" { (l.t(Msg::Register)) }
        }
    }
}

/// `GET /register`.
pub async fn register_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = Visit::of(&app, &headers).await;
    let body = register_form(&v, &[], None);
    let page = layout::page(&v, "/register", v.lang.t(Msg::Register), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// `POST /register`: the API's registration (the same answer whether or not
/// the phone is known), then to sign-in.
pub async fn register(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let (v, f) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let get = |name: &str| field(&f, name).unwrap_or("").to_owned();
    let registration = Registration {
        name: get("name"),
        phone: get("phone"),
        email: get("email"),
        password: f
            .iter()
            .find(|(k, _)| k == "password")
            .map(|(_, p)| p.clone())
            .unwrap_or_default(),
        role: Role::Passenger,
        nid: Some(NidInput {
            nid: get("nid"),
            date_of_birth: get("date_of_birth"),
        }),
    };
    match app.sign_up(registration).await {
        Ok(()) => pages::see_other(v, "/signin?registered=1"),
        Err(e) => {
            let (status, text) = pages::explain(&v, e);
            let body = register_form(&v, &f, Some(&text));
            let page = layout::page(&v, "/register", v.lang.t(Msg::Register), None, body);
            pages::html(v, status, page)
        }
    }
}

/// `POST /signout`: ends the session (its tokens stop working) and forgets it.
pub async fn signout(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let (mut v, _) = match Visit::posted(&app, &headers, &body).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    if let Some(refresh) = refresh_cookie(&headers) {
        let _ = app.logout(refresh).await;
    }
    v.signed_out();
    pages::see_other(v, "/")
}
