//! The scenario list: the same for every runner, so that their outputs can be compared byte for
//! byte. Each scenario checks its own expectations (from the runtime contract and the examples
//! contract) and reports an outcome built only from protocol values and stable names, never from
//! timings, so two runners that behave alike print identical lines.

use crate::process::Runner;
use crate::report::{write_reversed, Out};
use crate::wire::{self, outcome_bytes, Conn, Received, TransportError};
use chrono::{DateTime, TimeZone, Utc};
use rrq_protocol::v1::{
    decode_message, CancelRequest, ExecutionContext, ExecutionOutcome, ExecutionRequest,
    FrameError, OutcomeStatus, RunnerMessage, ERROR_TYPES, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};

/// One scenario of the list.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// Needs a runner of its own (it kills or stops it); otherwise it shares one runner with the
    /// other scenarios.
    pub own_runner: bool,
}

const fn shared(name: &'static str, description: &'static str) -> Scenario {
    Scenario { name, description, own_runner: false }
}

const fn own(name: &'static str, description: &'static str) -> Scenario {
    Scenario { name, description, own_runner: true }
}

/// Every scenario, in the order they run by default.
pub const SCENARIOS: &[Scenario] = &[
    shared("echo_text", "echo: strings with non-ASCII, astral characters, control characters and escapes come back byte for byte"),
    shared("echo_numbers", "echo: integers across the i64/u64 range (beyond 2^53, ±2^63, 2^64-1) and floats (1.0, -0.0, 1e-7, 1e21, ...) come back byte for byte"),
    shared("echo_nested", "echo: nested objects sent with keys in reverse order, including keys whose UTF-16 order differs from code-point order, come back canonically sorted"),
    shared("fail_with_message", "fail: the handler raises with kwargs.message -> error with that message and the exception's type"),
    shared("fail_default_message", "fail: no message given -> error with the handler's default message"),
    shared("retry_after", "retry: retry outcome with retry_after_seconds = kwargs.seconds (2.5)"),
    shared("retry_whole_seconds", "retry: an integer kwargs.seconds (30) is written as the float 30.0"),
    shared("unknown_function", "unknown function_name -> error of type handler_not_found"),
    shared("unsupported_protocol_version", "protocol_version \"999\" -> error of type unsupported_protocol_version"),
    shared("deadline_past", "context.deadline already past -> timeout, handler not called"),
    shared("deadline_passes", "sleep 30 s with a deadline 1 s ahead -> timeout once it passes"),
    shared("cancel_by_request_id", "two sleeps of one job; cancel names one request_id -> that one cancelled, the other succeeds"),
    shared("cancel_by_job_id", "two sleeps of one job and one of another; cancel by job_id alone -> both of the job cancelled, the other succeeds"),
    shared("cancel_hard_kill", "cancel with hard_kill=true -> treated like a cancel"),
    shared("cancel_unknown_ignored", "cancel of an unknown job -> ignored silently, the runner keeps serving"),
    shared("probe_harmless", "five readiness probes (connect, close at once) -> the runner keeps serving"),
    shared("sequential_one_connection", "five requests one after another on one reused connection"),
    shared("many_in_flight_one_connection", "100 requests written at once on one connection, finishing out of order -> each answered exactly once, ids correlate"),
    shared("concurrent_connections", "50 connections at once, one sleep each -> all answered, concurrently"),
    shared("busy_beyond_in_flight_limit", "1025 sleeps written at once on one connection -> the one beyond the default limit of 1024 answered busy at once; closing the connection cancels the rest"),
    shared("invalid_frame_answered", "a request with attempt = -1 -> error invalid_frame with the decoder's message, ids echoed; the connection keeps working"),
    shared("response_frame_rejected", "a response frame sent to the runner -> error unexpected_message, ids echoed; the connection keeps working"),
    shared("zero_length_frame_closes", "a frame header of 0 -> the runner closes that connection and keeps serving others"),
    own("runner_killed", "SIGKILL while a request is in flight -> the orchestrator sees the connection close, nothing hangs"),
    own("sigterm_in_flight", "SIGTERM with five requests in flight on four connections -> each answered cancelled, exit code 0"),
    own("sigterm_idle", "SIGTERM with nothing in flight -> exit code 0"),
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// What a scenario found: an outcome to print (identical across well-behaved runners) and the
/// expectations it broke (empty when it passed).
pub struct Report {
    pub outcome: Out,
    pub problems: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// The scenario's output line (without the newline).
    pub fn line(&self, name: &str) -> Vec<u8> {
        let mut entries = vec![
            ("scenario".to_string(), Out::str(name)),
            ("passed".to_string(), Out::Json(Value::Bool(self.passed()))),
            ("outcome".to_string(), self.outcome.clone()),
        ];
        if !self.problems.is_empty() {
            let problems = self.problems.iter().map(|p| Out::str(p.clone())).collect();
            entries.push(("problems".to_string(), Out::Arr(problems)));
        }
        Out::Obj(entries).to_bytes()
    }

    /// A report for a scenario that could not run at all.
    pub fn not_run(why: String) -> Report {
        Report { outcome: Out::obj([("not_run", Out::str("runner unavailable"))]), problems: vec![why] }
    }
}

/// Runs one scenario. Shared-runner scenarios get the address; own-runner scenarios get the
/// runner, which they may kill.
pub async fn run(name: &str, addr: SocketAddr, runner: Option<&mut Runner>) -> Report {
    let mut p = Vec::new();
    let outcome = match (name, runner) {
        ("echo_text", _) => echo_text(addr, &mut p).await,
        ("echo_numbers", _) => echo_numbers(addr, &mut p).await,
        ("echo_nested", _) => echo_nested(addr, &mut p).await,
        ("fail_with_message", _) => fail_with_message(addr, &mut p).await,
        ("fail_default_message", _) => fail_default_message(addr, &mut p).await,
        ("retry_after", _) => retry(addr, &mut p, json!(2.5), 2.5).await,
        ("retry_whole_seconds", _) => retry(addr, &mut p, json!(30), 30.0).await,
        ("unknown_function", _) => unknown_function(addr, &mut p).await,
        ("unsupported_protocol_version", _) => unsupported_protocol_version(addr, &mut p).await,
        ("deadline_past", _) => deadline_past(addr, &mut p).await,
        ("deadline_passes", _) => deadline_passes(addr, &mut p).await,
        ("cancel_by_request_id", _) => cancel_by_request_id(addr, &mut p).await,
        ("cancel_by_job_id", _) => cancel_by_job_id(addr, &mut p).await,
        ("cancel_hard_kill", _) => cancel_hard_kill(addr, &mut p).await,
        ("cancel_unknown_ignored", _) => cancel_unknown_ignored(addr, &mut p).await,
        ("probe_harmless", _) => probe_harmless(addr, &mut p).await,
        ("sequential_one_connection", _) => sequential_one_connection(addr, &mut p).await,
        ("many_in_flight_one_connection", _) => many_in_flight(addr, &mut p).await,
        ("concurrent_connections", _) => concurrent_connections(addr, &mut p).await,
        ("busy_beyond_in_flight_limit", _) => busy_beyond_limit(addr, &mut p).await,
        ("invalid_frame_answered", _) => invalid_frame_answered(addr, &mut p).await,
        ("response_frame_rejected", _) => response_frame_rejected(addr, &mut p).await,
        ("zero_length_frame_closes", _) => zero_length_frame_closes(addr, &mut p).await,
        ("runner_killed", Some(runner)) => runner_killed(runner, &mut p).await,
        ("sigterm_in_flight", Some(runner)) => sigterm_in_flight(runner, &mut p).await,
        ("sigterm_idle", Some(runner)) => sigterm_idle(runner, &mut p).await,
        (other, _) => {
            p.push(format!("no such scenario (or it needs its own runner): {other}"));
            Out::Json(Value::Null)
        }
    };
    Report { outcome, problems: p }
}

// ---------------------------------------------------------------------------------------------
// Building requests

/// Longest wait for a response that should come promptly.
const PROMPT: Duration = Duration::from_secs(10);
/// Pause that lets a runner read and start a request before we cancel or signal it.
const SETTLE: Duration = Duration::from_millis(400);

fn enqueue_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap() + chrono::Duration::nanoseconds(123_456_789)
}

