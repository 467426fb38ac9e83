//! `x-request-id`: every answer carries one, and every log line written while
//! handling the request carries it too (a tracing span around the request).
//!
//! A client's (or load balancer's) own id is kept when it is a sane token, so
//! one id follows a request across systems; anything else (missing, too long,
//! odd characters that could forge log lines) is replaced by a fresh one.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a request.
const MAX_LEN: usize = 128;

/// The request's id as handlers may read it from the extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// `value` if it is 1–128 characters of letters, digits and `-_.:`.
fn sane(value: &HeaderValue) -> Option<&str> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then_some(s)
}

/// 128 random bits in hex.
fn fresh() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

pub async fn tag(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane)
        .map_or_else(fresh, str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_refused() {
        for good in ["abc", "3f2a-11:x.y_z", &"a".repeat(128)] {
            assert_eq!(sane(&HeaderValue::from_str(good).unwrap()), Some(good));
        }
        for bad in [
            "",
            "has space",
            "new\tline",
            "ünï",
            &"a".repeat(129),
            "x\"y",
        ] {
            let Ok(v) = HeaderValue::from_str(bad) else {
                continue;
            };
            assert_eq!(sane(&v), None, "{bad:?}");
        }
    }

    #[test]
    fn fresh_ids_are_unique_hex() {
        let (a, b) = (fresh(), fresh());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(sane(&HeaderValue::from_str(&a).unwrap()).is_some());
    }
}
