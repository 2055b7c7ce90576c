//! The hand-written cases, one function per group. Each case is an input only (JSON text, a
//! JSON value or raw bytes, with a name and a description); what the reference makes of it is
//! recorded by running it.

use super::fixtures::{
    self, cancel_max, cancel_min, request_max, request_min, response_max, response_min, splice,
    splice_bytes, text, with, without,
};
use super::Case;
use rrq_protocol::{MAX_FRAME_LEN, MAX_NESTING_DEPTH};
use serde_json::{json, Value};

fn v(slug: &str, description: &str, value: &Value) -> Case {
    Case::value(slug, description, value)
}

fn b(slug: &str, description: &str, body: impl AsRef<[u8]>) -> Case {
    Case::body(slug, description, body)
}

/// A minimal request whose `args` is the JSON text `raw`.
fn args(raw: &str) -> String {
    splice(&request_min(), &["payload", "args"], raw)
}

/// A minimal request whose `kwargs` is the JSON text `raw`.
fn kwargs(raw: &str) -> String {
    splice(&request_min(), &["payload", "kwargs"], raw)
}

/// A minimal request whose `context.attempt` is the JSON text `raw`.
fn attempt(raw: &str) -> String {
    splice(&request_min(), &["payload", "context", "attempt"], raw)
}

/// A `retry` response whose `retry_after_seconds` is the JSON text `raw`.
fn retry_after(raw: &str) -> String {
    let base = json!({"type": "response", "payload": {
        "job_id": "job-1", "request_id": "req-1", "status": "retry",
        "error": {"message": "try later"}, "retry_after_seconds": 0
    }});
    splice(&base, &["payload", "retry_after_seconds"], raw)
}

/// A success response whose `result` is the JSON text `raw`.
fn result(raw: &str) -> String {
    let base = json!({"type": "response", "payload": {
        "job_id": "job-1", "request_id": "req-1", "status": "success", "result": null
    }});
    splice(&base, &["payload", "result"], raw)
}

/// An error response whose `error.details` is the JSON text `raw`.
fn details(raw: &str) -> String {
    let base = json!({"type": "response", "payload": {
        "job_id": "job-1", "request_id": "req-1", "status": "error",
        "error": {"message": "boom", "details": null}
    }});
    splice(&base, &["payload", "error", "details"], raw)
}

/// A minimal cancel whose `job_id` is the JSON text `raw` (a string literal, quotes included).
fn job_id(raw: &str) -> String {
    splice(&cancel_min(), &["payload", "job_id"], raw)
}

/// A minimal cancel whose `job_id` is the raw bytes `raw` (quotes included).
fn job_id_bytes(raw: &[u8]) -> Vec<u8> {
    splice_bytes(&cancel_min(), &["payload", "job_id"], raw)
}

/// A minimal request whose `context.enqueue_time` is the string `timestamp`.
fn enqueue(timestamp: &str) -> Value {
    with(request_min(), &["payload", "context", "enqueue_time"], json!(timestamp))
}

/// A minimal request whose `context.deadline` is the string `timestamp`.
fn deadline(timestamp: &str) -> Value {
    with(request_min(), &["payload", "context", "deadline"], json!(timestamp))
}

/// A minimal request whose `context.trace_context` is `map`.
fn trace_context(map: Value) -> Value {
    with(request_min(), &["payload", "context", "trace_context"], map)
}

