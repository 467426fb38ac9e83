//! Registration and sign-in through the web app's forms, on both backends:
//! a new account (its NID verified at the registry) signs in; an account
//! with two-factor on is asked for its code, and signs in with it.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::json;

use crate::common::server::{
    PASSWORD, TEST_DOB, TestApp, code_at, current_code, fresh_nid, suite_now,
};
use ticketctl::domain::Role;

/// A browser-like visitor: no redirects followed, its CSRF cookie in hand.
struct Visitor {
    c: reqwest::Client,
    csrf: String,
}

impl Visitor {
    async fn new(t: &TestApp) -> Visitor {
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = c.get(t.url("/signin")).send().await.unwrap();
        let csrf = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("tc_csrf="))
            .and_then(|c| c.split(';').next())
            .expect("a CSRF cookie")
            .to_owned();
        Visitor { c, csrf }
    }

    async fn post(&self, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.c
            .post(t.url(path))
            .header("cookie", format!("tc_csrf={}", self.csrf))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&all).unwrap())
            .send()
            .await
            .unwrap()
    }
}

fn signed_in(r: &reqwest::Response) -> bool {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("tc_access=ey"))
}

async fn registering_then_signing_in_through_the_forms(t: TestApp) {
    let v = Visitor::new(&t).await;
    let nid = fresh_nid();
    let form = [
        ("name", "Rahima Akter"),
        ("phone", "01711000021"),
        ("email", "rahima@example.com"),
        ("nid", nid.as_str()),
        ("date_of_birth", TEST_DOB),
        ("password", PASSWORD),
    ];
    // A bad phone: the form again, 422, naming the field, and no account.
    let mut bad = form;
    bad[1] = ("phone", "12345");
    let r = v.post(&t, "/register", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("phone"));
    let r = v.post(&t, "/register", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?registered=1");
    let r = v
        .post(
            &t,
            "/signin",
            &[
                ("login", "01711000021"),
                ("password", PASSWORD),
                ("back", "/my/trips"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/my/trips");
    assert!(signed_in(&r));
}

async fn two_factor_sign_in_asks_for_the_code(t: TestApp) {
    let token = t.user_token("01711000022", Role::Passenger).await;
    let enrol = t.post_as("/v1/auth/mfa/enroll", &token, json!({})).await;
    let secret = enrol.body["secret"].as_str().unwrap().to_owned();
    let on = t
        .post_as(
            "/v1/auth/mfa/verify",
            &token,
            json!({ "code": current_code(&secret) }),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);

    let v = Visitor::new(&t).await;
    let login = [("login", "01711000022"), ("password", PASSWORD)];
    let r = v.post(&t, "/signin", &login).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!signed_in(&r));
    assert!(r.text().await.unwrap().contains("authenticator app"));
    // The enrolment's code was used; the next step's signs in.
    let code = code_at(&secret, suite_now().timestamp() + 30);
    let r = v
        .post(
            &t,
            "/signin",
            &[login[0], login[1], ("totp", code.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(signed_in(&r));
}

on_both_backends!(
    registering_then_signing_in_through_the_forms,
    two_factor_sign_in_asks_for_the_code,
);
