//! Security headers on every page and asset of the web app. The policy
//! allows scripts, styles and images from this server only; the one other
//! host a page may talk to is the card gateway (the payment page posts the
//! card there, so its number never reaches this server).

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;

/// `scheme://host[:port]` of a URL, or `None`.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    let ok = matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The page policy: no inline script or style anywhere.
pub fn policy(gateway_origin: Option<&str>) -> String {
    let connect = match gateway_origin {
        Some(g) => format!("'self' {g}"),
        None => "'self'".into(),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {connect}; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'; object-src 'none'"
    )
}

pub async fn secure(State(app): State<App>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let gateway = app.card_gateway().ok().and_then(|g| origin(&g.tokens_url));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy(gateway.as_deref())) {
        h.insert(CONTENT_SECURITY_POLICY, v);
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_origin_is_the_only_other_host() {
        assert_eq!(
            origin("http://127.0.0.1:8090/v1/tokens").as_deref(),
            Some("http://127.0.0.1:8090")
        );
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(origin("http://a b/"), None);
        let p = policy(Some("http://127.0.0.1:8090"));
        assert!(p.contains("connect-src 'self' http://127.0.0.1:8090;"));
        assert!(!p.contains("unsafe"));
    }
}
