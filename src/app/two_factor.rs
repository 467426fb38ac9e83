//! TOTP two-factor: enrolment, and one-use codes.
//!
//! A code is accepted only for a time step later than the last one accepted
//! for the user (a compare-and-set in the store), so a code seen over someone's
//! shoulder or sent twice at once works at most once. Every code checked counts
//! as a login attempt, so codes cannot be guessed faster than passwords.

use totp_rs::{Secret, TOTP};

use super::identity::ISSUER;
use super::{App, AppError, AppResult};
use crate::domain::User;
use crate::domain::{ParseError, UserId};
use crate::wire::identity::MfaEnrolment;

/// Seconds per TOTP time step (RFC 6238's default, what authenticator apps use).
const STEP_SECS: i64 = 30;

fn totp_for(secret_b32: &str, account: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|e| AppError::Internal(format!("bad TOTP secret: {e:?}")))?;
    TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        STEP_SECS as u64,
        bytes,
        Some(ISSUER.to_owned()),
        account.replace(':', ""),
    )
    .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

/// Compares without an early exit, so timing does not reveal how many digits matched.
fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// The time step whose code `code` is, allowing one step of clock drift either way.
fn matching_step(totp: &TOTP, code: &str, unix_secs: i64) -> Option<i64> {
    let now = unix_secs.div_euclid(STEP_SECS);
    (now - 1..=now + 1).find(|step| {
        u64::try_from(step * STEP_SECS).is_ok_and(|t| same_code(&totp.generate(t), code))
    })
}

impl App {
    /// True when `code` is the user's current code and was not used before
    /// (using it now). Does not count the attempt: callers reserve it first.
    pub(crate) async fn take_totp_code(&self, user: &User, code: &str) -> AppResult<bool> {
        let Some(secret) = user.totp_secret.as_deref() else {
            return Ok(false);
        };
        let totp = totp_for(secret, &user.phone)?;
        let Some(step) = matching_step(&totp, code.trim(), self.now().timestamp()) else {
            return Ok(false);
        };
        Ok(self.store.accept_totp_step(user.id, step).await?)
    }

    /// Starts TOTP enrolment: a new secret that takes effect once a code from it is verified.
    pub async fn mfa_enroll(&self, user_id: UserId) -> AppResult<MfaEnrolment> {
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

    /// Completes enrolment: from now on login needs a code. Each code tried
    /// counts as a login attempt (the lockout applies), and works once.
    pub async fn mfa_verify(&self, user_id: UserId, code: &str) -> AppResult<()> {
        let user = self.user(user_id).await?;
        let Some(secret) = user.totp_secret.as_deref() else {
            return Err(AppError::Conflict(
                "start enrolment first (POST /v1/auth/mfa/enroll)".into(),
            ));
        };
        self.reserve_attempt(user.id).await?;
        if !self.take_totp_code(&user, code).await? {
            self.fail_attempt(user.id).await?;
            return Err(ParseError::new(
                "code",
                "the code does not match (or was already used); check the device clock",
            )
            .into());
        }
        self.store.set_totp(user.id, Some(secret), true).await?;
        self.store.clear_failed_logins(user.id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_one_step_of_drift_only() {
        let totp = totp_for("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "+8801712345678").unwrap();
        let t = 1_700_000_015; // inside step 56_666_667
        let step = t / STEP_SECS;
        let code_at = |s: i64| totp.generate((s * STEP_SECS) as u64);
        assert_eq!(matching_step(&totp, &code_at(step), t), Some(step));
        assert_eq!(matching_step(&totp, &code_at(step - 1), t), Some(step - 1));
        assert_eq!(matching_step(&totp, &code_at(step + 1), t), Some(step + 1));
        // Two steps away is too far (with this secret, no nearer step shares the code).
        assert_eq!(matching_step(&totp, &code_at(step - 2), t), None);
        assert_eq!(matching_step(&totp, &code_at(step + 2), t), None);
        assert_eq!(matching_step(&totp, "12345", t), None);
    }

    #[test]
    fn code_comparison_needs_every_byte_equal() {
        assert!(same_code("123456", "123456"));
        assert!(!same_code("123456", "123457"));
        assert!(!same_code("123456", "12345"));
    }
}
