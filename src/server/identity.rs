//! Identity endpoints: register, login, refresh, logout, two-factor, the caller's profile.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::app::App;
use crate::app::identity::{NidInput, Registration};
use crate::domain::Role;
use crate::wire::identity::{
    CodeRequest, LoginRequest, MfaEnrolment, MfaStatus, RefreshRequest, RegisterRequest,
    Registered, TokenPair, UserView,
};
use crate::wire::problem::Problem;

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::ApiJson;

/// Self-registration always creates a passenger; clerks and admins are made by an admin.
/// A valid registration answers 202 with the same body whether the phone and
/// e-mail were free (the account now exists) or already in use (nothing changes),
/// so registering cannot be used to learn who has an account.
#[utoipa::path(post, path = "/v1/auth/register", tag = "identity", request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted: the same answer whether or not the phone and e-mail were taken", body = Registered),
        (status = 409, description = "`nid-taken`: this NID is bound to another account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (e.g. `nid`, `date_of_birth`) or `nid-not-verified` (the registry said no: `reason`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: no password-hashing turn in time, or `unavailable`: the NID registry cannot be reached (`Retry-After`); nothing was created", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(app): State<App>,
    ApiJson(b): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    app.sign_up(Registration {
        name: b.name,
        phone: b.phone,
        email: b.email,
        password: b.password,
        role: Role::Passenger,
        nid: Some(NidInput {
            nid: b.nid,
            date_of_birth: b.date_of_birth,
        }),
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Registered {
            status: "accepted".to_owned(),
            detail: "if this phone and e-mail were not registered yet, the account now exists: log in with them".to_owned(),
        }),
    ))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "identity", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a short-lived access token and a refresh token", body = TokenPair),
        (status = 401, description = "`unauthorized` (wrong login or password) or `mfa-required` (send `totp`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`login-locked` after repeated failures, or `rate-limited` (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: no password-hashing turn in time (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(app): State<App>,
    ApiJson(b): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(
        app.login(&b.login, &b.password, b.totp.as_deref()).await?,
    ))
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "identity", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the old refresh token stops working", body = TokenPair),
        (status = 401, description = "`unauthorized`: unknown, used or ended refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(app): State<App>,
    ApiJson(b): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(app.refresh(&b.refresh_token).await?))
}

/// Ends the session of the refresh token: it, every token rotated from it, and
/// the session's access tokens stop working. 204 whether or not it was still live.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "identity", request_body = RefreshRequest,
    responses((status = 204, description = "The session is over (whether or not it was still live)")))]
pub async fn logout(
    State(app): State<App>,
    ApiJson(b): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    app.logout(&b.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/me", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = UserView)))]
pub async fn me(State(app): State<App>, caller: Caller) -> ApiResult<Json<UserView>> {
    Ok(Json(UserView::from(&app.user(caller.id()).await?)))
}

#[utoipa::path(post, path = "/v1/auth/mfa/enroll", tag = "identity", security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret; two-factor is on once a code from it is verified", body = MfaEnrolment),
        (status = 409, description = "`conflict`: two-factor is already on", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mfa_enroll(State(app): State<App>, caller: Caller) -> ApiResult<Json<MfaEnrolment>> {
    Ok(Json(app.mfa_enroll(caller.id()).await?))
}

#[utoipa::path(post, path = "/v1/auth/mfa/verify", tag = "identity", security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Two-factor is on", body = MfaStatus),
        (status = 401, description = "`unauthorized`: wrong code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: nothing enrolled, or already on", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mfa_verify(
    State(app): State<App>,
    caller: Caller,
    ApiJson(b): ApiJson<CodeRequest>,
) -> ApiResult<Json<MfaStatus>> {
    app.mfa_verify(caller.id(), &b.code).await?;
    Ok(Json(MfaStatus { mfa_enabled: true }))
}
