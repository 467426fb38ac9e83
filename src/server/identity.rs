//! Identity endpoints: register, login, refresh, logout, two-factor, the caller's profile.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app::App;
use crate::app::identity::Registration;
use crate::domain::Role;
use crate::wire::identity::{
    CodeRequest, LoginRequest, MfaEnrolment, RefreshRequest, RegisterRequest, TokenPair, UserView,
};

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::ApiJson;

/// Self-registration always creates a passenger; clerks and admins are made by an admin.
/// A valid registration answers 202 with the same body whether the phone and
/// e-mail were free (the account now exists) or already in use (nothing changes),
/// so registering cannot be used to learn who has an account.
pub async fn register(
    State(app): State<App>,
    ApiJson(b): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    app.sign_up(Registration {
        name: b.name,
        phone: b.phone,
        email: b.email,
        password: b.password,
        role: Role::Passenger,
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "status": "accepted",
            "detail": "if this phone and e-mail were not registered yet, the account now exists: log in with them",
        })),
    ))
}

pub async fn login(
    State(app): State<App>,
    ApiJson(b): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(
        app.login(&b.login, &b.password, b.totp.as_deref()).await?,
    ))
}

pub async fn refresh(
    State(app): State<App>,
    ApiJson(b): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(app.refresh(&b.refresh_token).await?))
}

/// Ends the session of the refresh token: it, every token rotated from it, and
/// the session's access tokens stop working. 204 whether or not it was still live.
pub async fn logout(
    State(app): State<App>,
    ApiJson(b): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    app.logout(&b.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(State(app): State<App>, caller: Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&app.user(caller.id()).await?)))
}

pub async fn mfa_enroll(State(app): State<App>, caller: Caller) -> ApiResult<Json<MfaEnrolment>> {
    Ok(Json(app.mfa_enroll(caller.id()).await?))
}

pub async fn mfa_verify(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<CodeRequest>,
) -> ApiResult<Json<Value>> {
    app.mfa_verify(caller.id(), &b.code).await?;
    Ok(Json(json!({ "mfa_enabled": true })))
}
