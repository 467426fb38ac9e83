//! Applies the domain's one text rule (`domain::text`) to everything a request
//! carries, before any handler or type sees it: every string (and key) of a
//! JSON body at any depth, every query parameter and every path parameter.
//! Doing it here, once, means no field of any endpoint (today's or a future
//! one) can forget it. A violation is a 422 problem naming the field.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::domain::text::{self, MAX_ITEMS, TextError};

use super::error::ApiError;

fn refused(path: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-field",
        "Invalid value",
        format!("{path}: {why}"),
    )
    .with(json!({ "field": path }))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Cleans a JSON body in place: trims strings and refuses any that break the
/// rule. `name` is the field the value sits in (for its length cap), `path`
/// where it sits (for the message).
pub fn clean_json(value: &mut Value) -> Result<(), ApiError> {
    clean_value(value, "", "")
}

fn clean_value(value: &mut Value, name: &str, path: &str) -> Result<(), ApiError> {
    match value {
        Value::String(s) => {
            let cleaned = text::clean(name, s).map_err(|e| refused(path_or_body(path), e))?;
            if cleaned.len() != s.len() {
                *s = cleaned.to_owned();
            }
            Ok(())
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(refused(
                    path_or_body(path),
                    format!("at most {MAX_ITEMS} items"),
                ));
            }
            for (i, item) in items.iter_mut().enumerate() {
                // Items share their array's name (and so its cap): "aliases[2]".
                clean_value(item, name, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for key in map.keys() {
                text::check(key, text::DEFAULT_MAX_CHARS)
                    .map_err(|e| refused(&join(path, "(key)"), e))?;
            }
            for (key, item) in map.iter_mut() {
                clean_value(item, key, &join(path, key))?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn path_or_body(path: &str) -> &str {
    if path.is_empty() { "body" } else { path }
}

/// Cleans name/value pairs (a query string or path parameters).
pub fn clean_pairs(pairs: &mut [(String, String)]) -> Result<(), ApiError> {
    for (name, value) in pairs.iter_mut() {
        text::check(name, text::DEFAULT_MAX_CHARS)
            .map_err(|e: TextError| refused("(parameter name)", e))?;
        let cleaned = text::clean(name, value).map_err(|e| refused(name, e))?;
        if cleaned.len() != value.len() {
            *value = cleaned.to_owned();
        }
    }
    Ok(())
}
