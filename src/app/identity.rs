//! Identity: registration, login with argon2id passwords and lockout, roles.
//! Tokens and sessions are in `sessions`, TOTP two-factor in `two_factor`.
//!
//! Neither registration nor login tells an outsider whether an account exists:
//! both answer the same and do the same argon2 work either way.

use crate::wire::identity::{TokenPair, UserView};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::user::check_password;
use crate::domain::{Email, ParseError, Phone, Role, SessionId, User, UserId};
use crate::store::prelude::*;
use crate::store::{Attempt, NewUser};

use super::nid::NidRefusal;
use super::passwords::Turn;
use super::{App, AppError, AppResult};

pub(crate) const ISSUER: &str = "ticketctl";

pub(crate) struct TokenKeys {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

impl TokenKeys {
    /// Uses the configured secret, or the one kept in the database (created on first run),
    /// so every `serve` process on one database accepts the others' tokens.
    pub(crate) async fn load(store: &dyn Store, configured: Option<&str>) -> AppResult<TokenKeys> {
        let secret = match configured {
            Some(s) if s.len() >= 32 => s.to_owned(),
            Some(_) => {
                return Err(ParseError::new("jwt-secret", "must be at least 32 characters").into());
            }
            None => {
                store
                    .setting_or_init("jwt_secret", &random_token(32))
                    .await?
            }
        };
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        })
    }
}

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user id, as the token carries it (a bare number; read it typed
    /// with `user_id`).
    pub sub: i64,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// The sign-in session (refresh-token family) the token belongs to; logging
    /// out or replaying a rotated refresh token revokes it, and with it this token.
    /// Absent only in tokens minted without a sign-in (the rehearsal's passengers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
}

impl Claims {
    /// The bearer's user id.
    pub fn user_id(&self) -> UserId {
        UserId(self.sub)
    }
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            name: u.name.clone(),
            phone: u.phone.clone(),
            email: u.email.clone(),
            role: u.role,
            mfa_enabled: u.mfa_enabled,
            nid: u.nid.as_ref().map(|n| n.as_str().to_owned()),
        }
    }
}

#[derive(Clone)]
pub struct Registration {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password: String,
    pub role: Role,
    /// The national ID and date of birth, verified at the NID registry before
    /// the account is made. Optional here (staff, the CLI); self-registration
    /// over the API always sends one.
    pub nid: Option<NidInput>,
}

/// An NID and date of birth as typed, parsed and verified by `register`.
#[derive(Clone, PartialEq, Eq)]
pub struct NidInput {
    pub nid: String,
    pub date_of_birth: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .field("phone", &self.phone)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Normalises what a user typed to log in: an e-mail or a phone number.
fn normalise_login(login: &str) -> Option<String> {
    if login.contains('@') {
        Email::parse(login).ok().map(|e| e.as_str().to_owned())
    } else {
        Phone::parse(login).ok().map(|p| p.as_str().to_owned())
    }
}

const BAD_CREDENTIALS: &str = "wrong phone/e-mail or password";

/// Why a reserved login attempt failed.
enum Refusal {
    Unauthorized(&'static str),
    /// The password was right and the account needs a code: not a guess.
    MfaRequired,
}

impl App {
    /// Creates an account (any role: the CLI and demo set-up make clerks and admins).
    /// A phone or e-mail already in use is a `Conflict`; an NID bound to
    /// another account is `NidRefusal::Taken`. An NID is verified at the
    /// registry first: refused, or the registry down, nothing is created.
    pub async fn register(&self, r: Registration) -> AppResult<User> {
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new("name", "must be 1 to 100 characters").into());
        }
        let phone = Phone::parse(&r.phone)?;
        let email = Email::parse(&r.email)?;
        check_password(&r.password)?;
        let nid = match &r.nid {
            Some(given) => Some(
                self.verify_nid(&given.nid, &given.date_of_birth, Some(name))
                    .await?,
            ),
            None => None,
        };
        // Hashed before the insert, so a taken phone or e-mail costs the same time as a new one.
        let password_hash = self.passwords.turn().await?.hash(r.password).await?;
        Ok(self
            .store
            .create_user(&NewUser {
                name: name.to_owned(),
                phone: phone.as_str().to_owned(),
                email: email.as_str().to_owned(),
                password_hash,
                role: r.role,
                created_at: self.now(),
                nid,
            })
            .await?)
    }

