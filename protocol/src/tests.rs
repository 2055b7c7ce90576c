//! Tests of what the versions share (framing, timestamps, floats, outcomes, strict shapes),
//! run on protocol "1" messages; `tests/v1.rs` and `tests/v2.rs` hold each version's own.

use crate::frame::{ErrorKind, FrameError};
use crate::outcome::*;
use crate::timestamp;
use crate::v1::tests::{minimal_request, request};
use crate::v1::*;
use crate::{FRAME_HEADER_LEN, MAX_FRAME_LEN};
use serde_json::json;

fn decode_json(value: serde_json::Value) -> Result<RunnerMessage, FrameError> {
    decode_message(&serde_json::to_vec(&value).unwrap())
}

// --- the seed's tests, ported ---

#[test]
fn handler_not_found_sets_error_type() {
    let outcome = ExecutionOutcome::handler_not_found("job-1", "req-1", "missing handler");
    assert_eq!(outcome.status, OutcomeStatus::Error);
    assert_eq!(
        outcome.error.as_ref().and_then(|err| err.error_type.as_deref()),
        Some("handler_not_found")
    );
}

#[test]
fn frame_round_trip() {
    let outcome = ExecutionOutcome::success("job-1", "req-1", json!({"ok": true}));
    let message = RunnerMessage::Response { payload: outcome };
    let framed = encode_frame(&message).expect("frame encode failed");
    let decoded = decode_frame(&framed).expect("frame decode failed");
    let RunnerMessage::Response { payload } = decoded else { panic!("unexpected message variant") };
    assert_eq!(payload.status, OutcomeStatus::Success);
    assert_eq!(payload.job_id.as_deref(), Some("job-1"));
}

// --- constructors ---

#[test]
fn constructors_set_status_and_fields() {
    let retry = ExecutionOutcome::retry("j", "r", "later", Some(2.5));
    assert_eq!((retry.status, retry.retry_after_seconds), (OutcomeStatus::Retry, Some(2.5)));
    assert_eq!(ExecutionOutcome::timeout("j", "r", "late").status, OutcomeStatus::Timeout);
    let error = ExecutionOutcome::error("j", "r", "boom");
    assert_eq!(error.status, OutcomeStatus::Error);
    assert_eq!(error.error.unwrap().error_type, None);
}

// --- canonical encoding ---

/// The float format of the pinned serde_json is the canonical one: an upgrade that changes it
/// must fail here (serde_json 1.0.147 changed `1e21` to `1e+21`, for one). Other languages reproduce this table..
#[test]
fn float_format_is_pinned() {
    let cases: &[(f64, &str)] = &[
        (0.1, "0.1"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (123456789012345680.0, "1.2345678901234568e+17"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (0.0001, "0.0001"),
        (0.00001, "0.00001"),
        (1.5e300, "1.5e+300"),
        (-2.5e-10, "-2.5e-10"),
    ];
    let actual: Vec<(f64, String)> =
        cases.iter().map(|(f, _)| (*f, serde_json::to_string(f).unwrap())).collect();
    let expected: Vec<(f64, String)> = cases.iter().map(|(f, s)| (*f, s.to_string())).collect();
    assert_eq!(actual, expected);
}

#[test]
fn float_parsing_is_exact() {
    // Without serde_json's `float_roundtrip` this parses one ulp off.
    let v: serde_json::Value = serde_json::from_str("0.8459899999999999").unwrap();
    assert_eq!(v.as_f64().unwrap().to_bits(), 0.8459899999999999f64.to_bits());
}

// --- strict decoding ---

fn rejection(value: serde_json::Value) -> (ErrorKind, String) {
    let err = decode_json(value).unwrap_err();
    let FrameError::Invalid(e) = &err else { panic!("expected a content error, got {err}") };
    (e.kind(), e.path())
}

#[test]
fn structs_and_unit_enums_take_only_their_json_shape() {
    let v = json!({"type": "cancel", "payload": ["1", "job", null, false]});
    assert_eq!(rejection(v), (ErrorKind::Type, "payload".into()));
    let v = json!({"type": "response", "payload": {"status": {"success": null}}});
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.status".into()));
    let v = json!({"type": "response", "payload": {"status": "bogus"}});
    assert_eq!(rejection(v), (ErrorKind::Value, "payload.status".into()));
}

#[test]
fn duplicate_keys_keep_the_last_value_everywhere() {
    let body = br#"{"type":"cancel","payload":{"job_id":"a","job_id":"b","hard_kill":true}}"#;
    let RunnerMessage::Cancel { payload } = decode_message(body).unwrap() else { panic!() };
    assert_eq!(payload.job_id, "b");
}

// --- timestamps ---

#[test]
fn timestamps_use_the_strict_grammar() {
    let ok = |s: &str| timestamp::parse(s).map(|t| serde_json::to_string(&t).unwrap());
    assert_eq!(ok("2024-01-01T00:00:00Z").unwrap(), "\"2024-01-01T00:00:00Z\"");
    assert_eq!(ok("2024-01-01T02:00:00.5+02:00").unwrap(), "\"2024-01-01T00:00:00.500Z\"");
    assert_eq!(ok("2024-01-01T00:00:00.123456789Z").unwrap(), "\"2024-01-01T00:00:00.123456789Z\"");
    assert_eq!(ok("2024-01-01T00:00:00.1234Z").unwrap(), "\"2024-01-01T00:00:00.123400Z\"");
    assert_eq!(ok("0001-01-01T00:00:00Z").unwrap(), "\"0001-01-01T00:00:00Z\"");
    assert_eq!(ok("9999-12-31T23:59:59.999999999Z").unwrap(), "\"9999-12-31T23:59:59.999999999Z\"");
    for bad in [
        "2024-01-01 00:00:00Z",
        "2024-01-01t00:00:00Z",
        "2024-01-01T00:00:00+0200",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00.1234567891Z",
        "2024-02-30T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "24-01-01T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
        "2024-01-01T00:00:00z",
    ] {
        assert!(timestamp::parse(bad).is_err(), "{bad} should be rejected");
    }
}

// --- framing ---

#[test]
fn frame_length_errors() {
    let kind = |bytes: &[u8]| decode_frame(bytes).unwrap_err().kind();
    assert_eq!(kind(&[0, 0, 0]), ErrorKind::Length);
    assert_eq!(kind(&[0, 0, 0, 0]), ErrorKind::Length);
    assert_eq!(kind(&[0, 0, 0, 5, b'{', b'}']), ErrorKind::Length);
    assert_eq!(kind(&[0xff, 0xff, 0xff, 0xff, b'{']), ErrorKind::Length);
    assert_eq!(kind(&[0, 0, 0, 2, b'{', b'}']), ErrorKind::Missing);
    assert_eq!(kind(&[0, 0, 0, 1, b'{']), ErrorKind::Json);
}

#[test]
fn incremental_decoder_splits_frames_at_any_boundary() {
    let frames: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let msg = RunnerMessage::Response {
                payload: ExecutionOutcome::success("j", format!("r{i}"), json!([i])),
            };
            encode_frame(&msg).unwrap()
        })
        .collect();
    let stream: Vec<u8> = frames.concat();
    for chunk in 1..=stream.len() {
        let mut decoder = FrameDecoder::new();
        let mut bodies = Vec::new();
        for piece in stream.chunks(chunk) {
            decoder.push(piece).unwrap();
            while let Some(body) = decoder.next_body() {
                bodies.push(body);
            }
        }
        let expected: Vec<Vec<u8>> = frames.iter().map(|f| f[4..].to_vec()).collect();
        assert_eq!(bodies, expected, "chunk size {chunk}");
        assert_eq!(decoder.buffered(), 0);
    }
}

