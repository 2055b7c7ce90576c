//! Protocol version "2", spoken by RRQ 0.10 onward: handler arguments as named `params`, and a
//! `correlation_context` beside the trace context. Everything else is as in [`crate::v1`].

use crate::canonical;
use crate::timestamp;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub use crate::outcome::{ExecutionError, ExecutionOutcome, OutcomeStatus};
pub use crate::{
    DecodeError, ErrorKind, FrameError, ERROR_MESSAGES, ERROR_TYPES, FRAME_HEADER_LEN, MAX_FRAME_LEN, MAX_NESTING_DEPTH,
};

/// Version of the wire protocol spoken by this module; sent in every request and cancel.
pub const PROTOCOL_VERSION: &str = "2";

/// The RRQ orchestrator releases that speak this version (for generated docs).
pub const ORCHESTRATORS: &str = "RRQ 0.10.0 onward (0.11.1 is current)";

/// How those orchestrators hand a runner its address (for generated docs).
pub const RUNNER_ADDRESS: &str = "appends `--tcp-socket HOST:PORT` to the command; one persistent connection per runner, requests pipelined";

fn default_protocol_version() -> String {
    PROTOCOL_VERSION.to_string()
}

/// A frame of protocol "2" (see [`crate::message::RunnerMessage`]).
pub type RunnerMessage = crate::message::RunnerMessage<ExecutionRequest, CancelRequest>;

crate::frame::version_framing!();

/// Where and how a job runs: the orchestrator's view of the job, sent with every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionContext {
    /// Identifier of the job (the same as the request's `job_id`).
    #[schemars(extend("x-rrq-role" = "job-id"))]
    pub job_id: String,
    /// Which attempt this is, counting from 1 for the first execution.
    #[schemars(extend("x-rrq-role" = "attempt"))]
    pub attempt: u32,
    /// When the job was enqueued (RFC 3339, UTC on the wire).
    #[serde(deserialize_with = "timestamp::deserialize")]
    #[schemars(extend("x-rrq-role" = "enqueue-time"))]
    pub enqueue_time: DateTime<Utc>,
    /// Name of the queue the job was taken from.
    #[schemars(extend("x-rrq-role" = "queue-name"))]
    pub queue_name: String,
    /// Instant after which the job's result is no longer wanted; the runner answers `timeout`
    /// once it has passed. `null` means no deadline.
    #[serde(default, deserialize_with = "timestamp::option::deserialize")]
    #[schemars(extend("x-rrq-role" = "deadline"))]
    pub deadline: Option<DateTime<Utc>>,
    /// W3C trace-context propagation fields (for example `traceparent`), if tracing is on.
    #[serde(default)]
    #[schemars(extend("x-rrq-role" = "trace-context"))]
    pub trace_context: Option<BTreeMap<String, String>>,
    /// Correlation fields the producer attached to the job (for example a tenant or request
    /// id), for logs and traces; `null` or absent when there are none.
    #[serde(default)]
    #[schemars(extend("x-rrq-role" = "correlation-context"))]
    pub correlation_context: Option<BTreeMap<String, String>>,
    /// Identifier of the orchestrator worker that dispatched the job, if known.
    #[schemars(extend("x-rrq-role" = "worker-id"))]
    pub worker_id: Option<String>,
}

/// Asks a runner to stop a running job, matched by `request_id` when given, else by `job_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelRequest {
    /// Protocol version of the sender.
    #[serde(default = "default_protocol_version")]
    #[schemars(extend("x-rrq-role" = "protocol-version"))]
    pub protocol_version: String,
    /// The job to cancel.
    #[schemars(extend("x-rrq-role" = "job-id"))]
    pub job_id: String,
    /// The request to cancel; when absent, every request of `job_id` is cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-rrq-role" = "request-id"))]
    pub request_id: Option<String>,
    /// Ask the runner to stop the job forcibly rather than cooperatively.
    #[serde(default)]
    #[schemars(extend("x-rrq-role" = "hard-kill"))]
    pub hard_kill: bool,
}

/// Asks a runner to execute one job by calling the handler registered as `function_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionRequest {
    /// Protocol version of the sender.
    #[serde(default = "default_protocol_version")]
    #[schemars(extend("x-rrq-role" = "protocol-version"))]
    pub protocol_version: String,
    /// Identifier of this request; the response carries it back.
    #[schemars(extend("x-rrq-role" = "request-id"))]
    pub request_id: String,
    /// Identifier of the job this request executes.
    #[schemars(extend("x-rrq-role" = "job-id"))]
    pub job_id: String,
    /// Name of the handler to call.
    #[schemars(extend("x-rrq-role" = "function-name"))]
    pub function_name: String,
    /// Parameters for the handler (any JSON values), by name.
    #[serde(default, serialize_with = "canonical::value_map")]
    #[schemars(extend("x-rrq-role" = "input"))]
    pub params: BTreeMap<String, Value>,
    /// Job metadata: attempt, queue, deadline, tracing.
    #[schemars(extend("x-rrq-role" = "context"))]
    pub context: ExecutionContext,
}

#[cfg(test)]
#[path = "tests/v2.rs"]
mod tests;
