//! The protocol versions, behind one version-neutral request type.
//!
//! Every suite is written once: it builds [`Request`]s and [`Cancel`]s and lets the [`Version`]
//! turn them into that version's frames with `rrq-protocol` (v1 puts the positional inputs in
//! `args` and the named ones in `kwargs`; v2 has only named `params`, so the positional inputs
//! travel as the parameter `args` there, and the context gains `correlation_context`). Responses
//! are the same in both versions.

use chrono::{DateTime, TimeZone, Utc};
use rrq_protocol::outcome::ExecutionOutcome;
use rrq_protocol::{v1, v2, FrameError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A protocol version the suite speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// Protocol "1": RRQ 0.9.x.
    V1,
    /// Protocol "2": RRQ 0.10 onward.
    V2,
}

/// The parameter that carries a v1-style positional list in protocol 2 (which has none).
pub const V2_POSITIONAL_PARAM: &str = "args";

impl Version {
    pub const ALL: [Version; 2] = [Version::V1, Version::V2];

    /// `"1"` or `"2"`, as given on the command line.
    pub fn parse(text: &str) -> Option<Version> {
        match text {
            "1" => Some(Version::V1),
            "2" => Some(Version::V2),
            _ => None,
        }
    }

    /// The `protocol_version` this version sends and expects.
    pub fn protocol_version(self) -> &'static str {
        match self {
            Version::V1 => v1::PROTOCOL_VERSION,
            Version::V2 => v2::PROTOCOL_VERSION,
        }
    }

    /// The RRQ releases that speak it.
    pub fn orchestrators(self) -> &'static str {
        match self {
            Version::V1 => v1::ORCHESTRATORS,
            Version::V2 => v2::ORCHESTRATORS,
        }
    }

    /// The request field holding the handler's inputs that a type error can be put in, and a
    /// value of the wrong type for it (v1 `args` must be an array, v2 `params` an object).
    pub fn input_field_and_wrong_value(self) -> (&'static str, Value) {
        match self {
            Version::V1 => ("args", json!({"0": 1})),
            Version::V2 => ("params", json!([1])),
        }
    }

    /// What the `echo` handler returns for `request`: v1 `{"args": args, "kwargs": kwargs}`,
    /// v2 `{"params": params}`.
    pub fn echo_result(self, request: &Request) -> Value {
        match self {
            Version::V1 => json!({"args": request.args, "kwargs": request.named}),
            Version::V2 => json!({"params": v2_params(request)}),
        }
    }

    /// The canonical body (no header) of a request frame.
    pub fn request_body(self, request: &Request) -> Vec<u8> {
        self.encode(&Message::Request(request.clone()))
    }

    /// A whole request frame (header and canonical body).
    pub fn request_frame(self, request: &Request) -> Vec<u8> {
        frame_of(&self.request_body(request))
    }

    /// The request message as a JSON value (`{"type":"request","payload":{...}}`), to mutate.
    pub fn request_value(self, request: &Request) -> Value {
        serde_json::from_slice(&self.request_body(request)).expect("a request body is JSON")
    }

    /// A whole cancel frame.
    pub fn cancel_frame(self, cancel: &Cancel) -> Vec<u8> {
        frame_of(&self.encode(&Message::Cancel(cancel.clone())))
    }

    /// The canonical body of a response frame (the same in every version).
    pub fn response_body(self, outcome: &ExecutionOutcome) -> Vec<u8> {
        self.encode(&Message::Response(outcome.clone()))
    }

    /// The canonical body of any message.
    pub fn encode(self, message: &Message) -> Vec<u8> {
        let encoded = match self {
            Version::V1 => v1::encode_message(&to_v1(message)),
            Version::V2 => v2::encode_message(&to_v2(message)),
        };
        encoded.expect("the suite's messages always encode")
    }

    /// Decodes a frame body strictly, as the Rust crate does for this version.
    pub fn decode(self, body: &[u8]) -> Result<Message, FrameError> {
        Ok(match self {
            Version::V1 => from_v1(v1::decode_message(body)?),
            Version::V2 => from_v2(v2::decode_message(body)?),
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol_version())
    }
}

/// A message of either version, in version-neutral form.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    Response(ExecutionOutcome),
    Cancel(Cancel),
}

