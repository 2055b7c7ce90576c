//! Base messages the cases start from, as JSON values (serde_json keeps their key order in
//! codegen), and small helpers to change one spot of a message.

use serde_json::{json, Value};

/// The enqueue time of the base requests.
pub const ENQUEUE_TIME: &str = "2024-05-01T12:00:00Z";

/// A request with only its required fields.
pub fn request_min() -> Value {
    json!({"type": "request", "payload": {
        "request_id": "req-1",
        "job_id": "job-1",
        "function_name": "echo",
        "context": {"job_id": "job-1", "attempt": 1, "enqueue_time": ENQUEUE_TIME, "queue_name": "default"}
    }})
}

/// A request with every field present and holding a value (not `null`).
pub fn request_max() -> Value {
    json!({"type": "request", "payload": {
        "protocol_version": "1",
        "request_id": "req-2",
        "job_id": "job-2",
        "function_name": "resize_image",
        "args": ["s3://bucket/cat.png", 640, 480.5, true, null, [1, "two"], {"format": "webp", "quality": 80}],
        "kwargs": {"dry_run": false, "tags": ["a", "b"], "ratio": 0.75, "owner": {"id": 7, "name": "Zoë"}},
        "context": {
            "job_id": "job-2",
            "attempt": 3,
            "enqueue_time": "2024-05-01T12:00:00.123456789Z",
            "queue_name": "images",
            "deadline": "2024-05-01T12:05:00Z",
            "trace_context": {
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tracestate": "rojo=00f067aa0ba902b7"
            },
            "worker_id": "worker-7"
        }
    }})
}

/// A response with only its required field.
pub fn response_min() -> Value {
    json!({"type": "response", "payload": {"status": "success"}})
}

/// A response with every field present and holding a value.
pub fn response_max() -> Value {
    json!({"type": "response", "payload": {
        "job_id": "job-2",
        "request_id": "req-2",
        "status": "retry",
        "result": {"partial": [1, 2, 3], "done": false},
        "error": {
            "message": "upstream unavailable",
            "type": "ConnectionError",
            "code": "E503",
            "details": {"host": "images.internal", "attempts": 2, "backoff": [0.5, 1.0]}
        },
        "retry_after_seconds": 2.5
    }})
}

/// A cancel with only its required field.
pub fn cancel_min() -> Value {
    json!({"type": "cancel", "payload": {"job_id": "job-1"}})
}

/// A cancel with every field present and holding a value.
pub fn cancel_max() -> Value {
    json!({"type": "cancel", "payload": {
        "protocol_version": "1", "job_id": "job-2", "request_id": "req-2", "hard_kill": true
    }})
}

/// The maximal message whose `type` is `tag`, if there is a fixture for it.
pub fn maximal(tag: &str) -> Option<Value> {
    match tag {
        "request" => Some(request_max()),
        "response" => Some(response_max()),
        "cancel" => Some(cancel_max()),
        _ => None,
    }
}

/// The value at `path` (object keys from the root), if present.
pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn parent<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut serde_json::Map<String, Value> {
    let (_, parents) = path.split_last().expect("a non-empty path");
    let mut at = value;
    for key in parents {
        at = at.get_mut(*key).unwrap_or_else(|| panic!("no {key:?} on the way to {path:?}"));
    }
    at.as_object_mut().unwrap_or_else(|| panic!("the parent of {path:?} is not an object"))
}

/// `value` with the key at `path` set to `new` (in place if present, else appended).
pub fn with(mut value: Value, path: &[&str], new: Value) -> Value {
    let key = path.last().expect("a non-empty path").to_string();
    parent(&mut value, path).insert(key, new);
    value
}

/// `value` without the key at `path` (the other keys keep their order).
pub fn without(mut value: Value, path: &[&str]) -> Value {
    let key = path.last().expect("a non-empty path");
    parent(&mut value, path).shift_remove(*key);
    value
}

/// Compact JSON text of `value`, keys in the order it holds them.
pub fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

/// The text of `value` with the JSON text `raw` spliced in at `path` instead of its value, for
/// inputs a `Value` cannot hold (odd number syntax, escapes, invalid JSON).
pub fn splice(value: &Value, path: &[&str], raw: &str) -> String {
    const MARK: &str = "\u{1}golden-splice\u{1}";
    let marked = with(value.clone(), path, json!(MARK));
    let quoted = serde_json::to_string(MARK).unwrap();
    let text = text(&marked);
    assert_eq!(text.matches(&quoted).count(), 1, "splice marker must occur once");
    text.replace(&quoted, raw)
}

/// Nesting depth of JSON text: the deepest level of open arrays and objects, strings skipped.
pub fn depth(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// [`splice`] with raw bytes (which need not be UTF-8).
pub fn splice_bytes(value: &Value, path: &[&str], raw: &[u8]) -> Vec<u8> {
    const MARK: &str = "\u{1}golden-splice\u{1}";
    let text = splice(value, path, MARK);
    let (before, after) = text.split_once(MARK).expect("the marker is there");
    [before.as_bytes(), raw, after.as_bytes()].concat()
}
