//! Wire types and framing of the RRQ runner protocol.
//!
//! This crate is the single source of truth of the protocol: its types derive the JSON Schema
//! (`schemars`) from which `rrq-codegen` renders every other language's bindings, and its
//! encoder and decoder define the canonical bytes and the verdicts every binding must reproduce
//! (see `docs/PROTOCOL.md`).
//!
//! A frame is a 4-byte big-endian length `N` followed by `N` bytes of UTF-8 JSON holding a
//! [`RunnerMessage`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

mod canonical;
mod frame;
mod strict;
pub mod timestamp;

pub use frame::{
    decode_frame, decode_message, encode_frame, encode_message, DecodeError, ErrorKind,
    FrameDecoder, FrameError,
};

/// Version of the wire protocol spoken by this crate; sent in every request and cancel.
pub const PROTOCOL_VERSION: &str = "1";
/// Version of this crate; the generated packages take their version from it.
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Length of the frame header: a big-endian `u32` giving the length of the JSON body.
pub const FRAME_HEADER_LEN: usize = 4;
/// Largest accepted JSON body, in bytes (16 MiB). Longer frames are rejected from their header,
/// before any of the body is buffered.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
/// Deepest accepted nesting of JSON arrays and objects in a frame body, counted over the whole
/// document (ignored fields included); the envelope object itself is depth 1. This is where
/// serde_json's recursion limit (128) bites: 127 nested containers parse, the 128th fails with
/// `recursion limit exceeded`; the golden corpus pins both sides.
pub const MAX_NESTING_DEPTH: usize = 127;

/// Values of [`ExecutionError::error_type`] that runners produce themselves (handlers may report
/// others, such as the name of an exception), with their meaning. Generated bindings take them
/// from the schema (`x-rrq.error_types`).
pub const ERROR_TYPES: &[(&str, &str)] = &[
    ("handler_not_found", "No handler is registered under the request's `function_name`."),
    ("cancelled", "The request was cancelled by a `cancel` frame, or the runner shut down."),
    ("timeout", "The request's `context.deadline` passed before the handler finished."),
    ("busy", "The connection already has as many requests in flight as the runner allows."),
    ("invalid_frame", "The frame had a sound length but content that is not a valid message."),
    ("unsupported_protocol_version", "The request's `protocol_version` is not one this runner speaks."),
    ("unexpected_message", "A `response` frame reached the runner, which only accepts requests and cancels."),
];

/// The messages runners write with the error types above, so that every runner, whatever its
/// language, answers the same situation with the same bytes: `(name, error type, template)`.
/// `{placeholder}`s are replaced by the value named (timestamps in the canonical format); the
/// generated bindings take them from the schema (`x-rrq.error_messages`).
pub const ERROR_MESSAGES: &[(&str, &str, &str)] = &[
    ("handler_not_found", "handler_not_found", "no handler is registered for function `{function_name}`"),
    ("cancelled", "cancelled", "the request was cancelled"),
    ("shutting_down", "cancelled", "the runner is shutting down"),
    ("deadline_passed", "timeout", "the deadline {deadline} passed before the handler started"),
    ("deadline_exceeded", "timeout", "the deadline {deadline} passed while the handler was running"),
    ("busy", "busy", "the connection already has {limit} requests in flight"),
    ("invalid_frame", "invalid_frame", "{error}"),
    (
        "unsupported_protocol_version",
        "unsupported_protocol_version",
        "protocol version `{received}` is not supported (this runner speaks `{supported}`)",
    ),
    ("unexpected_message", "unexpected_message", "a runner accepts requests and cancels, not `{type}` frames"),
];

fn default_protocol_version() -> String {
    PROTOCOL_VERSION.to_string()
}

