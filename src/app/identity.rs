//! Identity: registration, login with argon2id passwords, JWT access tokens,
//! rotating refresh tokens, TOTP two-factor, roles and lockout.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use totp_rs::{Secret, TOTP};

use crate::domain::user::check_password;
use crate::domain::{Email, ParseError, Phone, Role};
use crate::store::{NewUser, Store, User};

use super::{App, AppError, AppResult};

const ISSUER: &str = "ticketctl";
/// Seconds an access token is still accepted after its `exp` (clock skew between servers).
const TOKEN_LEEWAY_SECS: i64 = 5;

pub(crate) struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
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
    /// The user id.
    pub sub: i64,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub role: Role,
    pub mfa_enabled: bool,
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
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MfaEnrolment {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password: String,
    pub role: Role,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// argon2id is deliberately slow; keep it off the async threads.
async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

fn totp_for(secret_b32: &str, account: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|e| AppError::Internal(format!("bad TOTP secret: {e:?}")))?;
    TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some(ISSUER.to_owned()),
        account.replace(':', ""),
    )
    .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
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

impl App {
    pub async fn register(&self, r: Registration) -> AppResult<User> {
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new("name", "must be 1 to 100 characters").into());
        }
        let phone = Phone::parse(&r.phone)?;
        let email = Email::parse(&r.email)?;
        check_password(&r.password)?;
        let password_hash = hash_password(r.password).await?;
        Ok(self
            .store
            .create_user(&NewUser {
                name: name.to_owned(),
                phone: phone.as_str().to_owned(),
                email: email.as_str().to_owned(),
                password_hash,
                role: r.role,
                created_at: self.now(),
            })
            .await?)
    }

    pub async fn login(
        &self,
        login: &str,
        password: &str,
        totp: Option<&str>,
    ) -> AppResult<TokenPair> {
        let now = self.now();
        let user = match normalise_login(login) {
            Some(l) => self.store.user_by_login(&l).await?,
            None => None,
        };
        let Some(user) = user else {
            return Err(AppError::Unauthorized(BAD_CREDENTIALS.into()));
        };
        if let Some(until) = user.locked_until.filter(|u| *u > now) {
            return Err(AppError::locked(until, now));
        }
        let password_ok = verify_password(password.to_owned(), user.password_hash.clone()).await?;
        let second_factor_ok = match (password_ok, user.mfa_enabled) {
            (false, _) => false,
            (true, false) => true,
            (true, true) => {
                let Some(code) = totp else {
                    return Err(AppError::MfaRequired);
                };
                let secret = user.totp_secret.as_deref().unwrap_or_default();
                totp_for(secret, &user.phone)?
                    .check_current(code.trim())
                    .unwrap_or(false)
            }
        };
        if !second_factor_ok {
            let after = self
                .store
                .record_failed_login(
                    user.id,
                    now,
                    self.config.max_failed_logins,
                    self.config.lockout,
                )
                .await?;
            if let Some(until) = after.locked_until.filter(|u| *u > now) {
                return Err(AppError::locked(until, now));
            }
            let what = if password_ok {
                "wrong two-factor code"
            } else {
                BAD_CREDENTIALS
            };
            return Err(AppError::Unauthorized(what.into()));
        }
        self.store.clear_failed_logins(user.id).await?;
        self.issue_tokens(&user).await
    }

    async fn issue_tokens(&self, user: &User) -> AppResult<TokenPair> {
        let now = self.now();
        let access_token = self.access_token_for(user)?;
        let refresh_token = random_token(32);
        self.store
            .insert_refresh_token(
                &sha256_hex(&refresh_token),
                user.id,
                now + self.config.refresh_token_ttl,
            )
            .await?;
        Ok(TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: self.config.access_token_ttl.num_seconds(),
            refresh_token,
        })
    }

    /// A short-lived access token for `user`. Login uses it after checking the
    /// password; the rehearsal uses it for the passengers it creates directly.
    pub fn access_token_for(&self, user: &User) -> AppResult<String> {
        let now = self.now();
        let claims = Claims {
            sub: user.id,
            role: user.role,
            iat: now.timestamp(),
            exp: (now + self.config.access_token_ttl).timestamp(),
            iss: ISSUER.into(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.tokens.encoding,
        )
        .map_err(|e| AppError::Internal(format!("signing token: {e}")))
    }

    /// Trades a refresh token for a new pair; the old refresh token stops working.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<TokenPair> {
        let user_id = self
            .store
            .take_refresh_token(&sha256_hex(refresh_token), self.now())
            .await?
            .ok_or_else(|| AppError::Unauthorized("refresh token is invalid or expired".into()))?;
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or_else(|| AppError::Unauthorized("the account no longer exists".into()))?;
        self.issue_tokens(&user).await
    }

    /// Checks an access token's signature, issuer and expiry.
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

    pub async fn user(&self, id: i64) -> AppResult<User> {
        self.store
            .user(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no user {id}")))
    }

    pub async fn users(&self) -> AppResult<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    pub async fn set_role(&self, id: i64, role: Role) -> AppResult<()> {
        Ok(self.store.set_role(id, role).await?)
    }

    /// Starts TOTP enrolment: a new secret that takes effect once a code from it is verified.
    pub async fn mfa_enroll(&self, user_id: i64) -> AppResult<MfaEnrolment> {
        let user = self.user(user_id).await?;
        if user.mfa_enabled {
            return Err(AppError::Conflict(
                "two-factor authentication is already on".into(),
            ));
        }
        let secret = Secret::generate_secret().to_encoded().to_string();
        let totp = totp_for(&secret, &user.phone)?;
        self.store.set_totp(user.id, Some(&secret), false).await?;
        Ok(MfaEnrolment {
            secret,
            otpauth_url: totp.get_url(),
        })
    }

    /// Completes enrolment: from now on login needs a code.
    pub async fn mfa_verify(&self, user_id: i64, code: &str) -> AppResult<()> {
        let user = self.user(user_id).await?;
        let Some(secret) = user.totp_secret.as_deref() else {
            return Err(AppError::Conflict(
                "start enrolment first (POST /v1/auth/mfa/enroll)".into(),
            ));
        };
        if !totp_for(secret, &user.phone)?
            .check_current(code.trim())
            .unwrap_or(false)
        {
            return Err(
                ParseError::new("code", "the code does not match; check the device clock").into(),
            );
        }
        self.store.set_totp(user.id, Some(secret), true).await?;
        Ok(())
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

    #[test]
    fn refresh_tokens_are_stored_hashed() {
        let t = random_token(32);
        assert_eq!(t.len(), 64);
        assert_ne!(sha256_hex(&t), t);
        assert_eq!(sha256_hex(&t), sha256_hex(&t));
    }
}
