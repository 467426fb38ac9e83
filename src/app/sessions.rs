//! Sign-in sessions and their tokens: short-lived JWT access tokens and
//! rotating refresh tokens that form one family per session.
//!
//! Rotating a refresh token rotates it out; presenting a rotated-out one again
//! means two parties hold the family (a stolen copy), so the whole session is
//! revoked. Logout revokes it too. Access tokens name their session, and the
//! auth check reads the session and the user's current role on every request
//! (one indexed read), so revocation and role changes take effect at once.

use jsonwebtoken::{Algorithm, Header, Validation};
use sha2::{Digest, Sha256};

use super::identity::{Claims, ISSUER, random_token};
use super::{App, AppError, AppResult};
use crate::domain::{SessionId, User};
use crate::store::Rotation;
use crate::wire::identity::TokenPair;

/// Seconds an access token is still accepted after its `exp` (clock skew between servers).
const TOKEN_LEEWAY_SECS: i64 = 5;

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl App {
    /// Starts a session for a user who has just proved who they are.
    pub(crate) async fn start_session(&self, user: &User) -> AppResult<TokenPair> {
        let now = self.now();
        let refresh_token = random_token(32);
        let session_id = self
            .store
            .start_session(
                user.id,
                &sha256_hex(&refresh_token),
                now + self.config.refresh_token_ttl,
                now,
            )
            .await?;
        self.token_pair(user, session_id, refresh_token)
    }

    fn token_pair(
        &self,
        user: &User,
        session_id: SessionId,
        refresh_token: String,
    ) -> AppResult<TokenPair> {
        Ok(TokenPair {
            access_token: self.sign_access_token(user, Some(session_id))?,
            token_type: "Bearer".into(),
            expires_in: self.config.access_token_ttl.num_seconds(),
            refresh_token,
        })
    }

    /// A short-lived access token for `user` outside any session. The rehearsal
    /// uses it for the passengers it creates directly; it cannot be logged out.
    pub fn access_token_for(&self, user: &User) -> AppResult<String> {
        self.sign_access_token(user, None)
    }

    fn sign_access_token(&self, user: &User, session_id: Option<SessionId>) -> AppResult<String> {
        let now = self.now();
        let claims = Claims {
            sub: user.id.get(),
            role: user.role,
            iat: now.timestamp(),
            exp: (now + self.config.access_token_ttl).timestamp(),
            iss: ISSUER.into(),
            sid: session_id,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.tokens.encoding,
        )
        .map_err(|e| AppError::Internal(format!("signing token: {e}")))
    }

    /// Trades a refresh token for a new pair of the same session; the old refresh
    /// token is rotated out. Presenting a rotated-out token ends the session.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<TokenPair> {
        let now = self.now();
        let next = random_token(32);
        let rotation = self
            .store
            .rotate_refresh_token(
                &sha256_hex(refresh_token),
                &sha256_hex(&next),
                now + self.config.refresh_token_ttl,
                now,
            )
            .await?;
        match rotation {
            Rotation::Rotated {
                user_id,
                session_id,
            } => {
                let user =
                    self.store.user(user_id).await?.ok_or_else(|| {
                        AppError::Unauthorized("the account no longer exists".into())
                    })?;
                self.token_pair(&user, session_id, next)
            }
            Rotation::Replayed {
                user_id,
                session_id,
            } => {
                tracing::warn!(
                    user_id = %user_id,
                    session_id = %session_id,
                    "a rotated-out refresh token was presented again; session revoked"
                );
                Err(AppError::Unauthorized(
                    "this refresh token was already used, so the session has been ended; log in again"
                        .into(),
                ))
            }
            Rotation::Invalid => Err(AppError::Unauthorized(
                "refresh token is invalid or expired".into(),
            )),
        }
    }

    /// Ends the session of `refresh_token`: its refresh tokens and access tokens
    /// stop working. Idempotent: an unknown or already ended session is no error.
    pub async fn logout(&self, refresh_token: &str) -> AppResult<()> {
        self.store
            .revoke_session_of(&sha256_hex(refresh_token), self.now())
            .await?;
        Ok(())
    }

    /// Checks an access token's signature, issuer and expiry (no database read;
    /// rate limiting uses it to key requests by user). Endpoints use `authorize`.
    pub fn authenticate(&self, token: &str) -> AppResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is judged against the app's clock below, not the library's system time.
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.tokens.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|_| AppError::Unauthorized("access token is invalid".into()))?;
        if claims.exp.saturating_add(TOKEN_LEEWAY_SECS) < self.now().timestamp() {
            return Err(AppError::Unauthorized("access token has expired".into()));
        }
        Ok(claims)
    }

    /// `authenticate`, then the live state: the user still exists, the session is
    /// not revoked, and the claims carry the user's CURRENT role, so a demotion
    /// applies to tokens already issued.
    pub async fn authorize(&self, token: &str) -> AppResult<Claims> {
        let mut claims = self.authenticate(token)?;
        let state = self
            .store
            .session_state(claims.user_id(), claims.sid)
            .await?
            .ok_or_else(|| AppError::Unauthorized("the account no longer exists".into()))?;
        if state.revoked {
            return Err(AppError::Unauthorized(
                "this session has ended (logged out, or its refresh token was reused); log in again"
                    .into(),
            ));
        }
        claims.role = state.role;
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_stored_hashed() {
        let t = random_token(32);
        assert_eq!(t.len(), 64);
        assert_ne!(sha256_hex(&t), t);
        assert_eq!(sha256_hex(&t), sha256_hex(&t));
    }
}
