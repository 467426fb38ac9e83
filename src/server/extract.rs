//! Extractors whose rejections are problem+json, so a malformed body, a wrong
//! type or a missing parameter gets the same clear shape as every other error.
//! Each one applies the text rule (`text_rule`) to every string it carries
//! before the handler's type sees it.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::text_rule;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(mut value) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        text_rule::clean_json(&mut value)?;
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "Invalid request body",
                format!("Failed to deserialize the JSON body into the target type: {e}"),
            )
        })
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let text = r.body_text();
    match r {
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Invalid request body",
            text,
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON",
            text,
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Expected JSON",
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body may be at most {} bytes", super::MAX_BODY_BYTES),
        ),
        other => ApiError::new(other.status(), "invalid-body", "Invalid request body", text),
    }
}

/// Query-string parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let invalid = |detail: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "Invalid query parameters",
                detail,
            )
        };
        let raw = parts.uri.query().unwrap_or_default();
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| invalid(format!("Failed to deserialize query string: {e}")))?;
        text_rule::clean_pairs(&mut pairs)?;
        let cleaned = serde_urlencoded::to_string(&pairs)
            .map_err(|e| invalid(format!("Failed to deserialize query string: {e}")))?;
        serde_urlencoded::from_str(&cleaned)
            .map(ApiQuery)
            .map_err(|e| invalid(format!("Failed to deserialize query string: {e}")))
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Ok(Path(mut raw)) =
            Path::<Vec<(String, String)>>::from_request_parts(parts, state).await
        {
            text_rule::clean_pairs(&mut raw)?;
        }
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|r: PathRejection| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-path",
                    "Invalid path parameter",
                    r.body_text(),
                )
            })
    }
}
