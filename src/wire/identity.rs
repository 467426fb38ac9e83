//! Identity bodies: registering, logging in, tokens, two-factor, the caller.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Role, UserId};

/// `POST /v1/auth/register`: the NID and date of birth are checked at the
/// NID registry before the account is made; one account per NID.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password: String,
    /// The national ID: 10, 13 or 17 digits.
    pub nid: String,
    /// `YYYY-MM-DD`, as the NID registry records it.
    pub date_of_birth: String,
}

/// Shows neither the password nor the NID.
impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("name", &self.name)
            .field("phone", &self.phone)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Phone number or e-mail.
    pub login: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
}

/// `DELETE /v1/me`: the account holder signs again before erasure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    pub password: String,
    /// The current two-factor code, when two-factor is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
}

/// `POST /v1/auth/refresh` and `/v1/auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// `POST /v1/me/mfa/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub code: String,
}

/// What logging in or refreshing answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// A user as the API shows them (`GET /v1/me`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub role: Role,
    pub mfa_enabled: bool,
    /// The account's verified national ID; absent until one is added (an
    /// account without one cannot buy online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nid: Option<String>,
}

/// `POST /v1/me/mfa/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaEnrolment {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

/// `POST /v1/auth/register` (202): the same answer whether or not the phone
/// and e-mail were free, so registering reveals nothing about who has an account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Registered {
    /// Always "accepted".
    pub status: String,
    pub detail: String,
}

/// `POST /v1/auth/mfa/verify`: two-factor sign-in is now on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    pub mfa_enabled: bool,
}
