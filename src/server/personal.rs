//! Personal data endpoints: the caller's export and erasure of their account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::app::personal::PersonalExport;
use crate::wire::identity::EraseRequest;
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::ApiJson;

/// Everything stored about the caller, as one JSON document: the account,
/// orders with passengers, tickets, card tokens (brand and last four), SMS,
/// sessions, NID flags and the audit entries about their orders.
#[utoipa::path(get, path = "/v1/me/export", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's personal data, table by table", body = PersonalExport),
        (status = 401, description = "`unauthorized`: no valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(State(app): State<App>, caller: Caller) -> ApiResult<Json<PersonalExport>> {
    Ok(Json(app.export_personal_data(caller.id()).await?))
}

/// Erases the caller's personal data and ends the account: names, phone,
/// e-mail, NID, passengers' names, SMS; every session ends and the account
/// can no longer log in. Orders, tickets and payments stay, anonymous. Needs
/// the password again (and the two-factor code when it is on), and no
/// upcoming trips (cancel them first).
#[utoipa::path(delete, path = "/v1/me", tag = "identity", security(("bearer" = [])),
    request_body = EraseRequest,
    responses(
        (status = 204, description = "Erased: the account's tokens no longer work"),
        (status = 401, description = "`unauthorized` (no valid token, wrong password or code) or `mfa-required` (send `totp`); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: upcoming trips are still booked or held; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`: a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`login-locked` after repeated wrong passwords (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: no password-hashing turn in time (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn erase(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<EraseRequest>,
) -> ApiResult<StatusCode> {
    app.erase_me(caller.id(), &b.password, b.totp.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
