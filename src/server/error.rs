//! The API's error bodies (`ErrorResponse4xx`, SPEC §13): every failure a
//! client can cause names its field or parameter in `errors[].scope`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::model::FieldError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub scope: String,
    pub reason: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, scope: impl Into<String>, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, scope: scope.into(), reason, message: message.into() }
    }
    pub fn bad_request(scope: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, scope, "invalid", message)
    }
    pub fn field(e: FieldError) -> Self {
        Self::bad_request(e.field, e.message)
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, what, "notFound", format!("no {what} with id '{id}'"))
    }
    pub fn conflict(scope: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, scope, "conflict", message)
    }
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Authorization", "unauthorized", message)
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "orgId", "forbidden", "this token is not allowed to access this organization")
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server", "internalError", e.to_string())
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::field(e)
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("store: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.status.as_u16(),
                "message": self.status.canonical_reason().unwrap_or(""),
                "errors": [{"scope": self.scope, "reason": self.reason, "message": self.message}],
            }
        });
        let mut r = (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
