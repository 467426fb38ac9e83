//! The OpenAPI document at `/openapi.json` and the docs page at `/docs`, on
//! both backends: the document is 3.1, names every route the router serves
//! with its methods (read from the router's source, so a route added without
//! docs fails here), and nothing it names is missing from the server; the page
//! and its script load from the server itself.

use crate::common::server::TestApp;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

/// The router's source: every `.route(...)` in it is a route served.
const ROUTER: &str = include_str!("../../src/server/mod.rs");

/// `(path, METHOD)` of every route the router registers.
fn router_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut rest = ROUTER;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's text, up to its closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a .route( call closes");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a route's path is a literal");
        for method in ["get", "post", "put", "delete", "patch"] {
            let named = |c: &str| {
                c.match_indices(&format!("{method}("))
                    .any(|(i, _)| i == 0 || !c.as_bytes()[i - 1].is_ascii_alphanumeric())
            };
            if named(call) {
                routes.insert((path.to_owned(), method.to_uppercase()));
            }
        }
    }
    assert!(
        routes.len() > 40,
        "the router's routes were found: {routes:?}"
    );
    routes
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            ops.insert((path.clone(), method.to_uppercase()));
        }
    }
    ops
}

async fn the_document_is_openapi_3_1_and_names_every_route(t: TestApp) {
    let reply = t.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    let doc = reply.body;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let served = router_routes();
    let named = documented(&doc);
    let undocumented: Vec<_> = served.difference(&named).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    let unserved: Vec<_> = named.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "documented but not routed: {unserved:?}"
    );

    // Probing agrees: each documented operation reaches a handler (not the
    // fallback's "no such endpoint" nor a 405).
    for (path, method) in &named {
        let concrete = path
            .replace("{id}", "1")
            .replace("{number}", "701")
            .replace("{sale}", "eid");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let reply = t.send(method.clone(), &concrete, None, None).await;
        assert_ne!(reply.status, 405, "{method} {concrete}: {}", reply.body);
        assert!(
            !(reply.status == 404 && reply.body["detail"] == "no such endpoint"),
            "{method} {concrete} is not routed"
        );
    }

    // Every operation says how it fails; everything behind the rate limits
    // documents 429, and every answer carries x-request-id.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has no success answer"
            );
            if path.starts_with("/v1/") {
                assert!(responses.contains_key("429"), "{method} {path}: no 429");
                assert!(
                    responses
                        .values()
                        .any(|r| r["content"].get("application/problem+json").is_some()),
                    "{method} {path}: no problem answer"
                );
            }
            for (status, r) in responses {
                assert_eq!(
                    r["headers"]["x-request-id"]["required"], true,
                    "{method} {path} {status}"
                );
            }
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().all(|r| r.get("bearer").is_some()));
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
        }
    }

    // The headers the issue names are documented where they apply.
    let params = |path: &str, method: &str| doc["paths"][path][method]["parameters"].to_string();
    assert!(params("/v1/orders", "post").contains("Idempotency-Key"));
    assert!(params("/v1/orders", "post").contains("Admission-Token"));
    assert!(params("/v1/holds", "post").contains("Admission-Token"));
    assert!(params("/v1/counter/orders", "post").contains("Idempotency-Key"));
    let rate_limited = &doc["paths"]["/v1/holds"]["post"]["responses"]["429"]["headers"];
    for header in ["RateLimit-Limit", "RateLimit-Remaining", "Retry-After"] {
        assert!(
            rate_limited.get(header).is_some(),
            "{header}: {rate_limited}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["bearerFormat"],
        "JWT"
    );
    let types = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
        .as_array()
        .expect("the problem types are listed")
        .clone();
    assert!(types.contains(&Value::from("/problems/seats-unavailable")));
    assert!(types.contains(&Value::from("/problems/payment-failed")));
}

async fn the_docs_page_is_served_offline(t: TestApp) {
    let page = t.client.get(t.url("/docs")).send().await.expect("docs");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let script = t.client.get(t.url("/docs/docs.js")).send().await.unwrap();
    assert_eq!(script.status(), 200);
    let script = script.text().await.unwrap();
    assert!(script.contains("\"/openapi.json\""), "{script}");
    for (asset, kind, at_least) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript", 1_000_000),
        ("/docs/swagger-ui.css", "text/css", 100_000),
    ] {
        assert!(html.contains(asset), "the page loads {asset}");
        let reply = t.client.get(t.url(asset)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{asset}");
        let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        assert!(reply.bytes().await.unwrap().len() > at_least, "{asset}");
    }
}

on_both_backends!(
    the_document_is_openapi_3_1_and_names_every_route,
    the_docs_page_is_served_offline,
);