#[test]
fn incremental_decoder_rejects_oversized_header_before_buffering_the_body() {
    let mut decoder = FrameDecoder::new();
    let mut bytes = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[b'x'; 1000]);
    let err = decoder.push(&bytes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Length);
    assert_eq!(decoder.buffered(), FRAME_HEADER_LEN);
    assert!(decoder.push(b"more").is_err(), "a failed decoder stays failed");

    // The same when the bad header follows a good frame in the same push.
    let mut decoder = FrameDecoder::new();
    let mut bytes = encode_frame(&RunnerMessage::Request { payload: request() }).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3]);
    assert_eq!(decoder.push(&bytes).unwrap_err().kind(), ErrorKind::Length);
    assert_eq!(decoder.buffered(), good + FRAME_HEADER_LEN);
    assert!(decoder.next_message().unwrap().is_ok(), "the good frame is still there");
}

#[test]
fn incremental_decoder_keeps_step_after_a_bad_body() {
    let mut decoder = FrameDecoder::new();
    let mut bytes = vec![0, 0, 0, 2, b'[', b'x'];
    bytes.extend(encode_frame(&RunnerMessage::Request { payload: request() }).unwrap());
    decoder.push(&bytes).unwrap();
    assert_eq!(decoder.next_message().unwrap().unwrap_err().kind(), ErrorKind::Json);
    assert!(decoder.next_message().unwrap().is_ok());
    assert!(decoder.next_message().is_none());
}

#[test]
fn a_null_result_or_details_is_omitted_like_none() {
    let mut outcome = ExecutionOutcome::success("j", "r", ());
    assert_eq!(outcome.result, Some(serde_json::Value::Null));
    outcome.error = Some(ExecutionError { details: Some(serde_json::Value::Null), ..ExecutionError::new("m", None) });
    let body = encode_message(&RunnerMessage::Response { payload: outcome }).unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"type":"response","payload":{"job_id":"j","request_id":"r","status":"success","error":{"message":"m"}}}"#
    );
}

#[test]
fn the_first_error_is_the_same_whatever_the_key_order() {
    // Several errors: the first field in declaration order wins, then absent required fields.
    for body in [
        r#"{"type":"cancel","payload":{"job_id":1,"hard_kill":"x"}}"#,
        r#"{"payload":{"hard_kill":"x","job_id":1},"type":"cancel"}"#,
    ] {
        let FrameError::Invalid(e) = decode_message(body.as_bytes()).unwrap_err() else { panic!() };
        assert_eq!((e.kind(), e.path()), (ErrorKind::Type, "payload.job_id".to_string()));
    }
    let body = r#"{"type":"cancel","payload":{"hard_kill":"x"}}"#;
    let FrameError::Invalid(e) = decode_message(body.as_bytes()).unwrap_err() else { panic!() };
    assert_eq!(e.path(), "payload.hard_kill", "a present invalid field before an absent one");
    // Map entries: the first in code-point order of their keys.
    let mut v = minimal_request();
    v["payload"]["context"]["trace_context"] = json!({"b": 1, "a": 2});
    assert_eq!(rejection(v), (ErrorKind::Type, "payload.context.trace_context.a".into()));
}
