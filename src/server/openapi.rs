//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the wire
//! types (`ToSchema`) and the handlers' `#[utoipa::path]` annotations.
//!
//! Handlers list the answers only they give (a 409 for taken seats, a 402 for a
//! declined card). What an operation can answer because of where it sits is
//! added here once, from the operation's own shape, so it cannot be forgotten
//! on one handler: the rate limits and load shedding in front of `/v1/`
//! (429, 503), bearer authentication (401), the JSON body extractor (400, 413,
//! 415, 422) and the path and query extractors with the text rule (400, 422).
//! Every answer's `x-request-id` and the `RateLimit-*` headers are added the
//! same way.

use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::{
    admin, booking, catalog, counter, health, identity, live, metrics, nid, personal, queue, risk,
    trip_ops, wallet,
};
use crate::wire::problem::Problem;

/// Every problem `type` slug the server answers with (`/problems/{slug}`).
pub const PROBLEM_TYPES: &[&str] = &[
    "body-too-large",
    "conflict",
    "forbidden",
    "hold-limit",
    "idempotency-key-missing",
    "idempotency-key-reused",
    "internal",
    "invalid-body",
    "invalid-field",
    "invalid-path",
    "invalid-query",
    "login-locked",
    "malformed-json",
    "method-not-allowed",
    "mfa-required",
    "nid-flagged",
    "nid-limit",
    "nid-not-verified",
    "nid-required",
    "nid-taken",
    "not-found",
    "order-in-progress",
    "overloaded",
    "payment-failed",
    "rate-limited",
    "risk-blocked",
    "seats-unavailable",
    "step-up-required",
    "step-up-throttled",
    "too-many-streams",
    "unauthorized",
    "unavailable",
    "unknown-station",
    "unsupported-media-type",
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ticketctl",
        description = "The booking API of an open railway ticketing system. Errors are RFC 9457 \
            problems (`application/problem+json`) whose `type` is one of `/problems/{slug}`. \
            Sign in with `POST /v1/auth/login` and send `Authorization: Bearer <access_token>`.",
        license(name = "MIT"),
    ),
    paths(
        health::healthz,
        health::readyz,
        metrics::scrape,
        super::docs::openapi_json,
        super::docs::page,
        super::docs::script,
        super::docs::bundle,
        super::docs::stylesheet,
        catalog::stations,
        catalog::trains,
        catalog::train,
        catalog::search,
        catalog::trip,
        catalog::seats,
        live::trip_live,
        identity::register,
        identity::login,
        identity::refresh,
        identity::logout,
        identity::mfa_enroll,
        identity::mfa_verify,
        identity::me,
        personal::export,
        personal::erase,
        booking::create_hold,
        booking::get_hold,
        booking::release_hold,
        booking::card_gateway,
        booking::register_token,
        wallet::callback,
        booking::place_order,
        booking::get_order,
        booking::cancel_order,
        booking::my_orders,
        booking::verify_ticket,
        booking::public_key,
        booking::get_ticket,
        booking::ticket_png,
        booking::ticket_svg,
        booking::audit_verify,
        queue::join,
        queue::status,
        queue::leave,
        queue::create,
        queue::control,
        admin::users,
        admin::set_role,
        admin::add_station,
        admin::schedule_trip,
        trip_ops::cancel_trip,
        trip_ops::sale_window,
        trip_ops::delay_trip,
        trip_ops::add_coach,
        trip_ops::coach_sale,
        counter::hold,
        counter::sell,
        counter::order,
        counter::cancel,
        counter::lookup,
        counter::shift,
        nid::add_nid,
        nid::report,
        nid::flagged,
        nid::clear,
        risk::list,
        risk::clear,
        risk::send_sms,
        super::region::status,
        super::region::takeover,
    ),
    components(schemas(Problem)),
    tags(
        (name = "catalog", description = "Stations, trains, trip search and seat maps (public)"),
        (name = "identity", description = "Accounts, tokens and two-factor sign-in"),
        (name = "booking", description = "Holds, card tokens and orders (the booking saga)"),
        (name = "tickets", description = "Tickets, their QR codes, and verification for inspectors"),
        (name = "queue", description = "The waiting room of a peak sale"),
        (name = "counter", description = "Cash sales at station counters (clerks)"),
        (name = "admin", description = "Administration (admins)"),
        (name = "probes", description = "Health, readiness and metrics (outside the rate limits)"),
        (name = "docs", description = "This document and its viewer"),
    ),
)]
struct ApiDoc;