/// A request, whatever the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub protocol_version: String,
    pub request_id: String,
    pub job_id: String,
    pub function_name: String,
    /// Positional inputs: v1 `args`; in v2 the parameter `args` (see [`V2_POSITIONAL_PARAM`]),
    /// present only when not empty.
    pub args: Vec<Value>,
    /// Named inputs: v1 `kwargs`, v2 `params`.
    pub named: BTreeMap<String, Value>,
    pub context: Context,
}

/// A request's context, whatever the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub job_id: String,
    pub attempt: u32,
    pub enqueue_time: DateTime<Utc>,
    pub queue_name: String,
    pub deadline: Option<DateTime<Utc>>,
    pub trace_context: Option<BTreeMap<String, String>>,
    /// Protocol 2 only (dropped when a v1 frame is written).
    pub correlation_context: Option<BTreeMap<String, String>>,
    pub worker_id: Option<String>,
}

/// A cancel, whatever the version.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    pub protocol_version: String,
    pub job_id: String,
    pub request_id: Option<String>,
    pub hard_kill: bool,
}

impl Request {
    /// A request of `version` for `function`, with fixed, realistic context values (so that
    /// two runs send the same bytes).
    pub fn new(version: Version, job_id: &str, request_id: &str, function: &str) -> Request {
        Request {
            protocol_version: version.protocol_version().to_string(),
            request_id: request_id.to_string(),
            job_id: job_id.to_string(),
            function_name: function.to_string(),
            args: Vec::new(),
            named: BTreeMap::new(),
            context: Context {
                job_id: job_id.to_string(),
                attempt: 1,
                enqueue_time: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
                    + chrono::Duration::nanoseconds(123_456_789),
                queue_name: "conformance".to_string(),
                deadline: None,
                trace_context: Some(BTreeMap::from([(
                    "traceparent".to_string(),
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
                )])),
                correlation_context: (version == Version::V2)
                    .then(|| BTreeMap::from([("tenant".to_string(), "acme".to_string())])),
                worker_id: Some("rrq-conformance".to_string()),
            },
        }
    }

    /// With these positional inputs (`args` must be a JSON array).
    pub fn args(mut self, args: Value) -> Request {
        match args {
            Value::Array(items) => self.args = items,
            other => panic!("positional inputs must be an array, got {other}"),
        }
        self
    }

    /// With these named inputs (`named` must be a JSON object).
    pub fn named(mut self, named: Value) -> Request {
        match named {
            Value::Object(map) => self.named = map.into_iter().collect(),
            other => panic!("named inputs must be an object, got {other}"),
        }
        self
    }

    /// With this deadline.
    pub fn deadline(mut self, deadline: Option<DateTime<Utc>>) -> Request {
        self.context.deadline = deadline;
        self
    }
}

impl Cancel {
    pub fn new(
        version: Version,
        job_id: &str,
        request_id: Option<&str>,
        hard_kill: bool,
    ) -> Cancel {
        Cancel {
            protocol_version: version.protocol_version().to_string(),
            job_id: job_id.to_string(),
            request_id: request_id.map(str::to_string),
            hard_kill,
        }
    }
}

/// The current time (chrono is built without its clock feature).
pub fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

/// A frame: the 4-byte big-endian length, then `body`.
pub fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

fn v2_params(request: &Request) -> BTreeMap<String, Value> {
    let mut params = request.named.clone();
    if !request.args.is_empty() {
        params.insert(
            V2_POSITIONAL_PARAM.to_string(),
            Value::Array(request.args.clone()),
        );
    }
    params
}

fn to_v1(message: &Message) -> v1::RunnerMessage {
    match message {
        Message::Request(r) => v1::RunnerMessage::Request {
            payload: v1::ExecutionRequest {
                protocol_version: r.protocol_version.clone(),
                request_id: r.request_id.clone(),
                job_id: r.job_id.clone(),
                function_name: r.function_name.clone(),
                args: r.args.clone(),
                kwargs: r.named.clone(),
                context: v1::ExecutionContext {
                    job_id: r.context.job_id.clone(),
                    attempt: r.context.attempt,
                    enqueue_time: r.context.enqueue_time,
                    queue_name: r.context.queue_name.clone(),
                    deadline: r.context.deadline,
                    trace_context: r.context.trace_context.clone(),
                    worker_id: r.context.worker_id.clone(),
                },
            },
        },
        Message::Response(o) => v1::RunnerMessage::Response { payload: o.clone() },
        Message::Cancel(c) => v1::RunnerMessage::Cancel {
            payload: v1::CancelRequest {
                protocol_version: c.protocol_version.clone(),
                job_id: c.job_id.clone(),
                request_id: c.request_id.clone(),
                hard_kill: c.hard_kill,
            },
        },
    }
}

