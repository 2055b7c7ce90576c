//! The seed's tests and the strict decoder's, for protocol "2".

use super::*;
use crate::frame::ErrorKind;
use crate::FrameError;
use serde_json::json;

fn decode_json(value: serde_json::Value) -> Result<RunnerMessage, FrameError> {
    decode_message(&serde_json::to_vec(&value).unwrap())
}

fn rejection(value: serde_json::Value) -> (ErrorKind, String) {
    let err = decode_json(value).unwrap_err();
    let FrameError::Invalid(e) = &err else { panic!("expected a content error, got {err}") };
    (e.kind(), e.path())
}

pub(crate) fn context() -> ExecutionContext {
    ExecutionContext {
        job_id: "job-1".to_string(),
        attempt: 1,
        enqueue_time: "2024-01-01T00:00:00Z".parse().unwrap(),
        queue_name: "default".to_string(),
        deadline: None,
        trace_context: None,
        correlation_context: None,
        worker_id: None,
    }
}

pub(crate) fn request() -> ExecutionRequest {
    ExecutionRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        request_id: "req-1".to_string(),
        job_id: "job-1".to_string(),
        function_name: "echo".to_string(),
        params: BTreeMap::new(),
        context: context(),
    }
}

#[test]
fn execution_request_defaults_protocol_version() {
    let payload = json!({
        "job_id": "job-1",
        "request_id": "req-1",
        "function_name": "echo",
        "params": {},
        "context": {
            "job_id": "job-1",
            "attempt": 1,
            "enqueue_time": "2024-01-01T00:00:00Z",
            "queue_name": "default",
            "deadline": null,
            "trace_context": null,
            "correlation_context": null,
            "worker_id": null
        }
    });
    let request: ExecutionRequest = serde_json::from_value(payload).unwrap();
    assert_eq!(request.protocol_version, PROTOCOL_VERSION);
}

#[test]
fn runner_message_round_trip() {
    let msg = RunnerMessage::Request { payload: request() };
    let serialized = serde_json::to_string(&msg).unwrap();
    let decoded: RunnerMessage = serde_json::from_str(&serialized).unwrap();
    let RunnerMessage::Request { payload } = decoded else { panic!("unexpected message type") };
    assert_eq!(payload.protocol_version, PROTOCOL_VERSION);
    assert_eq!(payload.request_id, "req-1");
}

#[test]
fn cancel_request_round_trip() {
    let cancel = CancelRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        job_id: "job-1".to_string(),
        request_id: Some("req-1".to_string()),
        hard_kill: true,
    };
    let msg = RunnerMessage::Cancel { payload: cancel };
    let serialized = serde_json::to_string(&msg).unwrap();
    let decoded: RunnerMessage = serde_json::from_str(&serialized).unwrap();
    let RunnerMessage::Cancel { payload } = decoded else { panic!("unexpected message type") };
    assert_eq!(payload.protocol_version, PROTOCOL_VERSION);
    assert_eq!(payload.request_id.as_deref(), Some("req-1"));
    assert!(payload.hard_kill);
}

#[test]
fn encoding_is_compact_in_declaration_order_with_sorted_dynamic_keys() {
    let mut req = request();
    // Built in an order that is not sorted: insertion order must not leak into the bytes.
    let mut nested = serde_json::Map::new();
    nested.insert("z".into(), json!(1));
    nested.insert("a".into(), json!({"y": 2, "b": [{"d": 1, "c": 2}]}));
    req.params.insert("nested".into(), serde_json::Value::Object(nested));
    req.params.insert("\u{10000}".into(), json!(1));
    req.params.insert("\u{ffff}".into(), json!(2));
    req.context.correlation_context = Some(BTreeMap::from([("tenant".to_string(), "t-1".to_string())]));
    let body = encode_message(&RunnerMessage::Request { payload: req }).unwrap();
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text,
        "{\"type\":\"request\",\"payload\":{\"protocol_version\":\"2\",\"request_id\":\"req-1\",\
         \"job_id\":\"job-1\",\"function_name\":\"echo\",\"params\":{\"nested\":{\"a\":{\"b\":[{\"c\":2,\"d\":1}],\
         \"y\":2},\"z\":1},\"\u{ffff}\":2,\"\u{10000}\":1},\"context\":{\"job_id\":\"job-1\",\
         \"attempt\":1,\"enqueue_time\":\"2024-01-01T00:00:00Z\",\"queue_name\":\"default\",\
         \"deadline\":null,\"trace_context\":null,\"correlation_context\":{\"tenant\":\"t-1\"},\"worker_id\":null}}}"
    );
}

pub(crate) fn minimal_request() -> serde_json::Value {
    json!({"type": "request", "payload": {
        "request_id": "r", "job_id": "j", "function_name": "f",
        "context": {"job_id": "j", "attempt": 1, "enqueue_time": "2024-01-01T00:00:00Z", "queue_name": "q"}
    }})
}

#[test]
fn defaults_apply_when_fields_are_missing() {
    let RunnerMessage::Request { payload } = decode_json(minimal_request()).unwrap() else { panic!() };
    assert_eq!(payload.protocol_version, "2");
    assert!(payload.params.is_empty());
    assert_eq!(payload.context.correlation_context, None);
    assert_eq!(payload.context.deadline, None);
}

#[test]
fn errors_name_the_path_and_kind() {
    let mut v = minimal_request();
    v["payload"]["context"]["attempt"] = json!(1.5);
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.context.attempt".into()));

    let mut v = minimal_request();
    v["payload"]["context"]["attempt"] = json!(4294967296u64);
    assert_eq!(rejection(v), (ErrorKind::Value, "payload.context.attempt".into()));

    let mut v = minimal_request();
    v["payload"]["context"].as_object_mut().unwrap().remove("queue_name");
    assert_eq!(rejection(v), (ErrorKind::Missing, "payload.context.queue_name".into()));

    let mut v = minimal_request();
    v["payload"]["context"]["trace_context"] = json!({"a b": 1});
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.context.trace_context[\"a b\"]".into()));

    let mut v = minimal_request();
    v["payload"]["params"] = json!(null);
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.params".into()));

    let mut v = minimal_request();
    v["payload"]["context"]["correlation_context"] = json!({"tenant": 7});
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.context.correlation_context.tenant".into()));

    assert_eq!(rejection(json!({"type": "nope", "payload": {}})), (ErrorKind::Value, "type".into()));
    assert_eq!(rejection(json!({"type": "cancel"})), (ErrorKind::Missing, "payload".into()));
    assert_eq!(rejection(json!([1])), (ErrorKind::Type, "$".into()));
}