/// Where and how a job runs: the orchestrator's view of the job, sent with every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionContext {
    /// Identifier of the job (the same as the request's `job_id`).
    pub job_id: String,
    /// Which attempt this is, counting from 1 for the first execution.
    pub attempt: u32,
    /// When the job was enqueued (RFC 3339, UTC on the wire).
    #[serde(deserialize_with = "timestamp::deserialize")]
    pub enqueue_time: DateTime<Utc>,
    /// Name of the queue the job was taken from.
    pub queue_name: String,
    /// Instant after which the job's result is no longer wanted; the runner answers `timeout`
    /// once it has passed. `null` means no deadline.
    #[serde(default, deserialize_with = "timestamp::option::deserialize")]
    pub deadline: Option<DateTime<Utc>>,
    /// W3C trace-context propagation fields (for example `traceparent`), if tracing is on.
    #[serde(default)]
    pub trace_context: Option<BTreeMap<String, String>>,
    /// Identifier of the orchestrator worker that dispatched the job, if known.
    pub worker_id: Option<String>,
}

/// A frame on the runner connection: a request to run, the outcome of one, or a cancellation.
///
/// On the wire: `{"type": "request" | "response" | "cancel", "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunnerMessage {
    /// The orchestrator asks the runner to execute a job.
    Request {
        /// The job to execute.
        payload: ExecutionRequest,
    },
    /// The runner reports the outcome of one request.
    Response {
        /// The outcome, correlated to its request by `request_id`.
        payload: ExecutionOutcome,
    },
    /// The orchestrator asks the runner to stop a job; it expects no reply.
    Cancel {
        /// Which job (and optionally which request) to cancel.
        payload: CancelRequest,
    },
}

/// Asks a runner to stop a running job, matched by `request_id` when given, else by `job_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelRequest {
    /// Protocol version of the sender.
    #[serde(default = "default_protocol_version")]
    pub protocol_version: String,
    /// The job to cancel.
    pub job_id: String,
    /// The request to cancel; when absent, every request of `job_id` is cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Ask the runner to stop the job forcibly rather than cooperatively.
    #[serde(default)]
    pub hard_kill: bool,
}

/// Asks a runner to execute one job by calling the handler registered as `function_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionRequest {
    /// Protocol version of the sender.
    #[serde(default = "default_protocol_version")]
    pub protocol_version: String,
    /// Identifier of this request; the response carries it back.
    pub request_id: String,
    /// Identifier of the job this request executes.
    pub job_id: String,
    /// Name of the handler to call.
    pub function_name: String,
    /// Positional arguments for the handler (any JSON values).
    #[serde(default, serialize_with = "canonical::values")]
    pub args: Vec<Value>,
    /// Keyword arguments for the handler (any JSON values), by name.
    #[serde(default, serialize_with = "canonical::value_map")]
    pub kwargs: BTreeMap<String, Value>,
    /// Job metadata: attempt, queue, deadline, tracing.
    pub context: ExecutionContext,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The handler returned a result.
    Success,
    /// The handler asks for the job to be retried later (see `retry_after_seconds`).
    Retry,
    /// The job's deadline passed before it finished.
    Timeout,
    /// The handler failed, or the request could not be executed (see `error`).
    Error,
}

/// The result of executing one request, sent by the runner as a `response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionOutcome {
    /// The job this outcome belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The request this outcome answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// How the request ended.
    pub status: OutcomeStatus,
    /// The handler's return value (any JSON value), for `success`.
    #[serde(skip_serializing_if = "canonical::is_absent", serialize_with = "canonical::option_value")]
    pub result: Option<Value>,
    /// What went wrong, for `error`, `retry` and `timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ExecutionError>,
    /// For `retry`: how long to wait before the next attempt, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<f64>,
}

/// Describes a failure reported by a runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionError {
    /// Human-readable description of the failure.
    pub message: String,
    /// Machine-readable kind of failure, e.g. `handler_not_found`, `cancelled`, or the name of
    /// the exception a handler raised.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Application-specific error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Structured details about the failure (any JSON value).
    #[serde(skip_serializing_if = "canonical::is_absent", serialize_with = "canonical::option_value")]
    pub details: Option<Value>,
}

impl ExecutionError {
    fn new(message: impl Into<String>, error_type: Option<&str>) -> Self {
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

#[cfg(test)]
mod tests;