fn to_v2(message: &Message) -> v2::RunnerMessage {
    match message {
        Message::Request(r) => v2::RunnerMessage::Request {
            payload: v2::ExecutionRequest {
                protocol_version: r.protocol_version.clone(),
                request_id: r.request_id.clone(),
                job_id: r.job_id.clone(),
                function_name: r.function_name.clone(),
                params: v2_params(r),
                context: v2::ExecutionContext {
                    job_id: r.context.job_id.clone(),
                    attempt: r.context.attempt,
                    enqueue_time: r.context.enqueue_time,
                    queue_name: r.context.queue_name.clone(),
                    deadline: r.context.deadline,
                    trace_context: r.context.trace_context.clone(),
                    correlation_context: r.context.correlation_context.clone(),
                    worker_id: r.context.worker_id.clone(),
                },
            },
        },
        Message::Response(o) => v2::RunnerMessage::Response { payload: o.clone() },
        Message::Cancel(c) => v2::RunnerMessage::Cancel {
            payload: v2::CancelRequest {
                protocol_version: c.protocol_version.clone(),
                job_id: c.job_id.clone(),
                request_id: c.request_id.clone(),
                hard_kill: c.hard_kill,
            },
        },
    }
}

fn from_v1(message: v1::RunnerMessage) -> Message {
    match message {
        v1::RunnerMessage::Request { payload: r } => Message::Request(Request {
            protocol_version: r.protocol_version,
            request_id: r.request_id,
            job_id: r.job_id,
            function_name: r.function_name,
            args: r.args,
            named: r.kwargs,
            context: Context {
                job_id: r.context.job_id,
                attempt: r.context.attempt,
                enqueue_time: r.context.enqueue_time,
                queue_name: r.context.queue_name,
                deadline: r.context.deadline,
                trace_context: r.context.trace_context,
                correlation_context: None,
                worker_id: r.context.worker_id,
            },
        }),
        v1::RunnerMessage::Response { payload } => Message::Response(payload),
        v1::RunnerMessage::Cancel { payload: c } => Message::Cancel(Cancel {
            protocol_version: c.protocol_version,
            job_id: c.job_id,
            request_id: c.request_id,
            hard_kill: c.hard_kill,
        }),
    }
}

fn from_v2(message: v2::RunnerMessage) -> Message {
    match message {
        v2::RunnerMessage::Request { payload: r } => Message::Request(Request {
            protocol_version: r.protocol_version,
            request_id: r.request_id,
            job_id: r.job_id,
            function_name: r.function_name,
            // Named inputs only: a v2 request read back keeps its `params` as they are.
            args: Vec::new(),
            named: r.params,
            context: Context {
                job_id: r.context.job_id,
                attempt: r.context.attempt,
                enqueue_time: r.context.enqueue_time,
                queue_name: r.context.queue_name,
                deadline: r.context.deadline,
                trace_context: r.context.trace_context,
                correlation_context: r.context.correlation_context,
                worker_id: r.context.worker_id,
            },
        }),
        v2::RunnerMessage::Response { payload } => Message::Response(payload),
        v2::RunnerMessage::Cancel { payload: c } => Message::Cancel(Cancel {
            protocol_version: c.protocol_version,
            job_id: c.job_id,
            request_id: c.request_id,
            hard_kill: c.hard_kill,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_both_versions() {
        for version in Version::ALL {
            let req = Request::new(version, "job-1", "req-1", "echo")
                .args(json!([1, "two"]))
                .named(json!({"a": 1.0}));
            let body = version.request_body(&req);
            let Message::Request(back) = version.decode(&body).unwrap() else {
                panic!()
            };
            assert_eq!(version.echo_result(&back), version.echo_result(&req));
            assert_eq!(version.request_body(&back), body, "{version}");
        }
        let v1 =
            Version::V1.request_body(&Request::new(Version::V1, "j", "r", "echo").args(json!([1])));
        assert!(String::from_utf8(v1)
            .unwrap()
            .contains(r#""args":[1],"kwargs":{}"#));
        let v2 =
            Version::V2.request_body(&Request::new(Version::V2, "j", "r", "echo").args(json!([1])));
        let v2 = String::from_utf8(v2).unwrap();
        assert!(
            v2.contains(r#""params":{"args":[1]}"#) && v2.contains("correlation_context"),
            "{v2}"
        );
    }
}
