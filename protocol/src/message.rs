//! The envelope every frame carries, the same in every protocol version: a request, the outcome
//! of one, or a cancellation. Each version module names it with its own payload types
//! (`v1::RunnerMessage`, `v2::RunnerMessage`).

use crate::frame::{DecodeError, Message};
use crate::outcome::ExecutionOutcome;
use crate::strict;
use schemars::JsonSchema;
use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A frame on the runner connection: a request to run, the outcome of one, or a cancellation.
///
/// On the wire: `{"type": "request" | "response" | "cancel", "payload": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schemars(rename = "RunnerMessage")]
pub enum RunnerMessage<Request, Cancel> {
    /// The orchestrator asks the runner to execute a job.
    #[schemars(extend("x-rrq-role" = "request"))]
    Request {
        /// The job to execute.
        payload: Request,
    },
    /// The runner reports the outcome of one request.
    #[schemars(extend("x-rrq-role" = "response"))]
    Response {
        /// The outcome, correlated to its request by `request_id`.
        payload: ExecutionOutcome,
    },
    /// The orchestrator asks the runner to stop a job; it expects no reply.
    #[schemars(extend("x-rrq-role" = "cancel"))]
    Cancel {
        /// Which job (and optionally which request) to cancel.
        payload: Cancel,
    },
}

impl<Request, Cancel> Message for RunnerMessage<Request, Cancel>
where
    Request: Serialize + DeserializeOwned,
    Cancel: Serialize + DeserializeOwned,
{
    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        strict::message(value)
    }
}

impl<'de, Request: DeserializeOwned, Cancel: DeserializeOwned> Deserialize<'de> for RunnerMessage<Request, Cancel> {
    /// Reads the message strictly, as `decode_message` does (the error loses its kind).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        strict::message(&value).map_err(de::Error::custom)
    }
}
