//! `GET /openapi.json` and the docs page at `/docs`, served from the binary:
//! no CDN, so the page works on a machine without internet.
//!
//! The viewer is Swagger UI 5.35.0 (`npm pack swagger-ui-dist`), Apache-2.0:
//! only its bundle, its stylesheet and its LICENSE and NOTICE are kept, in
//! `assets/swagger-ui/`. The page and the few lines that start it are ours,
//! in `assets/docs/`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::openapi;

const PAGE: &str = include_str!("../../assets/docs/index.html");
const SCRIPT: &str = include_str!("../../assets/docs/docs.js");
const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const STYLESHEET: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change only with the binary; a day is long enough to help
    // and short enough to pick up an upgrade.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

#[utoipa::path(get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    let mut response = openapi::document_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[utoipa::path(get, path = "/docs", tag = "docs",
    responses((status = 200, description = "The API documentation, to read in a browser", content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE.as_bytes())
}

#[utoipa::path(get, path = "/docs/docs.js", tag = "docs",
    responses((status = 200, description = "Starts the viewer on /openapi.json", content_type = "text/javascript", body = String)))]
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())
}

#[utoipa::path(get, path = "/docs/swagger-ui-bundle.js", tag = "docs",
    responses((status = 200, description = "Swagger UI (Apache-2.0)", content_type = "text/javascript", body = String)))]
pub async fn bundle() -> Response {
    asset("text/javascript; charset=utf-8", BUNDLE)
}

#[utoipa::path(get, path = "/docs/swagger-ui.css", tag = "docs",
    responses((status = 200, description = "Swagger UI's stylesheet", content_type = "text/css", body = String)))]
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}
