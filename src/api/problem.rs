//! RFC 9457 problem details: the one mapping from errors to HTTP responses.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An HTTP-facing error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter is invalid or unknown.
    #[error("invalid parameter `{parameter}`: {detail}")]
    BadParameter {
        /// The parameter.
        parameter: String,
        /// What is wrong.
        detail: String,
    },
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// Something failed on the server side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A bad-parameter error.
    pub fn bad(parameter: &str, detail: impl Into<String>) -> Self {
        Self::BadParameter {
            parameter: parameter.to_owned(),
            detail: detail.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        if let Self::BadParameter { parameter, .. } = &self {
            body["parameter"] = json!(parameter);
        }
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}
