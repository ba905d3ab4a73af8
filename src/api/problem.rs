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
    /// No valid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// The token lacks the scope.
    #[error("{0}")]
    Forbidden(String),
    /// None of the accepted media types can be produced.
    #[error("{0}")]
    NotAcceptable(String),
    /// A request body is not a valid request (a scenario, a plan).
    #[error("{0}")]
    Unprocessable(String),
    /// A request body was refused before it was read as a request (size, media type,
    /// syntax), with the status the extractor chose.
    #[error("{detail}")]
    Rejected {
        /// 400, 413, 415 or 422.
        status: StatusCode,
        /// Why.
        detail: String,
    },
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
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Rejected { status, .. } => *status,
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
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"vigil\""),
            );
        }
        res
    }
}
