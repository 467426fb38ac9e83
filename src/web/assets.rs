//! The stylesheet and script, compiled into the binary. Their URLs carry a
//! hash of their content, so they can be cached for a year: a new build
//! changes the URL, never the bytes behind an old one.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(CSS);
        h.update(JS);
        hex::encode(&h.finalize()[..6])
    })
}

pub fn css_url() -> String {
    format!("/assets/{}/app.css", version())
}

pub fn js_url() -> String {
    format!("/assets/{}/app.js", version())
}

/// `GET /assets/{version}/{file}`: an old version's URL is a 404, so a stale
/// page never caches a new file under an old name.
pub async fn serve(Path((v, file)): Path<(String, String)>) -> Response {
    let body = match (v == version(), file.as_str()) {
        (true, "app.css") => ("text/css; charset=utf-8", CSS),
        (true, "app.js") => ("text/javascript; charset=utf-8", JS),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, body.0),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body.1,
    )
        .into_response()
}