fn request(job_id: &str, request_id: &str, function: &str, args: Value, kwargs: Value) -> ExecutionRequest {
    let args = match args {
        Value::Array(items) => items,
        other => panic!("args must be an array, got {other}"),
    };
    let kwargs: BTreeMap<String, Value> = match kwargs {
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("kwargs must be an object, got {other}"),
    };
    ExecutionRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        request_id: request_id.to_string(),
        job_id: job_id.to_string(),
        function_name: function.to_string(),
        args,
        kwargs,
        context: ExecutionContext {
            job_id: job_id.to_string(),
            attempt: 1,
            enqueue_time: enqueue_time(),
            queue_name: "e2e".to_string(),
            deadline: None,
            trace_context: Some(BTreeMap::from([(
                "traceparent".to_string(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
            )])),
            worker_id: Some("rrq-orchestrator".to_string()),
        },
    }
}

fn sleep_request(job_id: &str, request_id: &str, seconds: Value) -> ExecutionRequest {
    request(job_id, request_id, "sleep", json!([]), json!({ "seconds": seconds }))
}

fn cancel_of(job_id: &str, request_id: Option<&str>, hard_kill: bool) -> CancelRequest {
    CancelRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        job_id: job_id.to_string(),
        request_id: request_id.map(str::to_string),
        hard_kill,
    }
}

