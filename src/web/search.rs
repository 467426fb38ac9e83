//! The first page: where from, where to, which day. Station suggestions are
//! a <datalist> of every station in English and Bangla, so they work with no
//! script; the server accepts a code or either name (the API's rule).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::{Lang, Msg};
use super::layout;
use super::pages;
use super::session::Visit;
use crate::app::App;
use crate::domain::DHAKA_OFFSET_SECS;

/// What the search form was last filled with (to show it again).
#[derive(Default)]
pub struct Filled<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub date: &'a str,
}

/// Today in Dhaka, `YYYY-MM-DD`: the form's first date.
pub fn today(app: &App) -> String {
    let zone = chrono::FixedOffset::east_opt(DHAKA_OFFSET_SECS).expect("a valid offset");
    app.now()
        .with_timezone(&zone)
        .format("%Y-%m-%d")
        .to_string()
}

/// `GET /`.
pub async fn home(State(app): State<App>, headers: HeaderMap) -> Response {
    let v = Visit::of(&app, &headers).await;
    let today = today(&app);
    let form = match form(
        &app,
        v.lang,
        &Filled {
            date: &today,
            ..Filled::default()
        },
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return pages::app_error(v, "/", e),
    };
    let l = v.lang;
    let body = html! { h1 { (l.t(Msg::SearchTitle)) } (form) };
    let page = layout::page(&v, "/", l.t(Msg::SearchTitle), None, body);
    pages::html(v, StatusCode::OK, page)
}

/// The search form (on the first page and above the results).
pub async fn form(app: &App, l: Lang, f: &Filled<'_>) -> crate::app::AppResult<Markup> {
    let stations = app.stations().await?;
    Ok(html! {
        form.card method="get" action="/search" {
            label for="from" { (l.t(Msg::From)) }
            input #from name="from" list="stations" required autocomplete="off"
                maxlength="64" value=(f.from) aria-describedby="station-hint";
            label for="to" { (l.t(Msg::To)) }
            input #to name="to" list="stations" required autocomplete="off"
                maxlength="64" value=(f.to) aria-describedby="station-hint";
            p.hint #station-hint { (l.t(Msg::StationHint)) }
            label for="date" { (l.t(Msg::Date)) }
            input #date name="date" type="date" required value=(f.date);
            button type="submit" { (l.t(Msg::Search)) }
            datalist #stations {
                @for s in &stations {
                    option value=(s.name_en) { (s.code) }
                    @if let Some(bn) = &s.name_bn { option value=(bn) { (s.code) } }
                }
            }
        }
    })
}
