//! The waiting room page: the passenger's place in line and the estimated
//! wait, refreshed by the page itself (a meta refresh at the room's own
//! polling pace, so it advances without JavaScript); once admitted, the
//! admission token goes into an HttpOnly cookie and the passenger goes on to
//! where they were.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, encode, safe_back};
use super::pages;
use super::results::{field, pairs};
use super::session::{ADMISSION, Visit, cookie};
use crate::app::{App, AppError};
use crate::wire::queue::QueueStatus;

/// The admission token this visitor holds for `sale`, if any.
pub fn admission(headers: &HeaderMap, sale: &str) -> Option<String> {
    let value = cookie(headers, ADMISSION)?;
    let (who, token) = value.split_once('~')?;
    (who == hex::encode(sale)).then(|| token.to_owned())
}

pub fn room_url(sale: &str, back: &str) -> String {
    format!("/queue/{}?back={}", encode(sale), encode(back))
}

/// `GET /queue/{sale}?back=/path`: joins on the first visit.
pub async fn room(
    State(app): State<App>,
    headers: HeaderMap,
    Path(sale): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut v = Visit::of(&app, &headers).await;
    let q = pairs(raw.as_deref());
    let back = safe_back(field(&q, "back"));
    let here = room_url(&sale, &back);
    let Some(user) = v.user_id() else {
        return pages::signin_redirect(v, &here);
    };
    let room = app.waiting_room();
    let status = match room.status(&sale, user).await {
        Err(AppError::NotFound(_)) => room.join(&sale, user).await,
        other => other,
    };
    let status = match status {
        Ok(s) => s,
        Err(e) => return pages::app_error(v, &here, e),
    };
    let l = v.lang;
    let refresh = status.poll_after_secs();
    let body = match &status {
        QueueStatus::Admitted { token, .. } => {
            v.set_admission(&sale, token);
            return pages::see_other(v, &back);
        }
        QueueStatus::PreQueue {
            opens_at, waiting, ..
        } => html! {
            p { (l.t(Msg::WaitingIntro)) }
            dl.card {
                dt { (l.t(Msg::OpensAt)) } dd.big { (l.date_time(opens_at)) }
                dt { (l.t(Msg::Position)) } dd.big #waiting { "– / " (l.num(waiting)) }
            }
        },
        QueueStatus::Waiting {
            position,
            estimated_wait_secs,
            ..
        } => html! {
            p { (l.t(Msg::WaitingIntro)) }
            dl.card {
                dt { (l.t(Msg::Position)) } dd.big #position { (l.num(position)) }
                dt { (l.t(Msg::EstimatedWait)) }
                dd.big #wait { (l.num(estimated_wait_secs)) " " (l.t(Msg::Seconds)) }
            }
        },
    };
    let body = html! {
        h1 { (l.t(Msg::WaitingRoom)) }
        (body)
        a.button.secondary href=(here) { (l.t(Msg::CheckAgain)) }
    };
    let page = layout::page(&v, &here, l.t(Msg::WaitingRoom), refresh, body);
    pages::html(v, StatusCode::OK, page)
}
