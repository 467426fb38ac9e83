//! A mock NID registry: the national ID verification service (in Bangladesh,
//! the Election Commission's) that registration asks whether an NID exists
//! and belongs to the date of birth (and name) given.
//!
//! `POST /v1/verify` with header `X-Api-Key` and `{nid, dob, name?}` answers
//! 200 `{verified, reason}` for a claim it can judge, 401 without the right
//! key, 422 for a malformed claim, 503 when "down". Who exists is decided by
//! the NID itself, so tests and demos need no set-up (see `IDENTITIES`):
//!
//! | NID | answer |
//! |---|---|
//! | one of `IDENTITIES` | that person: date of birth and name are checked |
//! | starts with `000` | `not_found` |
//! | starts with `111` | 503: the registry is down |
//! | starts with `222` | answers only after the configured delay (10 s): slower than any client waits |
//! | any other 10, 13 or 17 digits | a citizen born 1990-01-01 with no name on record |
//!
//! It keeps no state but its key and delay: every answer follows from the claim.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use crate::wire::nid::{VerifyRequest, VerifyResponse};

/// The header that carries the shared API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The date of birth of every citizen the rule makes up.
pub const DEFAULT_DOB: &str = "1990-01-01";

/// Named test identities: (NID, date of birth, name).
pub const IDENTITIES: &[(&str, &str, &str)] = &[
    ("1990123456", "1990-01-15", "Rahim Uddin"),
    ("1985123456789", "1985-06-30", "Karima Begum"),
    ("19901234567890123", "1990-12-01", "Abdul Karim"),
];

/// How the mock is set up.
#[derive(Clone)]
pub struct MockNidRegistry {
    api_key: Arc<str>,
    /// How long a `222…` NID takes to answer.
    slow: Duration,
}

impl MockNidRegistry {
    pub fn new(api_key: &str, slow: Duration) -> Self {
        MockNidRegistry {
            api_key: api_key.into(),
            slow,
        }
    }
}

impl std::fmt::Debug for MockNidRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockNidRegistry")
            .field("slow", &self.slow)
            .finish_non_exhaustive()
    }
}

pub fn router(state: MockNidRegistry) -> Router {
    Router::new()
        .route("/v1/verify", post(verify))
        .with_state(state)
}

fn answer(status: StatusCode, verified: bool, reason: &str) -> Response {
    (
        status,
        Json(VerifyResponse {
            verified,
            reason: reason.to_owned(),
        }),
    )
        .into_response()
}

async fn verify(
    State(state): State<MockNidRegistry>,
    headers: HeaderMap,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Response {
    let key = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok());
    // Compared in constant time: the key is the mock's only secret.
    if !key.is_some_and(|k| constant_time_eq(k.as_bytes(), state.api_key.as_bytes())) {
        return answer(StatusCode::UNAUTHORIZED, false, "bad_api_key");
    }
    let Ok(Json(claim)) = body else {
        return answer(StatusCode::UNPROCESSABLE_ENTITY, false, "malformed");
    };
    let nid = claim.nid.as_str();
    let well_formed = matches!(nid.len(), 10 | 13 | 17)
        && nid.bytes().all(|b| b.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(&claim.dob, "%Y-%m-%d").is_ok();
    if !well_formed {
        return answer(StatusCode::UNPROCESSABLE_ENTITY, false, "malformed");
    }
    if nid.starts_with("111") {
        return answer(StatusCode::SERVICE_UNAVAILABLE, false, "unavailable");
    }
    if nid.starts_with("222") {
        tokio::time::sleep(state.slow).await;
    }
    let reason = judge(nid, &claim.dob, claim.name.as_deref());
    answer(StatusCode::OK, reason == "verified", reason)
}

/// The registry's verdict on a well-formed claim.
fn judge(nid: &str, dob: &str, name: Option<&str>) -> &'static str {
    if nid.starts_with("000") {
        return "not_found";
    }
    let (on_record_dob, on_record_name) = IDENTITIES
        .iter()
        .find(|(n, _, _)| *n == nid)
        .map_or((DEFAULT_DOB, None), |(_, d, name)| (*d, Some(*name)));
    if dob != on_record_dob {
        return "dob_mismatch";
    }
    match (name, on_record_name) {
        (Some(given), Some(known)) if !same_name(given, known) => "name_mismatch",
        _ => "verified",
    }
}

/// Names match regardless of case and spacing.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    norm(a) == norm(b)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nid_decides_who_exists() {
        assert_eq!(judge("5512345678901", "1990-01-01", None), "verified");
        assert_eq!(judge("5512345678901", "1990-01-02", None), "dob_mismatch");
        assert_eq!(judge("0001234567", "1990-01-01", None), "not_found");
        assert_eq!(
            judge("1990123456", "1990-01-15", Some("rahim  UDDIN")),
            "verified"
        );
        assert_eq!(judge("1990123456", "1990-01-01", None), "dob_mismatch");
        assert_eq!(
            judge("1990123456", "1990-01-15", Some("Karim")),
            "name_mismatch"
        );
        // No name on record: any name is accepted.
        assert_eq!(judge("5512345678901", "1990-01-01", Some("X")), "verified");
    }
}