/// The canonical bytes of a JSON value, as the protocol crate writes it inside a message.
fn value_bytes(value: &Value) -> Vec<u8> {
    outcome_bytes(&ExecutionOutcome {
        job_id: None,
        request_id: None,
        status: OutcomeStatus::Success,
        result: Some(value.clone()),
        error: None,
        retry_after_seconds: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Checking responses

/// What `error.type` must be.
#[derive(Clone, Copy)]
enum ErrType {
    /// No error object at all (success).
    Absent,
    /// Exactly this type.
    Is(&'static str),
    /// Anything the handler chose (retry outcomes, raised exceptions), but present and not one
    /// of the runner's own types.
    Handler,
}

fn describe(r: &Received) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Checks canonical bytes, status, error/result presence and error type; returns the outcome to
/// print (the canonical payload).
fn check(p: &mut Vec<String>, label: &str, r: &Received, status: OutcomeStatus, err: ErrType) -> Out {
    if !r.is_canonical() {
        p.push(format!(
            "{label}: response bytes are not canonical: got {} expected {}",
            describe(r),
            String::from_utf8_lossy(&r.canonical)
        ));
    }
    let o = &r.outcome;
    if o.status != status {
        p.push(format!("{label}: expected status {status:?}, got {}", describe(r)));
    }
    if (status == OutcomeStatus::Success) != o.result.is_some() && status == OutcomeStatus::Success {
        p.push(format!("{label}: a success must carry a result, got {}", describe(r)));
    }
    match err {
        ErrType::Absent => {
            if o.error.is_some() {
                p.push(format!("{label}: expected no error, got {}", describe(r)));
            }
        }
        ErrType::Is(t) => match &o.error {
            Some(e) if e.error_type.as_deref() == Some(t) => {
                if e.message.is_empty() {
                    p.push(format!("{label}: error message is empty: {}", describe(r)));
                }
            }
            _ => p.push(format!("{label}: expected error type {t:?}, got {}", describe(r))),
        },
        ErrType::Handler => match &o.error {
            Some(e) => {
                if let Some(t) = e.error_type.as_deref() {
                    if ERROR_TYPES.iter().any(|(name, _)| *name == t) {
                        p.push(format!("{label}: error type is a runner type, not the handler's: {}", describe(r)));
                    }
                }
            }
            None => p.push(format!("{label}: expected an error object, got {}", describe(r))),
        },
    }
    Out::Raw(r.payload_bytes())
}

fn check_result(p: &mut Vec<String>, label: &str, r: &Received, expected: &Value) {
    let got = r.outcome.result.as_ref().map(value_bytes);
    let want = value_bytes(expected);
    if got.as_deref() != Some(&want[..]) {
        p.push(format!(
            "{label}: result differs from the expected {} in {}",
            String::from_utf8_lossy(&want[..]),
            describe(r)
        ));
    }
}

fn transport(p: &mut Vec<String>, label: &str, e: &TransportError) -> Out {
    p.push(format!("{label}: {e}"));
    Out::obj([("transport_error", Out::str(e.kind()))])
}

/// One request on its own connection, expecting a prompt answer of `status` / `err`.
async fn call_expect(
    p: &mut Vec<String>,
    addr: SocketAddr,
    req: &ExecutionRequest,
    status: OutcomeStatus,
    err: ErrType,
) -> (Out, Option<Received>) {
    match wire::call(addr, req, PROMPT).await {
        Ok(r) => (check(p, &req.request_id, &r, status, err), Some(r)),
        Err(e) => (transport(p, &req.request_id, &e), None),
    }
}

/// Sends `req` with every object's keys in reverse order (a valid, non-canonical frame).
async fn call_reversed(addr: SocketAddr, req: &ExecutionRequest) -> Result<Received, TransportError> {
    let message = RunnerMessage::Request { payload: req.clone() };
    let mut body = Vec::new();
    write_reversed(&serde_json::to_value(&message).expect("a request serializes"), &mut body);
    // What we send must still be exactly this request.
    assert_eq!(decode_message(&body).ok().as_ref(), Some(&message), "reordered request changed");
    let deadline = Instant::now() + PROMPT;
    let mut conn = Conn::open(addr).await?;
    conn.send_body(&body).await?;
    let r = conn.recv_response(deadline).await?;
    r.check_ids(&req.job_id, &req.request_id)?;
    Ok(r)
}

fn exit_out(status: Option<ExitStatus>) -> Out {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => Out::str("still running"),
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Out::str(format!("code {code}")),
            (None, Some(sig)) => Out::str(format!("signal {sig}")),
            _ => Out::str(s.to_string()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn echo_case(addr: SocketAddr, p: &mut Vec<String>, id: &str, args: Value, kwargs: Value) -> Out {
    let req = request(&format!("job-{id}"), &format!("req-{id}"), "echo", args.clone(), kwargs.clone());
    match call_reversed(addr, &req).await {
        Ok(r) => {
            let out = check(p, &req.request_id, &r, OutcomeStatus::Success, ErrType::Absent);
            check_result(p, &req.request_id, &r, &json!({ "args": args, "kwargs": kwargs }));
            out
        }
        Err(e) => transport(p, &req.request_id, &e),
    }
}

async fn echo_text(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let args = json!([
        "héllo wörld",
        "日本語のテキスト",
        "😀🎉𝄞 astral",
        "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \"quoted\" \\back/slash\\ \u{7f}",
        "\u{2028}\u{2029}\u{feff}\u{ffff}\u{10ffff}",
        "",
        "<script>&'</script>"
    ]);
    let kwargs = json!({
        "ключ": "значение",
        "emoji_😀": "🚀",
        "name": "Zoë",
        "null_char\u{0}": "nul"
    });
    echo_case(addr, p, "echo-text", args, kwargs).await
}

async fn echo_numbers(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    // Parsed from text so that every literal keeps its JSON kind (integer or float).
    let args: Value = serde_json::from_str(
        "[0, -1, 9007199254740991, 9007199254740992, 9007199254740993, -9007199254740993, \
         9223372036854775807, -9223372036854775808, 9223372036854775808, 18446744073709551615, \
         1.0, -0.0, 0.5, 0.1, 1e-7, 1.5e-7, 0.0001, 0.00001, 1e15, 1e16, 1e21, 123456.789, \
         1.7976931348623157e308, 5e-324, -2.5e-300, 100.0, 3.0e2]",
    )
    .unwrap();
    let kwargs: Value = serde_json::from_str(
        r#"{"max_u64": 18446744073709551615, "min_i64": -9223372036854775808, "float_int": 100.0,
            "nested": {"big": [9223372036854775808, -9007199254740993], "tiny": 5e-324}}"#,
    )
    .unwrap();
    echo_case(addr, p, "echo-numbers", args, kwargs).await
}

async fn echo_nested(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    // U+FF61 sorts before U+1F600 by code point, after it by UTF-16 code unit (0xD83D);
    // U+E000 likewise. Empty keys, case, prefixes and NUL test the rest of the ordering.
    let mut deep = json!({"leaf": [1, 2.0, "three"]});
    for depth in 0..40 {
        deep = json!({ format!("level{depth}"): deep, "z": [depth] });
    }
    let args = json!([
        {"｡": 1, "😀": 2, "\u{e000}": 3, "a": 4, "B": 5, "": 6, "é": 7, "aa": 8, "a\u{0}": 9, "Z": 10},
        [[], {}, [{}], {"": []}],
        null, true, false,
        {"list": [{"b": 1, "a": 2}, {"d": {"c": {"f": 1, "e": 2}}}]}
    ]);
    let kwargs = json!({
        "😀": {"｡": "halfwidth", "😀": "emoji", "\u{ffff}": "max bmp", "\u{10000}": "min astral"},
        "deep": deep,
        "b": {"y": null, "x": [true, false]},
        "a": "first"
    });
    echo_case(addr, p, "echo-nested", args, kwargs).await
}

async fn fail_with_message(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let message = "disk full: /var/lib/ünïcode 😀 \"quoted\"";
    let req = request("job-fail", "req-fail", "fail", json!([]), json!({ "message": message }));
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Error, ErrType::Handler).await;
    if let Some(r) = r {
        let got = r.outcome.error.as_ref().map(|e| e.message.as_str());
        if got != Some(message) {
            p.push(format!("error.message should be kwargs.message {message:?}: {}", describe(&r)));
        }
    }
    out
}

async fn fail_default_message(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let req = request("job-fail-default", "req-fail-default", "fail", json!([]), json!({}));
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Error, ErrType::Handler).await;
    if let Some(r) = r {
        if r.outcome.error.as_ref().is_some_and(|e| e.message.is_empty()) {
            p.push(format!("the default message is empty: {}", describe(&r)));
        }
    }
    out
}

async fn retry(addr: SocketAddr, p: &mut Vec<String>, seconds: Value, expected: f64) -> Out {
    let id = format!("retry-{}", seconds.to_string().replace('.', "_"));
    let req = request(&format!("job-{id}"), &format!("req-{id}"), "retry", json!([]), json!({ "seconds": seconds }));
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Retry, ErrType::Handler).await;
    if let Some(r) = r {
        if r.outcome.retry_after_seconds != Some(expected) {
            p.push(format!("retry_after_seconds should be {expected:?}: {}", describe(&r)));
        }
    }
    out
}

async fn unknown_function(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let req = request("job-unknown", "req-unknown", "no_such_handler", json!([1]), json!({}));
    call_expect(p, addr, &req, OutcomeStatus::Error, ErrType::Is("handler_not_found")).await.0
}

async fn unsupported_protocol_version(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let mut req = request("job-version", "req-version", "echo", json!([]), json!({}));
    req.protocol_version = "999".to_string();
    let err = ErrType::Is("unsupported_protocol_version");
    call_expect(p, addr, &req, OutcomeStatus::Error, err).await.0
}

async fn deadline_past(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    // `fail` would answer `error` if it were called.
    let mut req = request("job-deadline-past", "req-deadline-past", "fail", json!([]), json!({}));
    req.context.deadline = Some(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap());
    call_expect(p, addr, &req, OutcomeStatus::Timeout, ErrType::Is("timeout")).await.0
}

async fn deadline_passes(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let mut req = sleep_request("job-deadline-passes", "req-deadline-passes", json!(30));
    req.context.deadline = Some(DateTime::<Utc>::from(std::time::SystemTime::now()) + chrono::Duration::seconds(1));
    let started = Instant::now();
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Timeout, ErrType::Is("timeout")).await;
    let Some(mut r) = r else { return out };
    if started.elapsed() < Duration::from_millis(900) {
        p.push(format!("answered timeout after {:?}, before the deadline", started.elapsed()));
    }
    // The deadline is wall-clock time: where a message quotes it, print a placeholder instead.
    if let (Some(error), Some(deadline)) = (r.outcome.error.as_mut(), req.context.deadline) {
        error.message = mask_timestamp(&error.message, deadline, "<deadline>");
    }
    Out::Raw(r.payload_bytes())
}

/// Replaces, in `text`, every RFC 3339 timestamp (any offset, any precision) that denotes
/// `instant` to within a millisecond by `placeholder`.
pub fn mask_timestamp(text: &str, instant: DateTime<Utc>, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        if rest.as_bytes()[0].is_ascii_digit() {
            // Longest prefix that parses as a timestamp ("YYYY-MM-DDThh:mm:ssZ" is 20 bytes).
            let ends = (20..=rest.len().min(40)).rev().filter(|&end| rest.is_char_boundary(end));
            for end in ends {
                if let Ok(t) = rrq_protocol::timestamp::parse(&rest[..end]) {
                    if (t - instant).num_microseconds().is_some_and(|us| us.abs() <= 1000) {
                        out.push_str(placeholder);
                        rest = &rest[end..];
                        continue 'scan;
                    }
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Starts each request on its own connection, in the background.
fn start_calls(addr: SocketAddr, reqs: &[ExecutionRequest]) -> Vec<tokio::task::JoinHandle<Result<Received, TransportError>>> {
    reqs.iter()
        .map(|req| {
            let req = req.clone();
            tokio::spawn(async move { wire::call(addr, &req, PROMPT).await })
        })
        .collect()
}

/// Collects the results of `start_calls`, checking each against its expectation.
async fn finish_calls(
    p: &mut Vec<String>,
    reqs: &[ExecutionRequest],
    handles: Vec<tokio::task::JoinHandle<Result<Received, TransportError>>>,
    expect: &[(OutcomeStatus, ErrType, Option<Value>)],
) -> Vec<Out> {
    let mut outs = Vec::new();
    for ((req, handle), (status, err, result)) in reqs.iter().zip(handles).zip(expect) {
        let out = match handle.await {
            Ok(Ok(r)) => {
                let out = check(p, &req.request_id, &r, *status, *err);
                if let Some(result) = result {
                    check_result(p, &req.request_id, &r, result);
                }
                out
            }
            Ok(Err(e)) => transport(p, &req.request_id, &e),
            Err(e) => transport(p, &req.request_id, &TransportError::Closed(format!("task failed: {e}"))),
        };
        outs.push(out);
    }
    outs
}

async fn send_cancel(p: &mut Vec<String>, addr: SocketAddr, cancel: CancelRequest) {
    if let Err(e) = wire::cancel(addr, cancel).await {
        p.push(format!("sending the cancel: {e}"));
    }
}

const CANCELLED: (OutcomeStatus, ErrType, Option<Value>) =
    (OutcomeStatus::Error, ErrType::Is("cancelled"), None);

async fn cancel_by_request_id(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let job = "job-cancel-rid";
    let reqs = [sleep_request(job, "req-cancel-rid-1", json!(30)), sleep_request(job, "req-cancel-rid-2", json!(1.5))];
    let handles = start_calls(addr, &reqs);
    sleep(SETTLE).await;
    send_cancel(p, addr, cancel_of(job, Some("req-cancel-rid-1"), false)).await;
    let expect = [CANCELLED, (OutcomeStatus::Success, ErrType::Absent, Some(json!({"slept": 1.5})))];
    Out::Arr(finish_calls(p, &reqs, handles, &expect).await)
}

async fn cancel_by_job_id(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let job = "job-cancel-job";
    let reqs = [
        sleep_request(job, "req-cancel-job-1", json!(30)),
        sleep_request(job, "req-cancel-job-2", json!(30)),
        sleep_request("job-cancel-job-other", "req-cancel-job-other", json!(1.5)),
    ];
    let handles = start_calls(addr, &reqs);
    sleep(SETTLE).await;
    send_cancel(p, addr, cancel_of(job, None, false)).await;
    let expect = [CANCELLED, CANCELLED, (OutcomeStatus::Success, ErrType::Absent, Some(json!({"slept": 1.5})))];
    Out::Arr(finish_calls(p, &reqs, handles, &expect).await)
}

async fn cancel_hard_kill(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let reqs = [sleep_request("job-hard-kill", "req-hard-kill", json!(30))];
    let handles = start_calls(addr, &reqs);
    sleep(SETTLE).await;
    send_cancel(p, addr, cancel_of("job-hard-kill", Some("req-hard-kill"), true)).await;
    Out::Arr(finish_calls(p, &reqs, handles, &[CANCELLED]).await)
}

async fn cancel_unknown_ignored(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    send_cancel(p, addr, cancel_of("job-never-seen", Some("req-never-seen"), false)).await;
    send_cancel(p, addr, cancel_of("job-never-seen", None, true)).await;
    let req = request("job-after-cancel", "req-after-cancel", "echo", json!(["still here"]), json!({}));
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Success, ErrType::Absent).await;
    if let Some(r) = r {
        check_result(p, &req.request_id, &r, &json!({"args": ["still here"], "kwargs": {}}));
    }
    out
}

async fn probe_harmless(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    for i in 0..5 {
        if !wire::probe(addr).await {
            p.push(format!("probe {i} was not accepted"));
        }
    }
    let req = request("job-after-probe", "req-after-probe", "echo", json!(["probed"]), json!({}));
    let (out, r) = call_expect(p, addr, &req, OutcomeStatus::Success, ErrType::Absent).await;
    if let Some(r) = r {
        check_result(p, &req.request_id, &r, &json!({"args": ["probed"], "kwargs": {}}));
    }
    out
}

async fn sequential_one_connection(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let mut outs = Vec::new();
    let mut conn = match Conn::open(addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(p, "connect", &e),
    };
    for i in 0..5 {
        let req = request("job-sequential", &format!("req-sequential-{i}"), "echo", json!([i]), json!({}));
        let result = async {
            conn.send(&RunnerMessage::Request { payload: req.clone() }).await?;
            let r = conn.recv_response(Instant::now() + PROMPT).await?;
            r.check_ids(&req.job_id, &req.request_id)?;
            Ok::<_, TransportError>(r)
        }
        .await;
        match result {
            Ok(r) => {
                outs.push(check(p, &req.request_id, &r, OutcomeStatus::Success, ErrType::Absent));
                check_result(p, &req.request_id, &r, &json!({"args": [i], "kwargs": {}}));
            }
            Err(e) => {
                outs.push(transport(p, &req.request_id, &e));
                break;
            }
        }
    }
    Out::Arr(outs)
}

/// Counts of statuses, by name, in a fixed order.
fn status_counts(counts: &BTreeMap<String, usize>) -> Out {
    Out::Obj(counts.iter().map(|(k, v)| (k.clone(), Out::Json(json!(v)))).collect())
}

fn status_name(status: OutcomeStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

async fn many_in_flight(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    const N: usize = 100;
    let job = "job-in-flight";
    let mut expected: HashMap<String, Value> = HashMap::new();
    let mut frames = Vec::new();
    for i in 0..N {
        let rid = format!("req-in-flight-{i:03}");
        let req = if i % 2 == 0 {
            // Later requests finish first.
            let seconds = json!(((N - i) as f64) * 0.005);
            expected.insert(rid.clone(), json!({ "slept": seconds.clone() }));
            sleep_request(job, &rid, seconds)
        } else {
            expected.insert(rid.clone(), json!({ "args": [i, "x"], "kwargs": {} }));
            request(job, &rid, "echo", json!([i, "x"]), json!({}))
        };
        frames.extend(rrq_protocol::v1::encode_frame(&RunnerMessage::Request { payload: req }).unwrap());
    }
    let mut conn = match Conn::open(addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(p, "connect", &e),
    };
    if let Err(e) = conn.write_bytes(&frames).await {
        return transport(p, "write", &e);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut answered = 0usize;
    let mut transport_error = None;
    while answered < N {
        match conn.recv_response(deadline).await {
            Ok(r) => {
                answered += 1;
                *counts.entry(status_name(r.outcome.status)).or_default() += 1;
                let rid = r.outcome.request_id.clone().unwrap_or_default();
                let label = format!("response {answered} ({rid})");
                check(p, &label, &r, OutcomeStatus::Success, ErrType::Absent);
                if r.outcome.job_id.as_deref() != Some(job) {
                    p.push(format!("{label}: wrong job_id: {}", describe(&r)));
                }
                match expected.get(&rid) {
                    Some(result) => check_result(p, &label, &r, result),
                    None => p.push(format!("{label}: request_id matches no request: {}", describe(&r))),
                }
                *seen.entry(rid).or_default() += 1;
            }
            Err(e) => {
                transport_error = Some(transport(p, "reading responses", &e));
                break;
            }
        }
    }
    for (rid, n) in &seen {
        if *n > 1 {
            p.push(format!("{rid} answered {n} times"));
        }
    }
    let missing = expected.keys().filter(|rid| !seen.contains_key(*rid)).count();
    if missing > 0 {
        p.push(format!("{missing} requests never answered"));
    }
    let mut entries = vec![
        ("requests", Out::Json(json!(N))),
        ("answered", Out::Json(json!(answered))),
        ("distinct_request_ids", Out::Json(json!(seen.len()))),
        ("statuses", status_counts(&counts)),
    ];
    if let Some(e) = transport_error {
        entries.push(("transport_error", e));
    }
    Out::obj(entries)
}

async fn concurrent_connections(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    const N: usize = 50;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..N {
        let seconds = json!(0.3 + (i as f64) / 1000.0);
        let req = sleep_request(&format!("job-concurrent-{i:02}"), &format!("req-concurrent-{i:02}"), seconds.clone());
        set.spawn(async move { (req.request_id.clone(), seconds, wire::call(addr, &req, PROMPT).await) });
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut answered = 0;
    while let Some(joined) = set.join_next().await {
        let Ok((rid, seconds, result)) = joined else {
            p.push("a connection task failed".to_string());
            continue;
        };
        match result {
            Ok(r) => {
                answered += 1;
                *counts.entry(status_name(r.outcome.status)).or_default() += 1;
                check(p, &rid, &r, OutcomeStatus::Success, ErrType::Absent);
                check_result(p, &rid, &r, &json!({ "slept": seconds }));
            }
            Err(e) => {
                *counts.entry(format!("transport_error:{}", e.kind())).or_default() += 1;
                p.push(format!("{rid}: {e}"));
            }
        }
    }
    // Run one after another they would take over 15 s.
    if started.elapsed() > Duration::from_secs(8) {
        p.push(format!("50 sleeps of ~0.3 s took {:?}: not run concurrently", started.elapsed()));
    }
    Out::obj([
        ("connections", Out::Json(json!(N))),
        ("answered", Out::Json(json!(answered))),
        ("statuses", status_counts(&counts)),
    ])
}

/// The runtime contract's default per-connection in-flight limit.
const DEFAULT_IN_FLIGHT_LIMIT: usize = 1024;

async fn busy_beyond_limit(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let job = "job-busy";
    let mut frames = Vec::new();
    for i in 0..=DEFAULT_IN_FLIGHT_LIMIT {
        let req = sleep_request(job, &format!("req-busy-{i:04}"), json!(5));
        frames.extend(rrq_protocol::v1::encode_frame(&RunnerMessage::Request { payload: req }).unwrap());
    }
    let last = format!("req-busy-{DEFAULT_IN_FLIGHT_LIMIT:04}");
    let mut conn = match Conn::open(addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(p, "connect", &e),
    };
    if let Err(e) = conn.write_bytes(&frames).await {
        return transport(p, "write", &e);
    }
    // The sleeps take 5 s: anything sooner is the busy answer.
    let busy = match conn.recv_response(Instant::now() + Duration::from_secs(4)).await {
        Ok(r) => {
            if let Err(e) = r.check_ids(job, &last) {
                p.push(format!("the busy answer should be for the last request: {e}"));
            }
            check(p, &last, &r, OutcomeStatus::Error, ErrType::Is("busy"))
        }
        Err(e) => transport(p, "waiting for the busy answer", &e),
    };
    drop(conn);
    // Closing cancelled the 1024 sleeps; the runner keeps serving.
    let req = request("job-after-busy", "req-after-busy", "echo", json!([]), json!({}));
    let (after, _) = call_expect(p, addr, &req, OutcomeStatus::Success, ErrType::Absent).await;
    Out::obj([("busy", busy), ("next_connection", after)])
}

/// Sends `body` as a frame on `conn` and reads one response, which must carry `ids` and be an
/// error of type `error_type` (whose message starts with `path: `, when given); then checks that
/// the same connection still serves an echo.
async fn bad_frame_then_echo(
    p: &mut Vec<String>,
    addr: SocketAddr,
    body: &[u8],
    ids: (&str, &str),
    error_type: &'static str,
    path: Option<String>,
) -> Out {
    let mut conn = match Conn::open(addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(p, "connect", &e),
    };
    let first = match async {
        conn.send_body(body).await?;
        conn.recv_response(Instant::now() + PROMPT).await
    }
    .await
    {
        Ok(r) => {
            if let Err(e) = r.check_ids(ids.0, ids.1) {
                p.push(format!("ids not echoed: {e}"));
            }
            let out = check(p, error_type, &r, OutcomeStatus::Error, ErrType::Is(error_type));
            if let (Some(path), Some(e)) = (&path, &r.outcome.error) {
                if !e.message.starts_with(&format!("{path}: ")) {
                    p.push(format!("error.message should start with the field path {path:?}: {}", describe(&r)));
                }
            }
            out
        }
        Err(e) => return transport(p, error_type, &e),
    };
    let req = request("job-after-bad-frame", "req-after-bad-frame", "echo", json!(["again"]), json!({}));
    let second = match async {
        conn.send(&RunnerMessage::Request { payload: req.clone() }).await?;
        let r = conn.recv_response(Instant::now() + PROMPT).await?;
        r.check_ids(&req.job_id, &req.request_id)?;
        Ok::<_, TransportError>(r)
    }
    .await
    {
        Ok(r) => {
            let out = check(p, "echo after", &r, OutcomeStatus::Success, ErrType::Absent);
            check_result(p, "echo after", &r, &json!({"args": ["again"], "kwargs": {}}));
            out
        }
        Err(e) => transport(p, "echo after", &e),
    };
    Out::Arr(vec![first, second])
}

async fn invalid_frame_answered(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let req = request("job-invalid", "req-invalid", "echo", json!([]), json!({}));
    let mut value = serde_json::to_value(RunnerMessage::Request { payload: req }).unwrap();
    value["payload"]["context"]["attempt"] = json!(-1);
    let mut body = Vec::new();
    crate::report::write_sorted(&value, &mut body);
    // The message must name the field path the Rust decoder names (`<path>: <expectation>, got
    // <what>`); its wording is compared across runners by the end-to-end test.
    let path = match decode_message(&body) {
        Err(FrameError::Invalid(e)) => e.path(),
        other => panic!("the Rust decoder should reject attempt = -1, got {other:?}"),
    };
    bad_frame_then_echo(p, addr, &body, ("job-invalid", "req-invalid"), "invalid_frame", Some(path)).await
}

async fn response_frame_rejected(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let outcome = ExecutionOutcome::success("job-stray-response", "req-stray-response", json!(1));
    let body = rrq_protocol::v1::encode_message(&RunnerMessage::Response { payload: outcome }).unwrap();
    let ids = ("job-stray-response", "req-stray-response");
    bad_frame_then_echo(p, addr, &body, ids, "unexpected_message", None).await
}

async fn zero_length_frame_closes(addr: SocketAddr, p: &mut Vec<String>) -> Out {
    let mut entries = Vec::new();
    match Conn::open(addr).await {
        Ok(mut conn) => {
            let closed = async {
                conn.write_bytes(&[0, 0, 0, 0]).await?;
                conn.wait_closed(Instant::now() + PROMPT).await
            }
            .await;
            match closed {
                Ok(0) => entries.push(("connection", Out::str("closed"))),
                Ok(n) => {
                    p.push(format!("the runner wrote {n} bytes before closing; it should close without a response"));
                    entries.push(("connection", Out::str("closed after writing")));
                }
                Err(e) => entries.push(("connection", transport(p, "zero-length frame", &e))),
            }
        }
        Err(e) => return transport(p, "connect", &e),
    }
    let req = request("job-after-zero", "req-after-zero", "echo", json!([0]), json!({}));
    let (out, _) = call_expect(p, addr, &req, OutcomeStatus::Success, ErrType::Absent).await;
    entries.push(("next_connection", out));
    Out::obj(entries)
}

async fn runner_killed(runner: &mut Runner, p: &mut Vec<String>) -> Out {
    let addr = runner.addr();
    let req = sleep_request("job-killed", "req-killed", json!(30));
    let call = tokio::spawn(async move { wire::call(addr, &req, PROMPT).await });
    sleep(SETTLE).await;
    if let Err(e) = runner.signal(libc::SIGKILL) {
        p.push(format!("could not SIGKILL the runner: {e}"));
    }
    let seen = match call.await {
        Ok(Ok(r)) => {
            p.push(format!("got a response from a killed runner: {}", describe(&r)));
            Out::Raw(r.payload_bytes())
        }
        Ok(Err(TransportError::Closed(_))) => Out::str("closed"),
        Ok(Err(e)) => transport(p, "in-flight request", &e),
        Err(e) => transport(p, "in-flight request", &TransportError::Closed(format!("task failed: {e}"))),
    };
    let status = runner.wait(PROMPT).await;
    Out::obj([("in_flight_request", seen), ("exit", exit_out(status))])
}

async fn sigterm_in_flight(runner: &mut Runner, p: &mut Vec<String>) -> Out {
    let addr = runner.addr();
    let reqs: Vec<ExecutionRequest> = (0..3)
        .map(|i| sleep_request(&format!("job-sigterm-{i}"), &format!("req-sigterm-{i}"), json!(30)))
        .collect();
    let handles = start_calls(addr, &reqs);
    // Two more in flight on one shared connection.
    let shared: Vec<ExecutionRequest> = (3..5)
        .map(|i| sleep_request(&format!("job-sigterm-{i}"), &format!("req-sigterm-{i}"), json!(30)))
        .collect();
    let mut conn = Conn::open(addr).await;
    if let Ok(conn) = conn.as_mut() {
        for req in &shared {
            if let Err(e) = conn.send(&RunnerMessage::Request { payload: req.clone() }).await {
                p.push(format!("{}: {e}", req.request_id));
            }
        }
    }
    sleep(SETTLE).await;
    if let Err(e) = runner.signal(libc::SIGTERM) {
        p.push(format!("could not SIGTERM the runner: {e}"));
    }
    let mut outs = finish_calls(p, &reqs, handles, &[CANCELLED, CANCELLED, CANCELLED]).await;
    match conn {
        Ok(mut conn) => {
            let deadline = Instant::now() + PROMPT;
            let mut got: BTreeMap<String, Out> = BTreeMap::new();
            for _ in &shared {
                match conn.recv_response(deadline).await {
                    Ok(r) => {
                        let rid = r.outcome.request_id.clone().unwrap_or_default();
                        let out = check(p, &rid, &r, OutcomeStatus::Error, ErrType::Is("cancelled"));
                        if !shared.iter().any(|q| q.request_id == rid && r.check_ids(&q.job_id, &q.request_id).is_ok()) {
                            p.push(format!("response matches no request: {}", describe(&r)));
                        }
                        got.insert(rid, out);
                    }
                    Err(e) => {
                        outs.push(transport(p, "shared connection", &e));
                        break;
                    }
                }
            }
            outs.extend(got.into_values());
        }
        Err(e) => outs.push(transport(p, "shared connection", &e)),
    }
    let status = runner.wait(PROMPT).await;
    if !status.is_some_and(|s| s.success()) {
        p.push(format!("the runner should exit 0 after SIGTERM, got {status:?}"));
    }
    Out::obj([("responses", Out::Arr(outs)), ("exit", exit_out(status))])
}

async fn sigterm_idle(runner: &mut Runner, p: &mut Vec<String>) -> Out {
    if let Err(e) = runner.signal(libc::SIGTERM) {
        p.push(format!("could not SIGTERM the runner: {e}"));
    }
    let status = runner.wait(PROMPT).await;
    if !status.is_some_and(|s| s.success()) {
        p.push(format!("the runner should exit 0 after SIGTERM, got {status:?}"));
    }
    Out::obj([("exit", exit_out(status))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_timestamp_replaces_the_instant_in_any_format_only() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 16, 21, 43).unwrap() + chrono::Duration::nanoseconds(794_552_123);
        for text in [
            "2026-11-25T16:21:43.794552123Z",
            "2026-11-25T16:21:43.794552+00:00",
            "2026-11-25T17:21:43.794+01:00",
        ] {
            assert_eq!(mask_timestamp(&format!("the deadline {text} passed"), t, "<d>"), "the deadline <d> passed");
        }
        let other = "the deadline 2026-11-25T16:21:45Z passed; 2026 é";
        assert_eq!(mask_timestamp(other, t, "<d>"), other);
    }
}
