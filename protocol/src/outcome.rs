//! The outcome of a request and its error: the same in every protocol version.

use crate::canonical;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The handler returned a result.
    #[schemars(extend("x-rrq-role" = "success"))]
    Success,
    /// The handler asks for the job to be retried later (see `retry_after_seconds`).
    #[schemars(extend("x-rrq-role" = "retry"))]
    Retry,
    /// The job's deadline passed before it finished.
    #[schemars(extend("x-rrq-role" = "timeout"))]
    Timeout,
    /// The handler failed, or the request could not be executed (see `error`).
    #[schemars(extend("x-rrq-role" = "error"))]
    Error,
}

/// The result of executing one request, sent by the runner as a `response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionOutcome {
    /// The job this outcome belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "job-id"))]
    pub job_id: Option<String>,
    /// The request this outcome answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "request-id"))]
    pub request_id: Option<String>,
    /// How the request ended.
    #[schemars(extend("x-rrq-role" = "status"))]
    pub status: OutcomeStatus,
    /// The handler's return value (any JSON value), for `success`.
    #[serde(skip_serializing_if = "canonical::is_absent", serialize_with = "canonical::option_value")]
    #[schemars(extend("x-rrq-role" = "result"))]
    pub result: Option<Value>,
    /// What went wrong, for `error`, `retry` and `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "error"))]
    pub error: Option<ExecutionError>,
    /// For `retry`: how long to wait before the next attempt, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "retry-after"))]
    pub retry_after_seconds: Option<f64>,
}

/// Describes a failure reported by a runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionError {
    /// Human-readable description of the failure.
    #[schemars(extend("x-rrq-role" = "message"))]
    pub message: String,
    /// Machine-readable kind of failure, e.g. `handler_not_found`, `cancelled`, or the name of
    /// the exception a handler raised.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "error-type"))]
    pub error_type: Option<String>,
    /// Application-specific error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Structured details about the failure (any JSON value).
    #[serde(skip_serializing_if = "canonical::is_absent", serialize_with = "canonical::option_value")]
    pub details: Option<Value>,
}

impl ExecutionError {
    pub(crate) fn new(message: impl Into<String>, error_type: Option<&str>) -> Self {
        Self {
            message: message.into(),
            error_type: error_type.map(str::to_string),
            code: None,
            details: None,
        }
    }
}

impl ExecutionOutcome {
    fn failed(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        status: OutcomeStatus,
        error: ExecutionError,
    ) -> Self {
        Self {
            job_id: Some(job_id.into()),
            request_id: Some(request_id.into()),
            status,
            result: None,
            error: Some(error),
            retry_after_seconds: None,
        }
    }

    /// A `success` outcome carrying `result` (serialized to JSON; `null` if it cannot be).
    pub fn success<T: Serialize>(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        result: T,
    ) -> Self {
        let value = serde_json::to_value(result).unwrap_or(Value::Null);
        Self {
            job_id: Some(job_id.into()),
            request_id: Some(request_id.into()),
            status: OutcomeStatus::Success,
            result: Some(value),
            error: None,
            retry_after_seconds: None,
        }
    }

    /// A `retry` outcome: the job should run again, after `retry_after_seconds` if given.
    pub fn retry(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        message: impl Into<String>,
        retry_after_seconds: Option<f64>,
    ) -> Self {
        let error = ExecutionError::new(message, None);
        Self {
            retry_after_seconds,
            ..Self::failed(job_id, request_id, OutcomeStatus::Retry, error)
        }
    }

    /// A `timeout` outcome: the job's deadline passed.
    pub fn timeout(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let error = ExecutionError::new(message, None);
        Self::failed(job_id, request_id, OutcomeStatus::Timeout, error)
    }

    /// An `error` outcome with a message and no error type.
    pub fn error(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let error = ExecutionError::new(message, None);
        Self::failed(job_id, request_id, OutcomeStatus::Error, error)
    }

    /// An `error` outcome of type `handler_not_found`: no handler is registered under the
    /// requested `function_name`.
    pub fn handler_not_found(
        job_id: impl Into<String>,
        request_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let error = ExecutionError::new(message, Some("handler_not_found"));
        Self::failed(job_id, request_id, OutcomeStatus::Error, error)
    }
}

