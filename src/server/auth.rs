//! Bearer-token authentication and role checks.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::app::App;
use crate::app::identity::Claims;
use crate::domain::{Role, UserId};

use super::error::ApiError;

/// The authenticated caller. Extracting it answers 401 when the token is missing,
/// malformed, tampered with or expired, its session has ended, or its user is gone.
/// The role is the user's current one (read per request), not the token's.
pub struct Caller(pub Claims);

impl Caller {
    pub fn id(&self) -> UserId {
        self.0.user_id()
    }

    /// Admins may do everything clerks may.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        let ok = match role {
            Role::Passenger => true,
            Role::Clerk => matches!(self.0.role, Role::Clerk | Role::Admin),
            Role::Admin => self.0.role == Role::Admin,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!("this needs the {role} role"),
            ))
        }
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized(
                "send 'Authorization: Bearer <access token>' (POST /v1/auth/login)",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        Ok(Caller(app.authorize(token.trim()).await?))
    }
}
