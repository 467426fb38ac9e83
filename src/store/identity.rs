//! Storage for identity: accounts and roles, and the rules that read and then
//! write: login attempts (lockout), one-use TOTP steps, and sign-in sessions
//! with their refresh-token families. Each of those is one atomic step on both
//! backends, so concurrent requests cannot slip between a check and its record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::NewUser;
use super::StoreResult;
use crate::domain::{Role, SessionId, User, UserId};

/// The outcome of reserving a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt is counted as failed until the caller reports success.
    Granted,
    /// The account is locked (or its last allowed attempts are being checked
    /// right now); `until` is when trying again makes sense.
    Locked { until: DateTime<Utc> },
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now rotated out and `new_hash` replaces it.
    Rotated {
        user_id: UserId,
        session_id: SessionId,
    },
    /// The token had already been rotated out: someone holds a copy of it, so
    /// its whole session (every token of the family) has just been revoked.
    Replayed {
        user_id: UserId,
        session_id: SessionId,
    },
    /// Unknown, expired, or its session was revoked.
    Invalid,
}

/// What the auth check needs to know about a token's user and session now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    /// The user's current role (not the one the token was issued with).
    pub role: Role,
    /// The session named by the token was revoked (or does not exist).
    pub revoked: bool,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    // ---- accounts ----
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;

    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// Finds a user by normalised phone or e-mail.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;

    async fn list_users(&self) -> StoreResult<Vec<User>>;

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()>;

    async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()>;

    async fn set_totp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> StoreResult<()>;

    /// Stores a refresh token outside any session, as every token was before
    /// sessions existed; rotation and logout still honour such tokens, and the
    /// tests of that path plant them with this.
    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    // ---- attempts, second factor and sessions ----
    /// Counts one attempt as failed BEFORE the password or code is checked, unless
    /// the account is locked or `max_failures` attempts are already counted (some
    /// may still be being checked). Success then clears the count
    /// (`clear_failed_logins`); failure may lock (`lock_if_exhausted`).
    async fn reserve_login_attempt(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Attempt>;
    /// Gives back a reserved attempt that turned out not to be a guess (the
    /// password was right and a second factor is still to be sent).
    async fn release_login_attempt(&self, id: UserId) -> StoreResult<()>;
    /// After a failed attempt: locks the account until `now + lock_for` when
    /// `max_failures` attempts are counted (and starts a fresh count for after
    /// the lock). Returns the lock's end when the account is locked.
    async fn lock_if_exhausted(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Accepts TOTP time step `step` for the user only if it is later than the
    /// last one accepted (compare-and-set): the same code never works twice.
    async fn accept_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool>;

    /// Starts a session for a sign-in with its first refresh token; returns the session id.
    async fn start_session(
        &self,
        user_id: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionId>;
    /// Rotates a refresh token in one atomic step: a current token is marked
    /// rotated and `new_hash` joins its family; a rotated-out one revokes the family.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation>;
    /// Revokes the session the refresh token belongs to (logout); false when the
    /// token is unknown or its session was already revoked.
    async fn revoke_session_of(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// The user's current role and whether `session_id` is revoked; `None` when
    /// the user does not exist. One indexed read: the auth check runs it per request.
    async fn session_state(
        &self,
        user_id: UserId,
        session_id: Option<SessionId>,
    ) -> StoreResult<Option<SessionState>>;
}
