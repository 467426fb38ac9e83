//! Identity over HTTP on both backends: register, login, tokens, two-factor,
//! lockout, roles, and bad input that must change nothing.

use crate::common::server::{PASSWORD, TEST_JWT_SECRET, TestApp};
use crate::common::server::{TEST_DOB, fresh_nid};
use reqwest::StatusCode;
use serde_json::json;
use ticketctl::app::identity::Claims;
use ticketctl::domain::Role;

fn registration(phone: &str, email: &str) -> serde_json::Value {
    json!({ "name": "Rahima Akter", "phone": phone, "email": email, "password": PASSWORD, "nid": fresh_nid(), "date_of_birth": TEST_DOB })
}

async fn register_log_in_by_phone_or_email_and_rotate_refresh_tokens(t: TestApp) {
    let r = t
        .post(
            "/v1/auth/register",
            registration("01712345678", "rahima@example.com"),
        )
        .await;
    // 202 and no account details: the same answer whether or not the account existed.
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["status"], "accepted");

    // Log in by phone in another spelling, and by e-mail.
    let r = t
        .post(
            "/v1/auth/login",
            json!({ "login": "+880 1712-345678", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    let refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["expires_in"], 900);
    let r = t
        .post(
            "/v1/auth/login",
            json!({ "login": "RAHIMA@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let me = t.get_as("/v1/me", &access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "rahima@example.com");
    assert_eq!(me.body["phone"], "+8801712345678");
    assert_eq!(me.body["role"], "passenger");

    // Refresh tokens rotate: the new pair works (its access token and its
    // refresh token, once), the old refresh token never again.
    let r = t
        .post("/v1/auth/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new_access = r.body["access_token"].as_str().unwrap().to_owned();
    let new_refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh, "a new refresh token");
    let me = t.get_as("/v1/me", &new_access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["email"], "rahima@example.com");
    let rotated = t
        .post("/v1/auth/refresh", json!({ "refresh_token": new_refresh }))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let again = t
        .post("/v1/auth/refresh", json!({ "refresh_token": refresh }))
        .await;
    again.assert_problem(401, "unauthorized");
}

async fn wrong_password_tampered_and_expired_tokens_get_401(t: TestApp) {
    let token = t.user_token("01812345678", Role::Passenger).await;
    t.post(
        "/v1/auth/login",
        json!({ "login": "01812345678", "password": "wrong password" }),
    )
    .await
    .assert_problem(401, "unauthorized");
    t.post(
        "/v1/auth/login",
        json!({ "login": "01999999999", "password": PASSWORD }),
    )
    .await
    .assert_problem(401, "unauthorized");

    t.get("/v1/me").await.assert_problem(401, "unauthorized");
    // Flip one character of the signature.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    t.get_as("/v1/me", std::str::from_utf8(&tampered).unwrap())
        .await
        .assert_problem(401, "unauthorized");
    // A token claiming admin, signed with another key.
    let now = t.app.now().timestamp();
    let forged = Claims {
        sub: 1,
        role: Role::Admin,
        iat: now,
        exp: now + 600,
        iss: "ticketctl".into(),
        sid: None,
    };
    let forged = jsonwebtoken::encode(
        &Default::default(),
        &forged,
        &jsonwebtoken::EncodingKey::from_secret(b"not the server's secret, not at all"),
    )
    .unwrap();
    t.get_as("/v1/admin/users", &forged)
        .await
        .assert_problem(401, "unauthorized");
    // A correctly signed token that expired ten minutes ago.
    let me = t.get_as("/v1/me", &token).await.body;
    let expired = Claims {
        sub: me["id"].as_i64().unwrap(),
        role: Role::Passenger,
        iat: now - 1500,
        exp: now - 600,
        iss: "ticketctl".into(),
        sid: None,
    };
    let expired = jsonwebtoken::encode(
        &Default::default(),
        &expired,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let r = t.get_as("/v1/me", &expired).await;
    r.assert_problem(401, "unauthorized");
    assert!(r.body["detail"].as_str().unwrap().contains("expired"));
}

async fn mfa_enrol_then_login_needs_the_code(t: TestApp) {
    let token = t.user_token("01912345678", Role::Passenger).await;
    let enrol = t.post_as("/v1/auth/mfa/enroll", &token, json!({})).await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    let secret = enrol.body["secret"].as_str().unwrap().to_owned();
    assert!(
        enrol.body["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );

    // A wrong code does not switch it on; the right one does.
    t.post_as("/v1/auth/mfa/verify", &token, json!({ "code": "000000" }))
        .await
        .assert_problem(422, "invalid-field");
    let ok = t
        .post_as(
            "/v1/auth/mfa/verify",
            &token,
            json!({ "code": crate::common::server::current_code(&secret) }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    let login = json!({ "login": "01912345678", "password": PASSWORD });
    t.post("/v1/auth/login", login.clone())
        .await
        .assert_problem(401, "mfa-required");
    let mut with_wrong = login.clone();
    with_wrong["totp"] = json!("123456");
    if crate::common::server::current_code(&secret) != "123456" {
        t.post("/v1/auth/login", with_wrong)
            .await
            .assert_problem(401, "unauthorized");
    }
    // The enrolment code was used; a code works once, so log in with the next step's.
    let mut with_code = login;
    with_code["totp"] = json!(crate::common::server::code_at(
        &secret,
        crate::common::server::suite_now().timestamp() + 30
    ));
    let r = t.post("/v1/auth/login", with_code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = t
        .get_as("/v1/me", r.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["mfa_enabled"], true);
}

async fn repeated_failures_lock_the_account(t: TestApp) {
    t.user_token("01512345678", Role::Passenger).await;
    let wrong = json!({ "login": "01512345678", "password": "not my password" });
    for _ in 0..4 {
        t.post("/v1/auth/login", wrong.clone())
            .await
            .assert_problem(401, "unauthorized");
    }
    let locked = t.post("/v1/auth/login", wrong).await;
    locked.assert_problem(429, "login-locked");
    assert!(locked.headers.get("retry-after").is_some());
    // Even the right password is refused while locked.
    t.post(
        "/v1/auth/login",
        json!({ "login": "01512345678", "password": PASSWORD }),
    )
    .await
    .assert_problem(429, "login-locked");
}

async fn admin_endpoints_check_roles(t: TestApp) {
    let passenger = t.user_token("01611111111", Role::Passenger).await;
    let admin = t.user_token("01622222222", Role::Admin).await;
    t.get_as("/v1/admin/users", &passenger)
        .await
        .assert_problem(403, "forbidden");
    let users = t.get_as("/v1/admin/users", &admin).await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.body["users"].as_array().unwrap().len(), 2);
    let passenger_id = t.get_as("/v1/me", &passenger).await.body["id"]
        .as_i64()
        .unwrap();

    let path = format!("/v1/admin/users/{passenger_id}/role");
    let r = t
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "role": "clerk" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["role"], "clerk");
    let r = t
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "role": "emperor" })),
        )
        .await;
    r.assert_problem(422, "invalid-body");
    let r = t
        .send(
            reqwest::Method::PUT,
            "/v1/admin/users/999999/role",
            Some(&admin),
            Some(json!({ "role": "clerk" })),
        )
        .await;
    r.assert_problem(404, "not-found");
}

async fn bad_registrations_are_refused_and_change_nothing(t: TestApp) {
    let ok = t
        .post(
            "/v1/auth/register",
            registration("01712345670", "first@example.com"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED);
    let before = t.app.raw_store().counts().await.unwrap();

    // A phone or e-mail already in use answers as a new registration does
    // (tests/it/hardening_identity.rs), and changes nothing.
    for taken in [
        registration("01712345670", "other@example.com"),
        registration("01712345671", "FIRST@example.com"),
    ] {
        let r = t.post("/v1/auth/register", taken).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (
            registration("02712345678", "a@example.com"),
            422,
            "invalid-field",
        ),
        (
            registration("01712345672", "not-an-email"),
            422,
            "invalid-field",
        ),
        (
            json!({ "name": "X", "phone": "01712345673", "email": "x@example.com", "password": "short", "nid": fresh_nid(), "date_of_birth": TEST_DOB }),
            422,
            "invalid-field",
        ),
        (
            json!({ "name": "", "phone": "01712345674", "email": "y@example.com", "password": PASSWORD, "nid": fresh_nid(), "date_of_birth": TEST_DOB }),
            422,
            "invalid-field",
        ),
        (
            json!({ "name": "X", "phone": 1712345675, "email": "z@example.com", "password": PASSWORD, "nid": fresh_nid(), "date_of_birth": TEST_DOB }),
            422,
            "invalid-body",
        ),
        (
            json!({ "name": "X", "phone": "01712345676" }),
            422,
            "invalid-body",
        ),
        (
            json!({ "name": "X", "phone": "01712345677", "email": "w@example.com", "password": PASSWORD, "role": "admin", "nid": fresh_nid(), "date_of_birth": TEST_DOB }),
            422,
            "invalid-body",
        ),
    ];
    for (body, status, slug) in cases {
        t.post("/v1/auth/register", body.clone())
            .await
            .assert_problem(status, slug);
    }
    t.post_raw("/v1/auth/register", b"{\"name\": \"X\",".to_vec())
        .await
        .assert_problem(400, "malformed-json");
    t.post_raw("/v1/auth/register", vec![b' '; 200 * 1024])
        .await
        .assert_problem(413, "body-too-large");
    let no_type = t
        .client
        .post(t.url("/v1/auth/register"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    t.get("/v1/no/such/thing")
        .await
        .assert_problem(404, "not-found");
    t.send(reqwest::Method::DELETE, "/v1/auth/register", None, None)
        .await
        .assert_problem(405, "method-not-allowed");

    assert_eq!(
        t.app.raw_store().counts().await.unwrap(),
        before,
        "bad input changed the database"
    );
}

on_both_backends!(
    register_log_in_by_phone_or_email_and_rotate_refresh_tokens,
    wrong_password_tampered_and_expired_tokens_get_401,
    mfa_enrol_then_login_needs_the_code,
    repeated_failures_lock_the_account,
    admin_endpoints_check_roles,
    bad_registrations_are_refused_and_change_nothing,
);