/// The document as served, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| document().to_string())
}

/// The full document: the generated one, with what every operation's place
/// in the server adds.
pub fn document() -> Value {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("The access token from `POST /v1/auth/login`"))
                .build(),
        ),
    );
    let mut doc = serde_json::to_value(&doc).expect("the document serialises");
    name_problem_types(&mut doc);
    super::openapi_input::describe_inputs(&mut doc);
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for (path, item) in paths.iter_mut() {
            let Value::Object(item) = item else { continue };
            for op in item.values_mut() {
                complete_operation(path, op);
            }
        }
    }
    doc
}

/// The problem schema's `type` lists every type the server answers with.
fn name_problem_types(doc: &mut Value) {
    let types: Vec<String> = PROBLEM_TYPES.iter().map(|s| Problem::type_of(s)).collect();
    if let Some(kind) = doc.pointer_mut("/components/schemas/Problem/properties/type") {
        kind["enum"] = json!(types);
    }
}

/// A problem answer as the document writes it.
fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": {
            "schema": { "$ref": "#/components/schemas/Problem" }
        }}
    })
}

fn integer_header(description: &str) -> Value {
    json!({ "description": description, "schema": { "type": "integer", "minimum": 0 } })
}

/// Adds the answers and headers `op` has because of where it sits.
fn complete_operation(path: &str, op: &mut Value) {
    // `/v1/` passes the rate limits and load shedding; the live stream has
    // bounds of its own, documented on it.
    let guarded = path.starts_with("/v1/") && !path.ends_with("/live");
    let needs_auth = op["security"]
        .as_array()
        .is_some_and(|reqs| !reqs.is_empty() && reqs.iter().all(|r| r != &json!({})));
    let has_body = op.get("requestBody").is_some();
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let has_in = |place: &str| params.iter().any(|p| p["in"] == place);
    let (in_path, in_query) = (has_in("path"), has_in("query"));

    let mut add: Vec<(&str, Value)> = Vec::new();
    if has_body {
        add.push(("400", problem("`malformed-json`: the body is not JSON")));
        add.push(("413", problem("`body-too-large`: over 64 KiB")));
        add.push((
            "415",
            problem("`unsupported-media-type`: send `Content-Type: application/json`"),
        ));
    }
    if in_path {
        add.push((
            "400",
            problem("`invalid-path`: a path parameter of the wrong type"),
        ));
    }
    if in_query {
        add.push((
            "400",
            problem("`invalid-query`: missing, unknown or mistyped query parameters"),
        ));
    }
    if has_body || in_path || in_query {
        add.push((
            "422",
            problem("`invalid-field` (names the `field`: a value out of range, or text breaking the text rule) or `invalid-body` (wrong shape)"),
        ));
    }
    if needs_auth {
        add.push((
            "401",
            problem("`unauthorized`: no bearer token, or it is malformed, expired or of an ended session"),
        ));
    }
    if guarded {
        add.push((
            "429",
            problem("`rate-limited`: too many requests from this address or account"),
        ));
        add.push((
            "503",
            problem("`overloaded`: the server is at capacity or the read took too long"),
        ));
    }
    let responses = op["responses"]
        .as_object_mut()
        .expect("every operation has responses");
    for (status, answer) in add {
        responses.entry(status).or_insert(answer);
    }
    for (status, answer) in responses.iter_mut() {
        let headers = answer
            .as_object_mut()
            .expect("a response is an object")
            .entry("headers")
            .or_insert_with(|| Value::Object(Map::new()));
        headers["x-request-id"] = json!({
            "description": "The request's id (the client's own when sane); every log line of the request carries it",
            "required": true,
            "schema": { "type": "string", "maxLength": 128 }
        });
        if guarded {
            headers["RateLimit-Limit"] =
                integer_header("The size of the rate-limit bucket the request drew from");
            headers["RateLimit-Remaining"] = integer_header("What is left of it");
        }
        if status == "429" || status == "503" || status == "409" {
            headers["Retry-After"] = integer_header("Seconds to wait before retrying");
        }
        if status == "401" {
            headers["WWW-Authenticate"] = json!({
                "description": "Always `Bearer`",
                "required": true,
                "schema": { "type": "string" }
            });
        }
    }
}
