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
    /// A valid request that the stored state contradicts (a scenario closing a base that
    /// is not active on its date).
    #[error("{0}")]
    Conflict(String),
    /// A request body was refused before it was read as a request (size, media type,
    /// syntax), with the status the extractor chose.
    #[error("{detail}")]
    Rejected {
        /// 400, 413, 415 or 422.
        status: StatusCode,
        /// Why.
        detail: String,
    },
    /// Something failed on the server side. The message is logged, never sent: it may
    /// name files of the server.
    #[error("internal error: {0}")]
    Internal(String),
    /// A stored file that the manifest named is missing (a publish retired it while the
    /// request read the previous manifest). [`crate::server::AppState::read_store`] retries
    /// once on the new manifest; a second miss is answered 503.
    #[error("a stored file is missing: {0}")]
    MissingFile(String),
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(&e)
    }
}

impl From<crate::coverage::CoverageError> for ApiError {
    fn from(e: crate::coverage::CoverageError) -> Self {
        use crate::coverage::CoverageError as E;
        match e {
            E::NoSnapshots { .. } => Self::NotFound(e.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl From<crate::analysis::scenario::ScenarioError> for ApiError {
    fn from(e: crate::analysis::scenario::ScenarioError) -> Self {
        use crate::analysis::scenario::ScenarioError as E;
        match e {
            // The request's own changes: the caller can fix them.
            E::Change { .. } => Self::Unprocessable(e.to_string()),
            // Well formed, but the snapshot has no such active base.
            E::UnknownBase { .. } => Self::Conflict(e.to_string()),
            other => Self::internal(&other),
        }
    }
}

/// Errors that are the server's own fault, whatever the request: answered 500 (or 503 for
/// a stored file that a publish retired meanwhile), through [`ApiError::internal`].
macro_rules! internal_errors {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                Self::internal(&e)
            }
        }
    )*};
}

internal_errors!(
    crate::risk::ScoreError,
    crate::grid::GridError,
    crate::analysis::rollup::RollupError,
    crate::output::export::ExportError,
    tokio::task::JoinError,
    tokio::sync::AcquireError,
    std::io::Error,
);

impl From<crate::analysis::plan::PlanError> for ApiError {
    fn from(e: crate::analysis::plan::PlanError) -> Self {
        Self::Unprocessable(e.to_string())
    }
}

/// Whether an error (or any error behind it) is a stored file that does not exist.
pub fn is_missing_file(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::NotFound {
                return true;
            }
        }
        if let Some(crate::store::StoreError::Parquet { path, .. }) =
            err.downcast_ref::<crate::store::StoreError>()
        {
            if !path.exists() {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

impl ApiError {
    /// A server-side failure: a missing stored file (retried by the caller) or an internal
    /// error whose message goes to the log only.
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        if is_missing_file(e) {
            Self::MissingFile(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }

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
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Rejected { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MissingFile(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Server-side messages name files and folders of the server: logged, not sent.
        let detail = match &self {
            Self::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                "the server could not complete the request; its log has the details".to_owned()
            }
            Self::MissingFile(_) => {
                tracing::warn!(error = %self, "a stored file vanished twice under a request");
                "the store is being updated; try again in a moment".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
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
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"vigil\""),
            );
        }
        res
    }
}
