//! Property tests of the decoder (issue 8, Rust side): it never panics on any input, never
//! buffers past a bad header, and decode → encode → decode is stable.

use proptest::prelude::*;
// The shared code (framing, strict decoding, canonical encoding) is exercised through protocol
// "1"'s messages; protocol "2" differs only in the request's fields.
use rrq_protocol::v1::*;
use serde_json::{Map, Number, Value};

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        any::<String>(),
        Just("\u{2028}\u{2029}\u{7f}\u{0}\"\\/".to_string()),
        Just("\u{ffff}\u{10000}\u{e000}\u{1f600}".to_string()),
    ]
}

fn float(f: f64) -> Value {
    Value::Number(Number::from_f64(f).expect("finite"))
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        prop_oneof![Just(0.0), Just(-0.0), Just(1.0), Just(1e21), Just(1e-7), Just(5e-324), Just(f64::MAX)]
            .prop_map(float),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String)
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((string(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn timestamp() -> impl Strategy<Value = chrono::DateTime<chrono::Utc>> {
    // 0001-01-01 ..= 9999-12-31, with any nanosecond.
    (-62_135_596_800i64..=253_402_300_799i64, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| chrono::DateTime::from_timestamp(secs, nanos).unwrap())
}

fn context() -> impl Strategy<Value = ExecutionContext> {
    (
        string(),
        any::<u32>(),
        timestamp(),
        string(),
        prop::option::of(timestamp()),
        prop::option::of(prop::collection::btree_map(string(), string(), 0..4)),
        prop::option::of(string()),
    )
        .prop_map(
            |(job_id, attempt, enqueue_time, queue_name, deadline, trace_context, worker_id)| ExecutionContext {
                job_id,
                attempt,
                enqueue_time,
                queue_name,
                deadline,
                trace_context,
                worker_id,
            },
        )
}

fn message() -> impl Strategy<Value = RunnerMessage> {
    let request = (
        string(),
        string(),
        string(),
        string(),
        prop::collection::vec(json_value(), 0..4),
        prop::collection::btree_map(string(), json_value(), 0..4),
        context(),
    )
        .prop_map(|(protocol_version, request_id, job_id, function_name, args, kwargs, context)| {
            RunnerMessage::Request {
                payload: ExecutionRequest { protocol_version, request_id, job_id, function_name, args, kwargs, context },
            }
        });
    let status = prop_oneof![
        Just(OutcomeStatus::Success),
        Just(OutcomeStatus::Retry),
        Just(OutcomeStatus::Timeout),
        Just(OutcomeStatus::Error)
    ];
    let error = (string(), prop::option::of(string()), prop::option::of(string()), prop::option::of(json_value()))
        .prop_map(|(message, error_type, code, details)| ExecutionError { message, error_type, code, details });
    let response = (
        prop::option::of(string()),
        prop::option::of(string()),
        status,
        prop::option::of(json_value()),
        prop::option::of(error),
        prop::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
    )
        .prop_map(|(job_id, request_id, status, result, error, retry_after_seconds)| RunnerMessage::Response {
            payload: ExecutionOutcome { job_id, request_id, status, result, error, retry_after_seconds },
        });
    let cancel = (string(), string(), prop::option::of(string()), any::<bool>()).prop_map(
        |(protocol_version, job_id, request_id, hard_kill)| RunnerMessage::Cancel {
            payload: CancelRequest { protocol_version, job_id, request_id, hard_kill },
        },
    );
    prop_oneof![request, response, cancel]
}

/// A JSON `null` in an `Option<Value>` field decodes as `None`: normalise before comparing.
fn normalised(mut message: RunnerMessage) -> RunnerMessage {
    if let RunnerMessage::Response { payload } = &mut message {
        if payload.result == Some(Value::Null) {
            payload.result = None;
        }
        if let Some(error) = &mut payload.error {
            if error.details == Some(Value::Null) {
                error.details = None;
            }
        }
    }
    message
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn valid_messages_round_trip(message in message()) {
        let frame = encode_frame(&message).unwrap();
        let decoded = decode_frame(&frame).unwrap();
        prop_assert_eq!(&decoded, &normalised(message));
        prop_assert_eq!(encode_frame(&decoded).unwrap(), frame);
    }

    #[test]
    fn mutated_frames_never_panic_and_accepts_are_stable(
        message in message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut frame = encode_frame(&message).unwrap();
        for (index, byte) in flips {
            let i = index.index(frame.len());
            frame[i] = byte;
        }
        if truncate {
            frame.truncate(cut.index(frame.len() + 1));
        }
        if let Ok(decoded) = decode_frame(&frame) {
            let canonical = encode_frame(&decoded).unwrap();
            let again = decode_frame(&canonical).unwrap();
            prop_assert_eq!(encode_frame(&again).unwrap(), canonical);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_frame(&bytes);
        let _ = decode_message(&bytes);
    }

    #[test]
    fn incremental_decoder_matches_whole_frames_and_never_buffers_past_a_bad_header(
        messages in prop::collection::vec(message(), 0..4),
        bad_header in prop_oneof![Just(0u32), (MAX_FRAME_LEN as u32 + 1)..=u32::MAX],
        tail in prop::collection::vec(any::<u8>(), 0..64),
        chunk in 1usize..97,
    ) {
        let frames: Vec<Vec<u8>> = messages.iter().map(|m| encode_frame(m).unwrap()).collect();
        let mut stream = frames.concat();
        stream.extend_from_slice(&bad_header.to_be_bytes());
        stream.extend_from_slice(&tail);
        let mut decoder = FrameDecoder::new();
        let mut bodies = Vec::new();
        let mut failed = false;
        for piece in stream.chunks(chunk) {
            let pushed = decoder.push(piece);
            while let Some(body) = decoder.next_body() {
                bodies.push(body);
            }
            if let Err(err) = pushed {
                prop_assert_eq!(err.kind(), ErrorKind::Length);
                failed = true;
                break;
            }
        }
        prop_assert!(failed, "the bad header is always reported");
        prop_assert!(decoder.buffered() <= FRAME_HEADER_LEN, "nothing past the bad header is kept");
        let expected: Vec<Vec<u8>> = frames.iter().map(|f| f[FRAME_HEADER_LEN..].to_vec()).collect();
        prop_assert_eq!(bodies, expected);
    }
}
