//! The one place where errors and outcomes become HTTP: RFC 9457 problem+json
//! bodies with a stable `type` per kind of problem, and the status an order
//! request's outcome is answered with. Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppError;
use crate::app::booking::OrderOutcome;
use crate::app::nid::NidRefusal;
use crate::store::RecordedAnswer;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// Short stable slug; the problem `type` is `/problems/{slug}`.
    slug: &'static str,
    title: &'static str,
    detail: String,
    extra: Option<Value>,
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            slug,
            title,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }

    pub fn with(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }

    /// Adds a `Retry-After` header (seconds).
    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let detail = e.to_string();
        match e {
            AppError::Invalid(p) => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "Invalid value",
                detail,
            )
            .with(json!({ "field": p.field })),
            AppError::UnknownStation { query, suggestions } => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "unknown-station",
                "Unknown station",
                detail,
            )
            .with(json!({ "station": query, "suggestions": suggestions })),
            AppError::NotFound(_) => ApiError::not_found(detail),
            AppError::Conflict(_) => ApiError::new(S::CONFLICT, "conflict", "Conflict", detail),
            AppError::Unauthorized(_) => ApiError::unauthorized(detail),
            AppError::MfaRequired => ApiError::new(
                S::UNAUTHORIZED,
                "mfa-required",
                "Two-factor code required",
                detail,
            ),
            AppError::SeatsUnavailable { seats, .. } => ApiError::new(
                S::CONFLICT,
                "seats-unavailable",
                "Seats not available",
                detail,
            )
            .with(json!({ "seats": seats })),
            AppError::IdempotencyMismatch => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                detail,
            ),
            AppError::OrderInProgress {
                retry_after_secs, ..
            } => ApiError::new(
                S::CONFLICT,
                "order-in-progress",
                "Order in progress",
                detail,
            )
            .with_retry_after(retry_after_secs as i64),
            AppError::HoldCap { limit, max, .. } => {
                ApiError::new(S::TOO_MANY_REQUESTS, "hold-limit", "Too many holds", detail)
                    .with(json!({ "limit": limit, "max": max }))
            }
            AppError::Nid(refusal) => nid_problem(refusal, detail),
            AppError::StepUpRequired {
                rule,
                reason,
                methods,
            } => ApiError::new(S::FORBIDDEN, "step-up-required", "Step-up required", detail)
                .with(json!({ "rule": rule, "reason": reason, "methods": methods })),
            AppError::RiskBlocked { rule, reason } => ApiError::new(
                S::FORBIDDEN,
                "risk-blocked",
                "Refused by the fraud checks",
                detail,
            )
            .with(json!({ "rule": rule, "reason": reason })),
            AppError::StepUpThrottled {
                retry_after_secs, ..
            } => ApiError::new(
                S::TOO_MANY_REQUESTS,
                "step-up-throttled",
                "Too many step-up codes",
                detail,
            )
            .with_retry_after(retry_after_secs as i64),
            AppError::Forbidden(_) => ApiError::new(S::FORBIDDEN, "forbidden", "Forbidden", detail),
            AppError::Overloaded(_) => {
                ApiError::new(S::SERVICE_UNAVAILABLE, "overloaded", "Overloaded", detail)
                    .with_retry_after(1)
            }
            AppError::Unavailable {
                retry_after_secs, ..
            } => ApiError::new(
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                detail,
            )
            .with_retry_after(retry_after_secs as i64),
            AppError::Locked {
                retry_after_secs, ..
            } => {
                let mut err = ApiError::new(
                    S::TOO_MANY_REQUESTS,
                    "login-locked",
                    "Account temporarily locked",
                    detail,
                );
                err.retry_after = Some(retry_after_secs);
                err
            }
            AppError::Store(_) | AppError::Internal(_) => {
                tracing::error!(error = %detail, "internal error");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; it has been logged",
                )
            }
        }
    }
}

/// Each NID refusal is its own problem type, so clients (and the counter
/// terminal) can tell "add an NID" from "this person has enough seats".
fn nid_problem(refusal: NidRefusal, detail: String) -> ApiError {
    use StatusCode as S;
    match refusal {
        NidRefusal::Taken => {
            ApiError::new(S::CONFLICT, "nid-taken", "NID already registered", detail)
        }
        NidRefusal::Required => ApiError::new(S::FORBIDDEN, "nid-required", "NID required", detail),
        NidRefusal::Flagged => ApiError::new(S::FORBIDDEN, "nid-flagged", "NID flagged", detail),
        NidRefusal::Limit(r) => ApiError::new(
            S::CONFLICT,
            "nid-limit",
            "Seat limit per NID reached",
            detail,
        )
        .with(json!({ "limit": r.scope.name(), "max": r.max, "already": r.already })),
        NidRefusal::NotVerified(verdict) => ApiError::new(
            S::UNPROCESSABLE_ENTITY,
            "nid-not-verified",
            "NID not verified",
            detail,
        )
        .with(json!({ "field": "nid", "reason": verdict.reason() })),
    }
}

/// How an order request's outcome is answered (and recorded, to be sent again
/// unchanged to a repeat): 201 with the order, or 402 payment-failed carrying it.
pub fn render_order_outcome(outcome: OrderOutcome) -> RecordedAnswer {
    match outcome {
        OrderOutcome::Confirmed(order) => RecordedAnswer {
            status: StatusCode::CREATED.as_u16(),
            // Through a `Value`, as orders were always answered here (keys sorted).
            body: serde_json::to_value(&order)
                .expect("serialisable")
                .to_string(),
        },
        OrderOutcome::AwaitingPayment(order) => RecordedAnswer {
            status: StatusCode::ACCEPTED.as_u16(),
            body: serde_json::to_value(&order)
                .expect("serialisable")
                .to_string(),
        },
        OrderOutcome::PaymentFailed(order) => {
            let detail = order.failure.clone().unwrap_or_default();
            let problem = ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "payment-failed",
                "Payment failed",
                detail,
            )
            .with(json!({ "order": order }));
            RecordedAnswer {
                status: problem.status.as_u16(),
                body: problem.body().to_string(),
            }
        }
    }
}

impl ApiError {
    /// The problem+json body.
    fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(Value::Object(extra)), Value::Object(map)) = (self.extra.clone(), &mut body) {
            map.extend(extra);
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is never read, so this connection cannot
            // carry another request; saying so keeps a client from reusing it
            // (and losing its next request to the close).
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