/// Every message type, minimal and maximal, and the common shapes of each.
pub fn messages() -> Vec<Case> {
    vec![
        v("request-minimal", "a request with only its required fields", &request_min()),
        v("request-maximal", "a request with every field holding a value", &request_max()),
        v("response-minimal", "a response with only `status`", &response_min()),
        v("response-maximal", "a response with every field holding a value", &response_max()),
        v("cancel-minimal", "a cancel with only `job_id`", &cancel_min()),
        v("cancel-maximal", "a cancel with every field holding a value", &cancel_max()),
        v(
            "response-success",
            "a success outcome as a runner sends it",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "success", "result": {"args": [1, 2], "kwargs": {"x": "y"}}}}),
        ),
        v(
            "response-handler-not-found",
            "the error outcome for an unknown function_name",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "error", "error": {"message": "no handler registered for 'nope'", "type": "handler_not_found"}}}),
        ),
        v(
            "response-timeout",
            "a timeout outcome",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "timeout", "error": {"message": "deadline exceeded", "type": "timeout"}}}),
        ),
        v(
            "response-cancelled",
            "an error outcome of type cancelled",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "error", "error": {"message": "cancelled", "type": "cancelled"}}}),
        ),
        v(
            "response-retry-without-delay",
            "a retry outcome without retry_after_seconds",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "retry", "error": {"message": "later"}}}),
        ),
        v(
            "response-error-with-code-and-details",
            "an error with every ExecutionError field",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": "req-1", "status": "error", "error": {"message": "bad input", "type": "ValueError", "code": "E_INPUT", "details": [{"field": "x", "problem": "negative"}]}}}),
        ),
        b("result-string", "a success whose result is a string", result(r#""done""#)),
        b("result-integer", "a success whose result is an integer", result("42")),
        b("result-float", "a success whose result is a float", result("3.25")),
        b("result-true", "a success whose result is true", result("true")),
        b("result-false", "a success whose result is false", result("false")),
        b("result-empty-string", "a success whose result is the empty string", result(r#""""#)),
        b("result-empty-array", "a success whose result is []", result("[]")),
        b("result-empty-object", "a success whose result is {}", result("{}")),
        b("result-nested", "a success whose result nests arrays and objects", result(r#"{"rows":[{"id":1,"tags":[]},{"id":2,"tags":["x",{"deep":[null,false]}]}],"count":2}"#)),
        b("details-string", "an error whose details is a string", details(r#""stack trace here""#)),
        b("details-number", "an error whose details is a number", details("7")),
        b("details-array", "an error whose details is an array", details(r#"["a",1,null]"#)),
        v(
            "request-other-protocol-version",
            "a request from a newer protocol version (decoding does not check it; a runner answers unsupported_protocol_version)",
            &with(request_min(), &["payload", "protocol_version"], json!("2")),
        ),
        v(
            "request-empty-strings",
            "a request whose string fields are all empty",
            &json!({"type": "request", "payload": {"request_id": "", "job_id": "", "function_name": "", "context": {"job_id": "", "attempt": 0, "enqueue_time": fixtures::ENQUEUE_TIME, "queue_name": "", "worker_id": ""}}}),
        ),
        v(
            "cancel-by-job",
            "a cancel without request_id and with hard_kill false",
            &json!({"type": "cancel", "payload": {"protocol_version": "1", "job_id": "job-9", "hard_kill": false}}),
        ),
    ]
}

/// Defaults and optional fields: absent, `null`, or written out (the systematic cases add one
/// per field).
pub fn defaults() -> Vec<Case> {
    vec![
        v(
            "request-defaults-written-out",
            "a request that writes every default and every null explicitly",
            &json!({"type": "request", "payload": {
                "protocol_version": "1", "request_id": "req-1", "job_id": "job-1", "function_name": "echo",
                "args": [], "kwargs": {},
                "context": {"job_id": "job-1", "attempt": 1, "enqueue_time": fixtures::ENQUEUE_TIME, "queue_name": "default",
                            "deadline": null, "trace_context": null, "worker_id": null}
            }}),
        ),
        v(
            "response-every-optional-null",
            "a response whose optional fields are all null",
            &json!({"type": "response", "payload": {"job_id": null, "request_id": null, "status": "success", "result": null, "error": null, "retry_after_seconds": null}}),
        ),
        v(
            "error-every-optional-null",
            "an error whose optional fields are all null",
            &json!({"type": "response", "payload": {"status": "error", "error": {"message": "m", "type": null, "code": null, "details": null}}}),
        ),
        v(
            "cancel-every-optional-null",
            "a cancel whose nullable request_id is null (hard_kill and protocol_version absent)",
            &json!({"type": "cancel", "payload": {"job_id": "job-1", "request_id": null}}),
        ),
        v(
            "trace-context-empty",
            "trace_context given an empty object (not the same as null)",
            &trace_context(json!({})),
        ),
        v(
            "result-json-null",
            "a success whose result is the JSON value null",
            &json!({"type": "response", "payload": {"status": "success", "result": null}}),
        ),
        v(
            "details-json-null",
            "an error whose details is the JSON value null",
            &json!({"type": "response", "payload": {"status": "error", "error": {"message": "m", "details": null}}}),
        ),
        v(
            "hard-kill-false-explicit",
            "hard_kill written as false",
            &with(cancel_min(), &["payload", "hard_kill"], json!(false)),
        ),
        v(
            "args-kwargs-empty-explicit",
            "args and kwargs written as [] and {}",
            &with(with(request_min(), &["payload", "args"], json!([])), &["payload", "kwargs"], json!({})),
        ),
    ]
}

/// Valid input that is not canonical: the canonical bytes differ from the input.
pub fn noncanonical() -> Vec<Case> {
    let mut cases = vec![
        b(
            "pretty-printed",
            "the maximal request pretty-printed with two-space indentation",
            serde_json::to_string_pretty(&request_max()).unwrap(),
        ),
        b(
            "whitespace-everywhere",
            "spaces, tabs, CR and LF around every token",
            " \t\r\n{ \"type\" :\t\"cancel\" ,\r\n \"payload\" : { \"job_id\" : \"job-1\" , \"hard_kill\" : true } } ",
        ),
        v("keys-reversed", "the maximal request with the keys of every object in reverse order", &super::reorder(&request_max(), |e| e.reverse())),
        v("keys-sorted", "the maximal response with the keys of every object sorted", &super::reorder(&response_max(), |e| e.sort_by(|a, b| a.0.cmp(b.0)))),
    ];
    for (tag, message) in [("request", request_max()), ("response", response_max()), ("cancel", cancel_max())] {
        let payload = message["payload"].clone();
        cases.push(v(
            &format!("{tag}-type-after-payload"),
            &format!("a {tag} whose `type` comes after `payload`"),
            &json!({"payload": payload, "type": tag}),
        ));
    }
    cases.extend([
        v(
            "unknown-fields-everywhere",
            "unknown fields in the envelope, the payload and the context (ignored)",
            &with(
                with(
                    with(request_max(), &["id"], json!(17)),
                    &["payload", "priority"],
                    json!({"level": "high", "weights": [1, 2.5, null]}),
                ),
                &["payload", "context", "retries_left"],
                json!(4),
            ),
        ),
        v(
            "unknown-field-in-error",
            "an unknown field in error (ignored)",
            &with(response_max(), &["payload", "error", "stack"], json!(["frame 1", "frame 2"])),
        ),
        v(
            "unknown-field-in-cancel",
            "an unknown field in a cancel payload (ignored)",
            &with(cancel_min(), &["payload", "reason"], json!("user asked")),
        ),
        v(
            "unknown-field-named-like-another-type",
            "a response payload carrying request fields (ignored)",
            &with(response_min(), &["payload", "function_name"], json!(123)),
        ),
        b(
            "escaped-keys",
            "keys written with \\u escapes (\\u0074ype, job\\u005fid)",
            r#"{"\u0074ype":"cancel","p\u0061yload":{"job\u005fid":"job-1"}}"#,
        ),
        b("escaped-ascii-value", "an ASCII value written with \\u escapes", job_id(r#""\u006a\u006f\u0062""#)),
        b("escaped-solidus", "\\/ in a string", job_id(r#""a\/b\/c""#)),
        b("escaped-non-ascii", "é and 中 written as \\u escapes", job_id(r#""caf\u00e9 \u4e2d""#)),
        b("escaped-uppercase-hex", "\\u escapes with upper-case hex digits", job_id(r#""\u00C9\u00E9\u4E2D""#)),
        b("escaped-astral-pair", "an astral character written as an escaped surrogate pair", job_id(r#""\ud83d\ude00""#)),
        v(
            "optional-nulls-omitted",
            "the maximal response with its nullable fields written as null",
            &json!({"type": "response", "payload": {"job_id": "job-1", "request_id": null, "status": "error", "result": null, "error": {"message": "m", "type": null, "code": null, "details": null}, "retry_after_seconds": null}}),
        ),
        b("retry-after-integer", "retry_after_seconds written as the integer 3", retry_after("3")),
        b("float-exponent-in-args", "floats with exponents and trailing zeros in args", args("[1.5e3,2.50,0.0250e2,1E-1]")),
        b("kwargs-unsorted", "kwargs keys in reverse order", kwargs(r#"{"zeta":1,"mid":2,"alpha":3}"#)),
        b("nested-unsorted", "objects nested in args with unsorted keys", args(r#"[{"b":{"d":1,"c":2},"a":[{"z":0,"y":[{"x":1,"w":2}]}]}]"#)),
        v(
            "timestamps-with-offsets",
            "enqueue_time and deadline with non-UTC offsets",
            &with(
                with(request_min(), &["payload", "context", "enqueue_time"], json!("2024-05-01T14:00:00+02:00")),
                &["payload", "context", "deadline"],
                json!("2024-05-01T07:05:00.5-05:00"),
            ),
        ),
    ]);
    cases
}

/// Timestamps: what the strict grammar accepts and how it normalises, and what chrono would
/// have accepted but the grammar rejects.
pub fn timestamps() -> Vec<Case> {
    let mut cases = Vec::new();
    let accepted = [
        ("utc-z", "2024-05-01T12:00:00Z", "UTC with Z"),
        ("offset-plus", "2024-05-01T14:00:00+02:00", "a positive offset"),
        ("offset-minus-half-hour", "2024-05-01T06:30:00-05:30", "a negative offset with minutes"),
        ("offset-plus-zero", "2024-05-01T12:00:00+00:00", "+00:00"),
        ("offset-minus-zero", "2024-05-01T12:00:00-00:00", "-00:00"),
        ("offset-max-plus", "2024-05-01T12:00:00+23:59", "the largest positive offset"),
        ("offset-max-minus", "2024-05-01T12:00:00-23:59", "the largest negative offset"),
        ("offset-crosses-day", "2024-05-01T01:00:00+02:00", "an offset that moves the instant to the previous day"),
        ("offset-crosses-year", "2024-12-31T23:30:00-01:00", "an offset that moves the instant to the next year"),
        ("fraction-1", "2024-05-01T12:00:00.5Z", "1 fraction digit"),
        ("fraction-2", "2024-05-01T12:00:00.12Z", "2 fraction digits"),
        ("fraction-3", "2024-05-01T12:00:00.123Z", "3 fraction digits"),
        ("fraction-4", "2024-05-01T12:00:00.1234Z", "4 fraction digits"),
        ("fraction-5", "2024-05-01T12:00:00.12345Z", "5 fraction digits"),
        ("fraction-6", "2024-05-01T12:00:00.123456Z", "6 fraction digits"),
        ("fraction-7", "2024-05-01T12:00:00.1234567Z", "7 fraction digits"),
        ("fraction-8", "2024-05-01T12:00:00.12345678Z", "8 fraction digits"),
        ("fraction-9", "2024-05-01T12:00:00.123456789Z", "9 fraction digits (nanoseconds)"),
        ("fraction-zeros", "2024-05-01T12:00:00.000000000Z", "a fraction of nine zeros"),
        ("fraction-trailing-zeros", "2024-05-01T12:00:00.100Z", "a fraction with trailing zeros"),
        ("fraction-one-nanosecond", "2024-05-01T12:00:00.000000001Z", "one nanosecond"),
        ("fraction-microseconds-exact", "2024-05-01T12:00:00.000001000Z", "a nine-digit fraction that is whole microseconds"),
        ("fraction-max", "2024-05-01T12:00:00.999999999Z", "the largest fraction"),
        ("fraction-with-offset", "2024-05-01T14:00:00.000000001+02:00", "nanoseconds and an offset"),
        ("year-0001", "0001-01-01T00:00:00Z", "the first instant of year 1"),
        ("year-9999", "9999-12-31T23:59:59.999999999Z", "the last nanosecond of year 9999"),
        ("year-0001-negative-offset", "0001-01-01T00:00:00-01:00", "year 1 with an offset that stays in range"),
        ("year-9999-positive-offset", "9999-12-31T23:59:59+01:00", "year 9999 with an offset that stays in range"),
        ("leap-day", "2024-02-29T00:00:00Z", "29 February of a leap year"),
        ("leap-day-400", "2000-02-29T12:00:00Z", "29 February 2000 (divisible by 400)"),
        ("end-of-day", "2024-05-01T23:59:59Z", "23:59:59"),
    ];
    for (slug, ts, what) in accepted {
        cases.push(v(&format!("enqueue-{slug}"), &format!("enqueue_time {ts:?}: {what}"), &enqueue(ts)));
    }
    cases.push(v("deadline-nanoseconds", "a deadline with nanoseconds", &deadline("2030-01-01T00:00:00.000000007Z")));
    cases.push(v("deadline-offset", "a deadline with an offset", &deadline("2030-01-01T05:30:00.25+05:30")));
    let rejected = [
        ("space-separator", "2024-05-01 12:00:00Z", "a space instead of T (chrono accepts it)"),
        ("lowercase-t", "2024-05-01t12:00:00Z", "a lower-case t (chrono accepts it)"),
        ("lowercase-z", "2024-05-01T12:00:00z", "a lower-case z"),
        ("offset-without-colon", "2024-05-01T14:00:00+0200", "+0200 without a colon (chrono accepts it)"),
        ("offset-hours-only", "2024-05-01T14:00:00+02", "+02 without minutes"),
        ("offset-with-seconds", "2024-05-01T14:00:00+02:00:00", "an offset with seconds"),
        ("offset-hour-24", "2024-05-01T12:00:00+24:00", "offset hour 24"),
        ("offset-minute-60", "2024-05-01T12:00:00+01:60", "offset minute 60"),
        ("leap-second-end-of-day", "2024-12-31T23:59:60Z", "second 60 at the end of a day"),
        ("leap-second-any-minute", "2024-05-01T12:30:60Z", "second 60 at an arbitrary minute (chrono accepts it)"),
        ("two-digit-year", "24-05-01T12:00:00Z", "a two-digit year (chrono reads year 0024)"),
        ("year-10000", "10000-01-01T00:00:00Z", "year 10000 (chrono accepts it)"),
        ("year-0000", "0000-01-01T00:00:00Z", "year 0"),
        ("negative-year", "-0001-01-01T00:00:00Z", "a negative year"),
        ("expanded-year", "+002024-05-01T12:00:00Z", "an expanded year with sign"),
        ("fraction-10", "2024-05-01T12:00:00.1234567891Z", "10 fraction digits (chrono truncates them)"),
        ("fraction-empty", "2024-05-01T12:00:00.Z", "a dot without digits"),
        ("fraction-comma", "2024-05-01T12:00:00,5Z", "a comma as the decimal sign"),
        ("out-of-range-after-utc-shift-low", "0001-01-01T00:00:00+00:01", "year 1 shifted before 0001-01-01T00:00:00Z"),
        ("out-of-range-after-utc-shift-high", "9999-12-31T23:59:59-00:01", "year 9999 shifted past its end"),
        ("february-29-non-leap", "2023-02-29T00:00:00Z", "29 February of a common year"),
        ("february-29-1900", "1900-02-29T00:00:00Z", "29 February 1900 (divisible by 100, not 400)"),
        ("april-31", "2024-04-31T00:00:00Z", "31 April"),
        ("month-13", "2024-13-01T00:00:00Z", "month 13"),
        ("month-00", "2024-00-01T00:00:00Z", "month 0"),
        ("day-00", "2024-05-00T00:00:00Z", "day 0"),
        ("day-32", "2024-05-32T00:00:00Z", "day 32"),
        ("hour-24", "2024-05-01T24:00:00Z", "hour 24"),
        ("minute-60", "2024-05-01T12:60:00Z", "minute 60"),
        ("no-offset", "2024-05-01T12:00:00", "no offset"),
        ("no-seconds", "2024-05-01T12:00Z", "no seconds"),
        ("date-only", "2024-05-01", "a date without a time"),
        ("single-digit-month", "2024-5-01T12:00:00Z", "a one-digit month"),
        ("utc-word", "2024-05-01T12:00:00UTC", "UTC spelled out"),
        ("zone-suffix", "2024-05-01T12:00:00Z[Europe/Paris]", "an RFC 9557 zone suffix"),
        ("leading-space", " 2024-05-01T12:00:00Z", "a leading space"),
        ("trailing-space", "2024-05-01T12:00:00Z ", "a trailing space"),
        ("fullwidth-digits", "２０２４-05-01T12:00:00Z", "full-width digits in the year"),
        ("empty", "", "the empty string"),
        ("unix-seconds-string", "1714564800", "Unix seconds in a string"),
    ];
    for (slug, ts, what) in rejected {
        cases.push(v(&format!("enqueue-{slug}"), &format!("enqueue_time {ts:?}: {what}"), &enqueue(ts)));
    }
    cases.push(v("deadline-space-separator", "a deadline with a space instead of T", &deadline("2030-01-01 00:00:00Z")));
    cases.push(v("deadline-fraction-10", "a deadline with 10 fraction digits", &deadline("2030-01-01T00:00:00.0000000001Z")));
    cases.push(v("enqueue-object", "enqueue_time given an object", &with(request_min(), &["payload", "context", "enqueue_time"], json!({"secs": 1}))));
    cases
}

/// Strings: non-ASCII, astral, control characters, separators, escapes and surrogates.
pub fn strings() -> Vec<Case> {
    let mut cases = vec![
        b("non-ascii-raw", "Latin, Greek, CJK and Arabic written raw", job_id("\"Zoë Ωμέγα 中文 العربية\"")),
        b("astral-raw", "astral characters (emoji, U+10FFFF) written raw", job_id("\"😀 𝄞 \u{10FFFF}\"")),
        b("astral-escaped-pair", "an escaped surrogate pair", job_id(r#""\uD83D\uDE00""#)),
        b("max-code-point-escaped", "U+10FFFF as the escaped pair \\udbff\\udfff", job_id(r#""\udbff\udfff""#)),
        b(
            "all-c0-controls-escaped",
            "every control character U+0000..U+001F as a \\u escape",
            job_id(&format!("\"{}\"", (0..0x20).map(|c| format!("\\u{c:04x}")).collect::<String>())),
        ),
        b("short-escapes", "the short escapes \\b \\f \\n \\r \\t \\\" \\\\ \\/", job_id(r#""\b\f\n\r\t\"\\\/""#)),
        b("escaped-nul", "\\u0000", job_id(r#""a\u0000b""#)),
        b("escaped-vertical-tab", "\\u000b (no short escape)", job_id(r#""a\u000bb""#)),
        b("escaped-backspace-long", "\\u0008 (written back as \\b)", job_id(r#""a\u0008b""#)),
        b("escaped-unit-separator", "\\u001f", job_id(r#""a\u001fb""#)),
        b("escaped-del", "\\u007f (DEL)", job_id(r#""a\u007fb""#)),
        b("raw-del", "a raw DEL byte (0x7F)", job_id("\"a\u{7f}b\"")),
        b("c1-controls", "C1 controls U+0080, U+009F raw and escaped", job_id("\"\u{80}\u{9f}\\u0085\"")),
        b("line-separators-raw", "U+2028 and U+2029 written raw", job_id("\"a\u{2028}b\u{2029}c\"")),
        b("line-separators-escaped", "U+2028 and U+2029 as \\u escapes", job_id(r#""a\u2028b\u2029c""#)),
        b("bom-inside-string", "U+FEFF inside a string", job_id(r#""\ufeffx""#)),
        b("noncharacters", "the noncharacters U+FFFE and U+FFFF", job_id(r#""\ufffe\uffff""#)),
        b("printable-ascii", "every printable ASCII character", job_id(&serde_json::to_string(&(0x20u8..0x7f).map(char::from).collect::<String>()).unwrap())),
        b("combining-characters", "a decomposed é (e + U+0301), not normalised", job_id("\"e\u{301}\"")),
        b("strings-in-args", "control characters and separators inside args and kwargs", kwargs(r#"{"s":"\u0001\u2028\ud83d\ude00","t":["\t","\u007f"]}"#)),
    ];
    for (slug, byte) in [("nul", 0x00u8), ("soh", 0x01), ("tab", 0x09), ("lf", 0x0a), ("cr", 0x0d), ("us", 0x1f)] {
        cases.push(Case::body(
            format!("raw-control-{slug}"),
            format!("a raw control byte 0x{byte:02X} inside a string"),
            job_id_bytes(&[b'"', b'a', byte, b'b', b'"']),
        ));
    }
    let surrogates = [
        ("lone-high-surrogate-at-end", r#""a\ud800""#, "an escaped high surrogate at the end of the string"),
        ("lone-high-surrogate-then-char", r#""\ud800x""#, "an escaped high surrogate followed by a plain character"),
        ("lone-high-surrogate-then-escape", r#""\ud800\u0041""#, "an escaped high surrogate followed by a non-surrogate escape"),
        ("two-high-surrogates", r#""\ud800\ud800""#, "two escaped high surrogates"),
        ("lone-low-surrogate", r#""a\udc00b""#, "an escaped low surrogate alone"),
        ("lone-low-surrogate-at-end", r#""a\udfff""#, "an escaped low surrogate at the end"),
        ("reversed-surrogate-pair", r#""\ude00\ud83d""#, "a low surrogate before a high one"),
    ];
    for (slug, raw, what) in surrogates {
        cases.push(b(slug, what, job_id(raw)));
        cases.push(b(&format!("{slug}-in-kwargs"), &format!("{what}, in a kwargs value"), kwargs(&format!("{{\"k\":{raw}}}"))));
    }
    let invalid_utf8: [(&str, &[u8], &str); 6] = [
        ("invalid-utf8-ff", b"\"a\xffb\"", "the byte 0xFF"),
        ("invalid-utf8-continuation", b"\"a\x80b\"", "a lone continuation byte"),
        ("invalid-utf8-overlong", b"\"\xc0\xaf\"", "an overlong encoding of /"),
        ("invalid-utf8-encoded-surrogate", b"\"\xed\xa0\x80\"", "a UTF-8-encoded surrogate (CESU-8)"),
        ("invalid-utf8-truncated", b"\"\xe2\x82\"", "a truncated three-byte sequence"),
        ("invalid-utf8-beyond-max", b"\"\xf4\x90\x80\x80\"", "a four-byte sequence above U+10FFFF"),
    ];
    for (slug, raw, what) in invalid_utf8 {
        cases.push(Case::body(slug, format!("{what} inside a string"), job_id_bytes(raw)));
    }
    let bad_escapes = [
        ("invalid-escape-x", r#""\x41""#, "the escape \\x"),
        ("invalid-escape-quote", r#""\'""#, "the escape \\'"),
        ("invalid-escape-uppercase-u", r#""\U0041""#, "the escape \\U"),
        ("short-unicode-escape", r#""\u41""#, "a \\u escape with two hex digits"),
        ("non-hex-unicode-escape", r#""\u00g1""#, "a \\u escape with a non-hex digit"),
    ];
    for (slug, raw, what) in bad_escapes {
        cases.push(b(slug, what, job_id(raw)));
    }
    cases
}

/// Map keys whose UTF-16 order differs from their code-point order, at every place a map or a
/// dynamic object can be; and other key-ordering corners.
pub fn map_keys() -> Vec<Case> {
    // Written in UTF-16 order (the order JavaScript's default sort gives); canonical order is by
    // code point.
    let pairs = [
        ("ffff-vs-10000", "\u{10000}", "\u{ffff}", "U+10000 and U+FFFF"),
        ("e000-vs-1f600", "\u{1F600}", "\u{E000}", "U+1F600 and U+E000"),
    ];
    let mut cases = Vec::new();
    for (slug, first, second, what) in pairs {
        let object = |inner: Value| {
            let mut map = serde_json::Map::new();
            map.insert(first.to_string(), json!(1));
            map.insert(second.to_string(), inner);
            Value::Object(map)
        };
        cases.push(v(&format!("kwargs-{slug}"), &format!("kwargs keys {what}"), &with(request_min(), &["payload", "kwargs"], object(json!(2)))));
        let mut tc = serde_json::Map::new();
        tc.insert(first.to_string(), json!("a"));
        tc.insert(second.to_string(), json!("b"));
        cases.push(v(&format!("trace-context-{slug}"), &format!("trace_context keys {what}"), &trace_context(Value::Object(tc))));
        cases.push(v(
            &format!("args-nested-{slug}"),
            &format!("keys {what} in objects nested two deep inside args"),
            &with(request_min(), &["payload", "args"], json!([[object(object(json!(null)))], {"x": object(json!([]))}])),
        ));
        cases.push(v(
            &format!("kwargs-nested-{slug}"),
            &format!("keys {what} in an object inside a kwargs value"),
            &with(request_min(), &["payload", "kwargs"], json!({"k": [object(json!(2))]})),
        ));
        cases.push(v(
            &format!("result-{slug}"),
            &format!("keys {what} in a result object and one nested in it"),
            &json!({"type": "response", "payload": {"status": "success", "result": object(object(json!(3)))}}),
        ));
        cases.push(v(
            &format!("details-{slug}"),
            &format!("keys {what} in error.details"),
            &json!({"type": "response", "payload": {"status": "error", "error": {"message": "m", "details": [object(json!(4))]}}}),
        ));
    }
    cases.extend([
        b("ascii-order", "keys B, a, _, 0, ~ and the empty key", kwargs(r#"{"~":1,"a":2,"_":3,"B":4,"0":5,"":6}"#)),
        b("prefix-order", "keys that are prefixes of each other", kwargs(r#"{"ab":1,"aa":2,"a":3,"b":4}"#)),
        b("latin1-after-ascii", "é sorts after z", kwargs(r#"{"é":1,"z":2,"e":3}"#)),
        b("escaped-keys-sort-decoded", "keys sort by their decoded text, not their escapes", kwargs(r#"{"\u0062":1,"a":2,"\n":3,"\"":4}"#)),
        b("bmp-vs-astral-mixed", "BMP, private-use and astral keys mixed", kwargs("{\"\u{1F600}\":1,\"\u{FFFD}\":2,\"\u{E000}\":3,\"\u{D7FF}\":4,\"\u{10FFFF}\":5,\"\u{10000}\":6}")),
        b("numeric-like-keys", "keys that look like integers (JavaScript objects reorder those)", kwargs(r#"{"b":1,"10":2,"2":3,"1":4,"-1":5}"#)),
    ]);
    cases
}

/// Numbers in any-JSON values (args), in a float field (retry_after_seconds) and in a bounded
/// integer field (context.attempt).
pub fn numbers() -> Vec<Case> {
    let any = [
        ("zero", "0"),
        ("one", "1"),
        ("minus-zero-integer", "-0"),
        ("minus-zero-float", "-0.0"),
        ("zero-float", "0.0"),
        ("one-float", "1.0"),
        ("one-with-exponent", "1e0"),
        ("capital-exponent", "1E5"),
        ("plus-exponent", "1e+2"),
        ("negative-exponent-integral", "100e-2"),
        ("fraction-with-exponent", "0.1e1"),
        ("tenth", "0.1"),
        ("tenth-long", "0.1000000000000000055511151231257827"),
        ("2pow53", "9007199254740992"),
        ("2pow53-plus-1", "9007199254740993"),
        ("2pow53-minus-1", "9007199254740991"),
        ("minus-2pow53", "-9007199254740992"),
        ("minus-2pow53-minus-1", "-9007199254740993"),
        ("minus-2pow53-plus-1", "-9007199254740991"),
        ("i64-max", "9223372036854775807"),
        ("i64-max-plus-1", "9223372036854775808"),
        ("i64-min", "-9223372036854775808"),
        ("i64-min-minus-1", "-9223372036854775809"),
        ("u64-max", "18446744073709551615"),
        ("u64-max-plus-1", "18446744073709551616"),
        ("beyond-u64-long", "123456789012345678901234567890"),
        ("1e21", "1e21"),
        ("1e-7", "1e-7"),
        ("min-subnormal", "5e-324"),
        ("min-subnormal-rounds-up", "2.4703282292062328e-324"),
        ("underflow-to-zero", "2.4703282292062327e-324"),
        ("underflow-1e-400", "1e-400"),
        ("negative-underflow", "-1e-400"),
        ("zero-huge-exponent", "0e999999999999999999999"),
        ("min-normal", "2.2250738585072014e-308"),
        ("f64-max", "1.7976931348623157e308"),
        ("f64-max-rounds-down", "1.7976931348623158e308"),
        ("f64-overflow-rounding", "1.7976931348623159e308"),
        ("1e400", "1e400"),
        ("minus-1e400", "-1e400"),
        ("2e308", "2e308"),
        // The float format: fixed notation for decimal exponents -5..=15, scientific outside.
        ("format-1e15", "1e15"),
        ("format-largest-fixed", "9999999999999998.0"),
        ("format-17-digits-fixed", "1234567890123456.7"),
        ("format-1e16", "1e16"),
        ("format-1.5e16", "15000000000000000.0"),
        ("format-1e17-integer-literal", "100000000000000000.0"),
        ("format-1e20", "1e20"),
        ("format-1e22", "1e22"),
        ("format-1e23", "100000000000000000000000.0"),
        ("format-1e-4", "0.0001"),
        ("format-1e-5", "0.00001"),
        ("format-small-fixed", "0.000012345"),
        ("format-just-below-1e-5", "0.000009999999999999999"),
        ("format-1e-6", "0.000001"),
        ("format-9.9e-6", "9.9e-6"),
        ("format-many-digits-small", "12345678.9e-13"),
        ("format-123.0", "123.0"),
        ("format-mantissa-digits", "123456789012345680.0"),
        ("format-negative-small", "-2.5e-10"),
        ("format-large-exponent", "1.5e300"),
        ("format-0.3", "0.30000000000000004"),
        ("format-one-third", "0.3333333333333333"),
    ];
    let mut cases: Vec<Case> = any
        .iter()
        .map(|(slug, raw)| b(&format!("args-{slug}"), &format!("{raw} as an item of args (any JSON)"), args(&format!("[{raw}]"))))
        .collect();
    let syntax = [
        ("leading-zero", "01"),
        ("negative-leading-zero", "-01"),
        ("plus-sign", "+1"),
        ("leading-dot", ".5"),
        ("trailing-dot", "5."),
        ("dot-before-exponent", "1.e5"),
        ("empty-exponent", "1e"),
        ("lone-minus", "-"),
        ("nan", "NaN"),
        ("infinity", "Infinity"),
        ("hex", "0x10"),
        ("underscore", "1_000"),
    ];
    for (slug, raw) in syntax {
        cases.push(b(&format!("syntax-{slug}"), &format!("the number syntax {raw} in args"), args(&format!("[{raw}]"))));
    }
    let float_field = [
        ("integer", "3"),
        ("zero", "0"),
        ("float", "2.5"),
        ("negative", "-1"),
        ("minus-zero-integer", "-0"),
        ("2pow53-plus-1", "9007199254740993"),
        ("u64-max", "18446744073709551615"),
        ("beyond-u64", "18446744073709551616"),
        ("i64-min", "-9223372036854775808"),
        ("exponent", "1e3"),
        ("tiny", "5e-324"),
        ("1e400", "1e400"),
        ("true", "true"),
        ("array", "[1]"),
    ];
    for (slug, raw) in float_field {
        cases.push(b(
            &format!("retry-after-{slug}"),
            &format!("retry_after_seconds (a number) given {raw}"),
            retry_after(raw),
        ));
    }
    let integer_field = [
        ("one", "1"),
        ("zero", "0"),
        ("minus-one", "-1"),
        ("minus-zero", "-0"),
        ("exponent", "1e0"),
        ("fraction", "1.5"),
        ("2pow32", "4294967296"),
        ("2pow32-minus-1", "4294967295"),
        ("i64-min", "-9223372036854775808"),
        ("u64-max", "18446744073709551615"),
        ("beyond-u64", "18446744073709551616"),
        ("beyond-i64-negative", "-9223372036854775809"),
        ("true", "true"),
        ("string", r#""1""#),
        ("null", "null"),
    ];
    for (slug, raw) in integer_field {
        cases.push(b(
            &format!("attempt-{slug}"),
            &format!("context.attempt (an integer in 0..=4294967295) given {raw}"),
            attempt(raw),
        ));
    }
    cases.push(b("kwargs-mixed", "integers and floats side by side in kwargs", kwargs(r#"{"i":10,"f":10.0,"e":1e1,"n":-0,"big":18446744073709551616}"#)));
    cases.push(b("result-floats", "floats in a nested result", result(r#"{"a":[0.5,1e-7,1e21,-0.0]}"#)));
    cases
}

/// Wrong JSON types beyond the systematic ones.
pub fn types() -> Vec<Case> {
    vec![
        v("hard-kill-integer", "hard_kill given 1", &with(cancel_min(), &["payload", "hard_kill"], json!(1))),
        v("hard-kill-string-false", "hard_kill given \"false\"", &with(cancel_min(), &["payload", "hard_kill"], json!("false"))),
        v("args-string", "args given a string", &with(request_min(), &["payload", "args"], json!("a"))),
        v("args-object", "args given an object with index keys", &with(request_min(), &["payload", "args"], json!({"0": 1}))),
        v("kwargs-array-of-pairs", "kwargs given an array of pairs", &with(request_min(), &["payload", "kwargs"], json!([["a", 1]]))),
        v("trace-context-nested-object", "a trace_context value given an object", &trace_context(json!({"traceparent": {"v": "00"}}))),
        v("trace-context-value-number-key-escaped", "a non-string trace_context value under a key that needs quoting in the path", &trace_context(json!({"a b.c": 1}))),
        v("status-object-with-value", "status given {\"success\": []}", &with(response_min(), &["payload", "status"], json!({"success": []}))),
        v("retry-after-string", "retry_after_seconds given a numeric string", &with(response_min(), &["payload", "retry_after_seconds"], json!("2.5"))),
        v("context-string", "context given a JSON string of an object", &with(request_min(), &["payload", "context"], json!(text(&request_min()["payload"]["context"])))),
    ]
}

/// Required fields absent beyond the systematic ones, and which error wins.
pub fn missing() -> Vec<Case> {
    vec![
        v("request-empty-payload", "a request whose payload is {} (the first required field in declaration order is reported)", &json!({"type": "request", "payload": {}})),
        v("response-empty-payload", "a response whose payload is {}", &json!({"type": "response", "payload": {}})),
        v("cancel-empty-payload", "a cancel whose payload is {}", &json!({"type": "cancel", "payload": {}})),
        v("context-empty", "a request whose context is {}", &with(request_min(), &["payload", "context"], json!({}))),
        v("error-empty", "a response whose error is {}", &json!({"type": "response", "payload": {"status": "error", "error": {}}})),
        v(
            "wrong-type-beats-missing",
            "a cancel with hard_kill of the wrong type and job_id absent (the wrong type is reported)",
            &json!({"type": "cancel", "payload": {"hard_kill": "yes"}}),
        ),
        v(
            "nested-error-beats-missing",
            "a request with a bad context.attempt and request_id absent (present fields are read first)",
            &without(with(request_min(), &["payload", "context", "attempt"], json!(-1)), &["payload", "request_id"]),
        ),
        v(
            "two-missing-declaration-order",
            "a request without function_name and without job_id (job_id is declared first)",
            &without(without(request_min(), &["payload", "function_name"]), &["payload", "job_id"]),
        ),
        v("missing-field-with-unknown-fields", "a cancel with only unknown fields", &json!({"type": "cancel", "payload": {"jobId": "job-1", "JOB_ID": "job-1"}})),
    ]
}

/// The envelope: `type` and `payload`.
pub fn envelope() -> Vec<Case> {
    let mut cases = vec![
        b("array", "the envelope given as a JSON array [type, payload]", format!("[\"cancel\",{}]", text(&cancel_min()["payload"]))),
        b("null", "the body is null", "null"),
        b("string", "the body is a string", r#""request""#),
        b("number", "the body is a number", "1"),
        b("true", "the body is true", "true"),
        b("empty-object", "the body is {}", "{}"),
        v("type-missing", "payload without type", &json!({"payload": cancel_min()["payload"]})),
        v("type-and-payload-missing", "an object with neither type nor payload", &json!({"kind": "cancel"})),
        v("type-null", "type given null", &with(cancel_min(), &["type"], Value::Null)),
        v("type-number", "type given a number", &with(cancel_min(), &["type"], json!(2))),
        v("type-array", "type given [\"cancel\"]", &with(cancel_min(), &["type"], json!(["cancel"]))),
        v("type-object", "type given {\"cancel\": null}", &with(cancel_min(), &["type"], json!({"cancel": null}))),
        v("type-unknown", "an unknown type", &with(cancel_min(), &["type"], json!("ping"))),
        v("type-wrong-case", "type \"Cancel\"", &with(cancel_min(), &["type"], json!("Cancel"))),
        v("type-trailing-space", "type \"cancel \"", &with(cancel_min(), &["type"], json!("cancel "))),
        v("type-empty", "type \"\"", &with(cancel_min(), &["type"], json!(""))),
        v("unknown-type-without-payload", "an unknown type and no payload (the type is reported)", &json!({"type": "ping"})),
        v("bad-type-and-bad-payload", "type is a number and the payload is invalid (the type is reported)", &json!({"type": 1, "payload": 1})),
        v("unknown-envelope-fields", "unknown fields next to type and payload (ignored)", &json!({"type": "cancel", "id": 1, "payload": cancel_min()["payload"], "meta": {"a": [1]}})),
        v("cancel-with-request-payload", "type cancel with a request's payload (its job_id is read, the rest ignored)", &json!({"type": "cancel", "payload": request_max()["payload"]})),
        v("response-with-request-payload", "type response with a request's payload", &json!({"type": "response", "payload": request_max()["payload"]})),
        v("request-with-cancel-payload", "type request with a cancel's payload", &json!({"type": "request", "payload": cancel_max()["payload"]})),
    ];
    for tag in ["request", "response", "cancel"] {
        cases.push(v(&format!("{tag}-payload-missing"), &format!("type {tag} without payload"), &json!({"type": tag})));
        cases.push(v(&format!("{tag}-payload-null"), &format!("type {tag} with payload null"), &json!({"type": tag, "payload": null})));
        cases.push(v(&format!("{tag}-payload-string"), &format!("type {tag} with a string payload"), &json!({"type": tag, "payload": "{}"})));
    }
    cases
}

/// Duplicate keys: the last one wins in every object.
pub fn duplicates() -> Vec<Case> {
    vec![
        b("struct-field", "job_id twice in a cancel", r#"{"type":"cancel","payload":{"job_id":"first","job_id":"second"}}"#),
        b("struct-field-first-invalid", "hard_kill twice, first of the wrong type", r#"{"type":"cancel","payload":{"job_id":"j","hard_kill":"yes","hard_kill":true}}"#),
        b("struct-field-last-invalid", "hard_kill twice, last of the wrong type", r#"{"type":"cancel","payload":{"job_id":"j","hard_kill":true,"hard_kill":"yes"}}"#),
        b("struct-field-last-null", "request_id twice, last null", r#"{"type":"cancel","payload":{"job_id":"j","request_id":"r","request_id":null}}"#),
        b("struct-field-escaped", "job_id twice, once written with an escape", r#"{"type":"cancel","payload":{"job_id":"first","job\u005fid":"second"}}"#),
        b("nested-struct-field", "attempt twice in the context", attempt("1,\"attempt\":2")),
        b("kwargs-key", "a kwargs key twice", kwargs(r#"{"a":1,"b":2,"a":3}"#)),
        b("kwargs-key-different-types", "a kwargs key twice with values of different types", kwargs(r#"{"a":{"x":1},"a":[2]}"#)),
        b(
            "trace-context-key",
            "a trace_context key twice",
            splice(&request_min(), &["payload", "context", "trace_context"], r#"{"traceparent":"first","tracestate":"s","traceparent":"second"}"#),
        ),
        b("args-nested-object-key", "a key twice in an object inside args", args(r#"[{"k":1,"k":2,"j":0}]"#)),
        b("result-key", "a key twice in result", result(r#"{"k":"first","k":"second"}"#)),
        b("envelope-type", "type twice: response then cancel", format!("{{\"type\":\"response\",\"type\":\"cancel\",\"payload\":{}}}", text(&cancel_min()["payload"]))),
        b("envelope-type-invalid-first", "type twice: an unknown type, then cancel", format!("{{\"type\":\"nope\",\"payload\":{},\"type\":\"cancel\"}}", text(&cancel_min()["payload"]))),
        b("envelope-payload", "payload twice: the first invalid, the last valid", format!("{{\"type\":\"cancel\",\"payload\":{{}},\"payload\":{}}}", text(&cancel_min()["payload"]))),
        b("envelope-payload-last-invalid", "payload twice: the first valid, the last invalid", format!("{{\"type\":\"cancel\",\"payload\":{},\"payload\":{{}}}}", text(&cancel_min()["payload"]))),
        b("status", "status twice", r#"{"type":"response","payload":{"status":"error","status":"success"}}"#),
    ]
}

/// The frame header and the body's bytes.
pub fn frame() -> Vec<Case> {
    let body = text(&cancel_min()).into_bytes();
    let header = |n: u32| n.to_be_bytes().to_vec();
    let framed = |n: u32, bytes: &[u8]| [header(n), bytes.to_vec()].concat();
    let len = body.len() as u32;
    let max = MAX_FRAME_LEN as u32;
    vec![
        Case::frame("empty-input", "no bytes at all", Vec::new()),
        Case::frame("one-byte", "1 byte: part of a header", vec![0]),
        Case::frame("three-bytes", "3 bytes: part of a header", vec![0, 0, 0]),
        Case::frame("header-zero-no-body", "a header of 0 and nothing after it", header(0)),
        Case::frame("header-zero-with-body", "a header of 0 followed by a body", framed(0, &body)),
        Case::frame("header-only", "a header announcing a body that is not there", header(len)),
        Case::frame("header-larger-than-body", "a header one more than the body's length", framed(len + 1, &body)),
        Case::frame("header-smaller-than-body", "a header one less than the body's length", framed(len - 1, &body)),
        Case::frame("two-frames", "two complete frames where one is expected", [framed(len, &body), framed(len, &body)].concat()),
        Case::frame("header-at-max-short-body", "a header of exactly MAX_FRAME_LEN with a short body", framed(max, &body)),
        Case::frame("header-over-max", "a header of MAX_FRAME_LEN + 1 (0x01000001) with a short body", framed(max + 1, &body)),
        Case::frame("header-u32-max", "a header of 0xFFFFFFFF with a short body", framed(u32::MAX, &body)),
        Case::frame("header-little-endian", "the body's length written little-endian", [len.to_le_bytes().to_vec(), body.clone()].concat()),
        b("body-bom", "a UTF-8 byte-order mark before the JSON", [b"\xef\xbb\xbf".as_slice(), &body].concat()),
        b("body-utf16", "the body encoded as UTF-16LE", text(&cancel_min()).encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>()),
        b("body-invalid-utf8-outside-string", "a 0xFF byte between tokens", splice_bytes(&cancel_min(), &["payload", "hard_kill"], b"\xfftrue")),
        b("body-invalid-utf8-in-key", "a 0xFF byte inside an object key", [b"{\"type\":\"cancel\",\"payload\":{\"job_id\":\"j\",\"\xff\":1}}".as_slice()].concat()),
        b("body-trailing-bytes", "a byte after the JSON document", [body.as_slice(), b"x"].concat()),
        b("body-trailing-nul", "a NUL byte after the JSON document", [body.as_slice(), b"\0"].concat()),
        b("body-trailing-second-document", "a second JSON document after the first", [body.as_slice(), b"{}"].concat()),
        b("body-trailing-whitespace", "spaces, tabs, CR and LF after the JSON", [body.as_slice(), b" \t\r\n"].concat()),
        b("body-leading-whitespace", "whitespace before the JSON", [b"\n\n  ".as_slice(), &body].concat()),
        b("body-whitespace-only", "a body of spaces", "   "),
        b("body-truncated", "the body cut short", &body[..body.len() - 2]),
        b("body-comment", "a comment inside the JSON", r#"{"type":"cancel",/* c */"payload":{"job_id":"j"}}"#),
        b("body-trailing-comma", "a trailing comma in an object", r#"{"type":"cancel","payload":{"job_id":"j",}}"#),
        b("body-single-quotes", "single-quoted strings", "{'type':'cancel','payload':{'job_id':'j'}}"),
        b("body-unquoted-key", "an unquoted key", r#"{type:"cancel","payload":{"job_id":"j"}}"#),
        b("body-error-after-type-error", "a type error followed by a syntax error (the syntax error is reported)", r#"{"type":"cancel","payload":{"job_id":1}} x"#),
        b("body-type-error-and-depth", "a type error and nesting beyond the limit (the nesting is reported)", format!(
            "{{\"type\":\"cancel\",\"payload\":{{\"job_id\":1}},\"x\":{}{}}}",
            "[".repeat(MAX_NESTING_DEPTH),
            "]".repeat(MAX_NESTING_DEPTH)
        )),
    ]
}

/// Nested `[` n deep: `[[...]]`.
fn arrays(n: usize) -> String {
    "[".repeat(n) + &"]".repeat(n)
}

/// Nested objects n deep: `{"a":{"a":...{}}}`.
fn objects(n: usize) -> String {
    "{\"a\":".repeat(n - 1) + "{}" + &"}".repeat(n - 1)
}

/// Nesting at and beyond the limit in every place a deep value can be, and a large string.
pub fn limits() -> Vec<Case> {
    let max = MAX_NESTING_DEPTH;
    // (slug, what, depth of the container the value sits in, body for a value of depth n)
    type Site = (&'static str, &'static str, usize, fn(&str) -> String);
    let sites: [Site; 7] = [
        ("args", "an item of args", 3, |raw| args(&format!("[{raw}]"))),
        ("kwargs", "a kwargs value", 3, |raw| kwargs(&format!("{{\"k\":{raw}}}"))),
        ("result", "result", 2, result),
        ("details", "error.details", 3, details),
        ("unknown-payload-field", "an unknown (ignored) payload field", 2, |raw| {
            splice(&cancel_min(), &["payload", "ignored"], raw)
        }),
        ("unknown-envelope-field", "an unknown (ignored) envelope field", 1, |raw| {
            splice(&cancel_min(), &["ignored"], raw)
        }),
        ("result-objects", "result (nested objects)", 2, |raw| result(raw)),
    ];
    let mut cases = Vec::new();
    for (slug, what, container, build) in sites {
        for (label, total) in [("at-limit", max), ("beyond-limit", max + 1)] {
            let n = total - container;
            let value = if slug.ends_with("objects") { objects(n) } else { arrays(n) };
            let body = build(&value);
            assert_eq!(fixtures::depth(body.as_bytes()), total, "{slug} {label}: wrong depth");
            cases.push(b(
                &format!("nesting-{slug}-{label}"),
                &format!("{what} nested so that the document is {total} levels deep (the limit is {max})"),
                body,
            ));
        }
    }
    let mib = "a".repeat(1 << 20);
    cases.push(b("string-1mib", "a 1 MiB string in args", args(&format!("[\"{mib}\"]"))));
    cases.push(b("many-args", "10000 items in args", args(&format!("[{}]", vec!["0"; 10_000].join(",")))));
    cases
}
