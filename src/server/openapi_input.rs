//! Writes into the OpenAPI document what the edge enforces on every input, so
//! a client (or a fuzzer) can tell a well-formed request from the document
//! alone: the text rule (`domain::text`: no control or bidi characters, a
//! length cap by field name) on every string of a request body, query or path,
//! the cap on array lengths, and the shape of `Idempotency-Key`. The caps come
//! from the same function the server checks with, so the two cannot drift.

use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::booking::MAX_IDEMPOTENCY_KEY;
use crate::domain::text::{MAX_ITEMS, max_chars};

/// The text rule as a pattern: C0, DEL and C1 controls, the line and
/// paragraph separators, and the bidi controls are refused anywhere.
const TEXT_RULE: &str =
    r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]*$";

/// Applies the input rules to every operation of `doc`.
pub fn describe_inputs(doc: &mut Value) {
    let mut bodies = BTreeSet::new();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for op in item.values_mut() {
                describe_parameters(op);
                if let Some(schema) =
                    op.pointer("/requestBody/content/application~1json/schema/$ref")
                {
                    bodies.insert(schema_name(schema));
                }
            }
        }
    }
    // Request bodies' schemas and those they refer to; none is also a response.
    let mut pending: Vec<String> = bodies.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) else {
            continue;
        };
        constrain(schema, "", &mut pending);
    }
}

fn schema_name(reference: &Value) -> String {
    reference
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

fn is_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(ts) => ts.iter().any(|t| t == kind),
        _ => false,
    }
}

/// Constrains a schema that sits in field `field`, following its parts.
fn constrain(schema: &mut Value, field: &str, pending: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref") {
        pending.push(schema_name(reference));
        return;
    }
    if is_type(schema, "string") && schema.get("enum").is_none() && schema.get("format").is_none() {
        schema["pattern"] = json!(TEXT_RULE);
        schema["maxLength"] = json!(max_chars(field));
    }
    if is_type(schema, "array") {
        schema["maxItems"] = json!(MAX_ITEMS);
        if let Some(items) = schema.get_mut("items") {
            // Items share their array's name, and so its cap.
            constrain(items, field, pending);
        }
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            constrain(prop, name, pending);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(parts)) = schema.get_mut(key) {
            for part in parts {
                constrain(part, field, pending);
            }
        }
    }
}

fn describe_parameters(op: &mut Value) {
    let Some(Value::Array(params)) = op.get_mut("parameters") else {
        return;
    };
    for param in params {
        let name = param["name"].as_str().unwrap_or_default().to_owned();
        match param["in"].as_str() {
            Some("path" | "query") => {
                let mut ignored = Vec::new();
                constrain(&mut param["schema"], &name, &mut ignored);
            }
            Some("header") if name == "Idempotency-Key" => {
                // Surrounding blanks are trimmed; what is left must not be empty.
                param["schema"] = json!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_IDEMPOTENCY_KEY,
                    "pattern": r"^[\x21-\x7E]([\t\x20-\x7E]*[\x21-\x7E])?$",
                });
            }
            Some("header") if name == "Admission-Token" => {
                // An optional header is absent, never null.
                param["schema"] = json!({ "type": "string" });
            }
            _ => {}
        }
    }
}
