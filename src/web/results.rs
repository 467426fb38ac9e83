//! The results page: the trains for a journey and day, with the class and
//! train facets. The page asks the search index (`App::find_trips`) with the
//! query's own filters, so each count is what choosing that value returns.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::{Lang, Msg};
use super::layout::{self, encode};
use super::pages;
use super::search::{self, Filled};
use super::session::Visit;
use crate::app::App;
use crate::domain::ServiceDate;
use crate::domain::search::SearchQuery;
use crate::domain::trip::SaleState;
use crate::wire::catalog::{FacetValue, SearchResult, TripOption};

/// Longest station text accepted (the longest name is far shorter).
const MAX_STATION: usize = 64;

/// The query's `name=value` pairs, in order (repeated names kept).
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

/// A class's name as passengers know it.
pub fn class_name(l: Lang, code: &str) -> &str {
    let bn = match code {
        "SHULOV" => "সুলভ",
        "SHOVAN" => "শোভন",
        "S_CHAIR" => "শোভন চেয়ার",
        "F_SEAT" => "প্রথম সিট",
        "F_CHAIR" => "প্রথম চেয়ার",
        "F_BERTH" => "প্রথম বার্থ",
        "SNIGDHA" => "স্নিগ্ধা",
        "AC_CHAIR" => "এসি চেয়ার",
        "AC_S" => "এসি সিট",
        "AC_B" => "এসি বার্থ",
        other => other,
    };
    match l {
        Lang::En => code,
        Lang::Bn => bn,
    }
}

/// `GET /search?from=&to=&date=[&class=…]`.
pub async fn page(State(app): State<App>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let v = Visit::of(&app, &headers).await;
    let path = format!("/search?{}", raw.as_deref().unwrap_or(""));
    let q = pairs(raw.as_deref());
    let from = field(&q, "from").unwrap_or("");
    let to = field(&q, "to").unwrap_or("");
    let date = field(&q, "date").unwrap_or("");
    let chosen: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "class")
        .map(|(_, v)| v.as_str())
        .collect();
    for (name, value) in [("from", from), ("to", to)] {
        if value.is_empty()
            || value.chars().count() > MAX_STATION
            || value.chars().any(char::is_control)
        {
            let text =
                format!("{name}: a station's code or name (at most {MAX_STATION} characters)");
            return pages::problem_page(v, StatusCode::UNPROCESSABLE_ENTITY, &text);
        }
    }
    if let Err(e) = ServiceDate::parse(date) {
        return pages::problem_page(v, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string());
    }
    let query = match SearchQuery::from_pairs(&q) {
        Ok(query) => query,
        Err(e) => return pages::problem_page(v, StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    let found = match app.find_trips(&query).await {
        Ok(r) => r,
        Err(e) => return pages::app_error(v, &path, e),
    };
    let form = match search::form(&app, v.lang, &Filled { from, to, date }).await {
        Ok(f) => f,
        Err(e) => return pages::app_error(v, &path, e),
    };
    let l = v.lang;
    let trains: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "train")
        .map(|(_, v)| v.as_str())
        .collect();
    // The index has applied every filter: what it returns is what is shown.
    let shown: Vec<&TripOption> = found.trips.iter().collect();
    let title = format!(
        "{} → {}",
        station_name(l, &found.from),
        station_name(l, &found.to)
    );
    let body = html! {
        h1 { (title) }
        p.muted { (l.date(&found.date)) }
        (facets(l, &found, &chosen, &trains))
        h2 { (l.t(Msg::Results)) " (" (l.num(shown.len())) ")" }
        @if shown.is_empty() { p.card { (l.t(Msg::NoTrains)) } }
        @for t in &shown { (trip_card(l, &found, t, &chosen)) }
        details.card {
            summary { (l.t(Msg::SearchTitle)) }
            (form)
        }
    };
    let page = layout::page(&v, &path, &title, None, body);
    pages::html(v, StatusCode::OK, page)
}

fn station_name(l: Lang, s: &crate::wire::catalog::StationView) -> String {
    match (l, &s.name_bn) {
        (Lang::Bn, Some(bn)) => bn.clone(),
        _ => s.name.clone(),
    }
}

/// The class and train facets: one GET form of checkboxes, each value with
/// the number of trains choosing it would show.
pub fn facets(l: Lang, found: &SearchResult, classes: &[&str], trains: &[&str]) -> Markup {
    html! {
        form.card.facets method="get" action="/search" {
            input type="hidden" name="from" value=(found.from.code);
            input type="hidden" name="to" value=(found.to.code);
            input type="hidden" name="date" value=(found.date);
            (facet_box(l, l.t(Msg::FilterByClass), "class", &found.facets.class, classes, |code| {
                class_name(l, code).to_owned()
            }))
            (facet_box(l, l.t(Msg::FilterByTrain), "train", &found.facets.train, trains, |number| {
                l.num(number)
            }))
            button.secondary type="submit" { (l.t(Msg::Filter)) }
        }
    }
}

/// One facet's checkboxes; a facet with a single value is not a choice.
fn facet_box(
    l: Lang,
    legend: &str,
    name: &str,
    values: &[FacetValue],
    chosen: &[&str],
    show: impl Fn(&str) -> String,
) -> Markup {
    html! {
        @if values.len() > 1 || !chosen.is_empty() {
            fieldset {
                legend { (legend) }
                @for f in values {
                    label {
                        input type="checkbox" name=(name) value=(f.value) checked[chosen.contains(&f.value.as_str())];
                        (show(&f.value))
                        @if let Some(label) = &f.label { " " (label) }
                        " (" (l.num(f.count)) ")"
                    }
                }
            }
        }
    }
}

fn trip_card(l: Lang, found: &SearchResult, t: &TripOption, chosen: &[&str]) -> Markup {
    let train = format!("{} {}", l.num(t.train.number), t.train.name);
    html! {
        article.card {
            div.row {
                strong.big { (train) }
                span.muted { (l.duration(t.duration_minutes)) }
            }
            div.row {
                span { (l.t(Msg::Departs)) " " strong { (l.time(&t.departs)) } }
                span { (l.t(Msg::Arrives)) " " strong { (l.time(&t.arrives)) } }
            }
            @if t.sale.state == SaleState::NotYetOpen {
                p.muted { (l.t(Msg::SaleNotOpen)) " " (l.date_time(&t.sale.opens_at)) }
            }
            ul.classes {
                @for c in t.classes.iter().filter(|c| chosen.is_empty() || chosen.contains(&c.class.code())) {
                    li {
                        span { strong { (class_name(l, c.class.code())) } br; (l.num(c.seats_free)) " " (l.t(Msg::SeatsFree)) }
                        span { (l.taka(c.total)) }
                        @if t.sale.state == SaleState::Open && c.seats_free > 0 {
                            a.button href=(format!(
                                "/trips/{}?from={}&to={}&class={}",
                                t.trip_id, encode(&found.from.code), encode(&found.to.code), c.class.code()
                            )) { (l.t(Msg::Choose)) }
                        }
                    }
                }
            }
        }
    }
}
