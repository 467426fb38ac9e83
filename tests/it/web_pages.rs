//! The web app over plain HTTP, on both backends: the first page's weight on
//! a slow network, the security headers and cookies, CSRF refusals, bad input
//! as 4xx pages, the language choice, and cacheable assets.

use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use std::io::Write;

use crate::common::server::{PASSWORD, TestApp, tiny_trip};
use ticketctl::app::seed::Quiet;
use ticketctl::domain::Role;

/// The first page may weigh this much compressed (HTML, CSS and script).
const FIRST_PAGE_BUDGET: usize = 60 * 1024;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn gzipped(bytes: &[u8]) -> usize {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

fn cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value `name` is set to in `h`'s Set-Cookie headers.
fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    cookies(h).iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// Every asset URL a page names (`/assets/…`).
fn assets_of(html: &str) -> Vec<String> {
    html.split('"')
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

async fn the_first_page_is_light_secure_and_inline_free(t: TestApp) {
    // The whole network, so the station suggestions weigh what they will.
    t.app.seed_network(&Quiet).await.expect("seed network");
    let c = no_redirects();
    let r = c.get(t.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    let html = r.text().await.unwrap();
    let mut total = gzipped(html.as_bytes());
    let assets = assets_of(&html);
    assert_eq!(assets.len(), 2, "{assets:?}");
    for a in &assets {
        let r = c.get(t.url(a)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{a}");
        let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(
            cache.contains("max-age=31536000") && cache.contains("immutable"),
            "{cache}"
        );
        total += gzipped(&r.bytes().await.unwrap());
    }
    eprintln!("first page: {total} bytes compressed (budget {FIRST_PAGE_BUDGET})");
    assert!(total <= FIRST_PAGE_BUDGET, "{total} bytes");
    let stale = c
        .get(t.url("/assets/000000000000/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);

    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    // No inline script or style for the policy to allow.
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "inline code in the page"
    );
    assert!(!html.contains("<style"), "inline style in the page");
    let csrf = cookies(&h)
        .into_iter()
        .find(|c| c.starts_with("tc_csrf="))
        .expect("a CSRF cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Lax"),
        "{csrf}"
    );
}

async fn forms_need_their_csrf_token_and_sign_in_is_httponly(t: TestApp) {
    t.user_token("01711000009", Role::Passenger).await;
    let c = no_redirects();
    let r = c.get(t.url("/signin")).send().await.unwrap();
    let token = cookie(r.headers(), "tc_csrf").unwrap();
    let form = |csrf: &str| {
        format!(
            "csrf={csrf}&back=%2F&login=01711000009&password={}",
            PASSWORD.replace(' ', "+")
        )
    };
    let post = |cookie: String, body: String| {
        c.post(t.url("/signin"))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    // No field, a wrong field, or no cookie: refused, nothing set.
    let other = "0".repeat(48);
    for (cookie, body) in [
        (format!("tc_csrf={token}"), form("").replace("csrf=&", "")),
        (format!("tc_csrf={token}"), form(&other)),
        (String::new(), form(&token)),
    ] {
        let r = post(cookie, body).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            cookie_of(&r, "tc_access"),
            None,
            "no sign-in without the token"
        );
    }
    let r = post(format!("tc_csrf={token}"), form(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let access = cookies(r.headers())
        .into_iter()
        .find(|c| c.starts_with("tc_access="))
        .expect("signed in");
    assert!(
        access.contains("HttpOnly") && access.contains("SameSite=Lax"),
        "{access}"
    );
    assert!(!access.contains("Secure"), "plain http here: {access}");
    // A wrong password: the form again, 401, in the visitor's words.
    let bad = form(&token).replace("correct", "wrong");
    let r = post(format!("tc_csrf={token}"), bad).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("is not right"));
}

fn cookie_of(r: &reqwest::Response, name: &str) -> Option<String> {
    cookie(r.headers(), name)
}

async fn bad_input_is_a_4xx_page_and_the_language_is_chosen(t: TestApp) {
    tiny_trip(&t.app, 8).await;
    let c = no_redirects();
    for (path, status) in [
        ("/search?from=Dhaka&to=Chattogram&date=2026-13-45", 422),
        ("/search?from=&to=CTG&date=2026-12-01", 422),
        ("/search?from=Dhakka&to=CTG&date=2026-12-01", 422),
        (
            &format!("/search?from={}&to=CTG&date=2026-12-01", "x".repeat(200)),
            422,
        ),
        ("/trips/not-a-trip?from=DHK&to=CTG", 404),
        ("/lang/fr?back=/", 404),
    ] {
        let r = c.get(t.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let r = c
        .get(t.url("/search?from=Dhakka&to=CTG&date=2026-12-01"))
        .send()
        .await
        .unwrap();
    assert!(
        r.text().await.unwrap().contains("Dhaka (DHK)"),
        "the API's suggestion is shown"
    );
    // Accept-Language by default; the switch's cookie wins; back only to this site.
    let r = c
        .get(t.url("/"))
        .header("accept-language", "bn-BD,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<html lang=\"bn\""));
    let r = c
        .get(t.url("/lang/en?back=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(cookie_of(&r, "tc_lang").as_deref(), Some("en"));
    let r = c
        .get(t.url("/"))
        .header("accept-language", "bn")
        .header("cookie", "tc_lang=en")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<html lang=\"en\""));
    // Pages that need a sign-in send the visitor to it, and back after.
    let r = c.get(t.url("/my/trips")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?back=%2Fmy%2Ftrips");
}

on_both_backends!(
    the_first_page_is_light_secure_and_inline_free,
    forms_need_their_csrf_token_and_sign_in_is_httponly,
    bad_input_is_a_4xx_page_and_the_language_is_chosen,
);