    /// Self-registration over the API: like `register`, but a phone or e-mail
    /// already in use answers exactly as a new account does (and creates
    /// nothing), so the answer does not tell whether an account exists. An
    /// NID already bound is told (409 `nid-taken`): a person has one account,
    /// and only someone who knows the NID's date of birth gets that far.
    pub async fn sign_up(&self, r: Registration) -> AppResult<()> {
        let (phone, nid) = (r.phone.clone(), r.nid.as_ref().map(|n| n.nid.clone()));
        match self.register(r).await {
            Ok(_) | Err(AppError::Conflict(_)) => Ok(()),
            // The same registration again (a retry, a double click): the NID is
            // this phone's own, so it answers as the first one did.
            Err(AppError::Nid(NidRefusal::Taken)) if self.owns_nid(&phone, nid).await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether the account with `phone` is the one bound to `nid`.
    async fn owns_nid(&self, phone: &str, nid: Option<String>) -> AppResult<bool> {
        let Some(login) = normalise_login(phone) else {
            return Ok(false);
        };
        let user = self.store.user_by_login(&login).await?;
        Ok(user
            .and_then(|u| u.nid)
            .is_some_and(|n| Some(n.as_str()) == nid.as_deref()))
    }

    /// Checks the password (and code) and starts a session.
    ///
    /// The attempt is counted as failed BEFORE the password is checked (and
    /// cleared on success), so a burst of guesses arriving together cannot all
    /// pass a lock check made before any of them was recorded: at most
    /// `max_failed_logins` guesses are ever checked before the account locks.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<TokenPair> {
        // The hashing turn comes first: a request shed under a flood (503) has
        // touched neither the database nor the account's count of attempts.
        let turn = self.passwords.turn().await?;
        let user = match normalise_login(login) {
            Some(l) => self.store.user_by_login(&l).await?,
            None => None,
        };
        let Some(user) = user else {
            // The same argon2 work and answer as a wrong password.
            turn.verify(password.to_owned(), None).await?;
            return Err(AppError::Unauthorized(BAD_CREDENTIALS.into()));
        };
        self.credentials_attempt(&turn, &user, password, totp)
            .await?;
        self.start_session(&user).await
    }

    /// One counted attempt at `user`'s password (and code): counted as failed
    /// before the check, cleared on success.
    async fn credentials_attempt(
        &self,
        turn: &Turn<'_>,
        user: &User,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<()> {
        self.reserve_attempt(user.id).await?;
        match self.check_credentials(turn, user, password, totp).await {
            Ok(Ok(())) => {
                self.store.clear_failed_logins(user.id).await?;
                Ok(())
            }
            Ok(Err(Refusal::MfaRequired)) => {
                self.store.release_login_attempt(user.id).await?;
                Err(AppError::MfaRequired)
            }
            Ok(Err(Refusal::Unauthorized(what))) => {
                self.fail_attempt(user.id).await?;
                Err(AppError::Unauthorized(what.into()))
            }
            // Broken, not a guess: it does not count.
            Err(e) => {
                self.store.release_login_attempt(user.id).await?;
                Err(e)
            }
        }
    }

    /// Asks a signed-in user for their password again (and a code, with
    /// two-factor on) before something that cannot be undone. Counted as a
    /// login attempt: wrong guesses lock the account as they do at login.
    pub(crate) async fn reauthenticate(
        &self,
        user: &User,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<()> {
        let turn = self.passwords.turn().await?;
        match self.credentials_attempt(&turn, user, password, totp).await {
            // The login is known here: only the password can be wrong.
            Err(AppError::Unauthorized(what)) if what == BAD_CREDENTIALS => {
                Err(AppError::Unauthorized("wrong password".into()))
            }
            other => other,
        }
    }

    async fn check_credentials(
        &self,
        turn: &Turn<'_>,
        user: &User,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<Result<(), Refusal>> {
        let password_ok = turn
            .verify(password.to_owned(), Some(user.password_hash.clone()))
            .await?;
        if !password_ok {
            return Ok(Err(Refusal::Unauthorized(BAD_CREDENTIALS)));
        }
        if !user.mfa_enabled {
            return Ok(Ok(()));
        }
        let Some(code) = totp else {
            return Ok(Err(Refusal::MfaRequired));
        };
        Ok(if self.take_totp_code(user, code).await? {
            Ok(())
        } else {
            Err(Refusal::Unauthorized("wrong two-factor code"))
        })
    }

    /// Counts an attempt (password or code) before it is checked; `Locked` when none is left.
    pub(crate) async fn reserve_attempt(&self, user_id: UserId) -> AppResult<()> {
        match self
            .store
            .reserve_login_attempt(
                user_id,
                self.now(),
                self.config.max_failed_logins,
                self.config.lockout,
            )
            .await?
        {
            Attempt::Granted => Ok(()),
            Attempt::Locked { until } => Err(AppError::locked(until, self.now())),
        }
    }

    /// After a failed attempt: locks the account if that was the last one allowed.
    pub(crate) async fn fail_attempt(&self, user_id: UserId) -> AppResult<()> {
        let now = self.now();
        match self
            .store
            .lock_if_exhausted(
                user_id,
                now,
                self.config.max_failed_logins,
                self.config.lockout,
            )
            .await?
        {
            Some(until) => Err(AppError::locked(until, now)),
            None => Ok(()),
        }
    }

    pub async fn user(&self, id: UserId) -> AppResult<User> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {id}")))
    }

    pub async fn users(&self) -> AppResult<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    /// Takes effect at once: the auth check reads the current role on every request.
    pub async fn set_role(&self, id: UserId, role: Role) -> AppResult<()> {
        Ok(self.store.set_role(id, role).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_normalise_phones_and_emails() {
        assert_eq!(normalise_login("01712345678").unwrap(), "+8801712345678");
        assert_eq!(normalise_login("A@B.com").unwrap(), "a@b.com");
        assert!(normalise_login("nobody").is_none());
    }
}
