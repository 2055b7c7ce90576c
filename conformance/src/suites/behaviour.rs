//! The behaviour suite: the handler contract and the runtime contract, exercised the way the RRQ
//! orchestrators use a runner (a connection per request and a cancel on a connection of its own
//! as 0.9 does; one persistent connection with pipelined requests and cancels as 0.11 does).
//!
//! Every case checks its own expectations and reports an outcome built only from protocol
//! values and stable names, never from timings, so two runners that behave alike print
//! identical outcomes (`rrq-conformance compare`).

use crate::case::{CaseInfo, Level, Suite, Verdict};
use crate::env::{Env, PROMPT};
use crate::process::Runner;
use crate::report::{write_reversed, write_sorted, Out};
use crate::values::same_value;
use crate::version::{Cancel, Request, Version};
use crate::wire::{self, outcome_bytes, Conn, Received, TransportError};
use chrono::{DateTime, TimeZone, Utc};
use rrq_protocol::outcome::{ExecutionOutcome, OutcomeStatus};
use rrq_protocol::{FrameError, ERROR_TYPES};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};

/// What a case needs to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// The shared runner (or the given address).
    Shared,
    /// A runner of its own, which it signals.
    Own,
    /// A runner of its own under a parent of its own, which it kills.
    Parent,
}

struct Def {
    name: &'static str,
    level: Level,
    needs: Needs,
    checks: &'static str,
    why: &'static str,
}

const R: Level = Level::Required;
const REC: Level = Level::Recommended;

const fn def(
    name: &'static str,
    level: Level,
    needs: Needs,
    checks: &'static str,
    why: &'static str,
) -> Def {
    Def {
        name,
        level,
        needs,
        checks,
        why,
    }
}

const RESULTS: &str =
    "RRQ stores the result as the job's result: a value changed on the way is a wrong result";

/// Every case, in the order they run.
const DEFS: &[Def] = &[
    def("quiet_start", REC, Needs::Shared, "the runner writes nothing on stdout or stderr from its start until 300 ms after its port accepts connections", "RRQ logs every line a runner writes (0.9.9 at WARN, 0.11.1 at ERROR): a normal start should not look like a problem; nothing breaks if it does"),
    def("echo_text", R, Needs::Shared, "echo: strings with non-ASCII, astral characters, controls and escapes (the request's keys written in reverse order) come back as the same values", RESULTS),
    def("echo_numbers", R, Needs::Shared, "echo: integers across the i64/u64 range (2^53+1, ±2^63, 2^64-1) and floats (1.0, -0.0, 1e-7, 1e21, 5e-324, ...) come back as the same numbers", RESULTS),
    def("echo_nested", R, Needs::Shared, "echo: objects nested 40 deep, empty containers, keys whose UTF-16 order differs from their code-point order, sent with keys in reverse order, come back as the same values", RESULTS),
    def("fail_with_message", R, Needs::Shared, "fail: the handler raises with `message` -> status error, error.message that message, error.type the handler's (not one of the runner's own types)", "RRQ records error.message as the job's last error and retries; a runner type such as handler_not_found would send the job to the dead-letter queue at once"),
    def("fail_default_message", R, Needs::Shared, "fail without a message -> status error with a non-empty message", "RRQ records the message as the job's last error"),
    def("retry_after", R, Needs::Shared, "retry with seconds 2.5 -> status retry, retry_after_seconds 2.5", "RRQ honours retry_after_seconds instead of its backoff"),
    def("retry_whole_seconds", R, Needs::Shared, "retry with the integer seconds 30 -> retry_after_seconds 30 (written 30.0 in canonical bytes)", "RRQ honours retry_after_seconds instead of its backoff"),
    def("unknown_function", R, Needs::Shared, "an unregistered function_name -> status error, error.type handler_not_found, ids echoed", "RRQ dead-letters a job at once on handler_not_found (any other error is retried in vain)"),
    def("unsupported_protocol_version", REC, Needs::Shared, "protocol_version \"999\" -> status error, error.type unsupported_protocol_version", "each RRQ release sends only its own version, so RRQ does not rely on it; a runner that checks stops a mismatched deployment at once instead of misreading its jobs' inputs"),
    def("deadline_past", R, Needs::Shared, "context.deadline already past -> status timeout, error.type timeout, the handler not called", "RRQ sends a deadline with every job and dead-letters a job at once on status timeout"),
    def("deadline_passes", R, Needs::Shared, "sleep 30 s with a deadline 1 s ahead -> status timeout once it passes, not before", "RRQ sends a deadline with every job; a runner that answers timeout first tells RRQ why the job ended"),
    def("cancel_by_request_id", R, Needs::Shared, "two sleeps of one job on connections of their own; a cancel (on a new connection, closed at once, as RRQ 0.9 sends it) names one request_id -> that one answered error/cancelled, the other succeeds", "RRQ 0.9 cancels a timed-out request this way"),
    def("cancel_by_job_id", R, Needs::Shared, "two sleeps of one job and one of another; a cancel by job_id alone -> both of the job cancelled, the other succeeds", "the protocol's cancel without request_id stops every request of the job"),
    def("cancel_hard_kill", R, Needs::Shared, "a cancel with hard_kill true -> the request answered error/cancelled", "RRQ may set hard_kill; it must not be an error"),
    def("cancel_on_request_connection", R, Needs::Shared, "two sleeps pipelined on one connection and a cancel for one of them on that same connection -> that one answered cancelled on the connection, the other succeeds", "RRQ 0.11 keeps one connection per runner and sends the cancel for a timed-out request on it"),
    def("cancel_unknown_ignored", R, Needs::Shared, "cancels of a job the runner never saw (by request_id and by job_id) -> no answer, the runner keeps serving", "RRQ sends cancels for requests that may have finished already"),
    def("probe_harmless", R, Needs::Shared, "five readiness probes (connect, close at once without sending) -> the runner keeps serving", "both RRQ releases probe readiness this way"),
    def("sequential_one_connection", R, Needs::Shared, "five requests one after another on one reused connection", "RRQ 0.11 keeps one connection per runner process"),
    def("pipelined_64_one_connection", R, Needs::Shared, "64 requests written at once on one connection, finishing out of order -> each answered exactly once, ids correlated", "RRQ 0.11 pipelines up to max_in_flight (at most 64) requests on its one connection"),
    def("concurrent_connections", R, Needs::Shared, "50 connections at once, one 0.3 s sleep each -> all answered, concurrently (under 8 s)", "RRQ 0.9 opens a connection per request, up to max_in_flight of them at once"),
    def("busy_beyond_in_flight_limit", REC, Needs::Shared, "1025 sleeps written at once on one connection -> the one beyond the default per-connection limit of 1024 answered error/busy at once; closing the connection cancels the rest", "RRQ sends at most 64 at once; a limit that answers at once instead of queueing without bound protects the runner from other clients"),
    def("invalid_frame_answered", REC, Needs::Shared, "a request with context.attempt -1 -> error invalid_frame naming the field path, ids echoed; the connection keeps working", "RRQ writes only valid frames; answering a bad one with its ids turns a job timeout into a prompt error"),
    def("response_frame_rejected", REC, Needs::Shared, "a response frame sent to the runner -> error unexpected_message, ids echoed; the connection keeps working", "RRQ never sends one"),
    def("sigterm_in_flight", REC, Needs::Own, "SIGTERM with five sleeps in flight on four connections -> each answered error/cancelled, then exit status 0", "RRQ 0.11 SIGTERMs a runner's process group (SIGKILL after a grace); 0.9 never does: answering is a courtesy to whoever sent the requests"),
    def("sigterm_idle", REC, Needs::Own, "SIGTERM with nothing in flight -> exit status 0 within 10 s", "RRQ 0.11 SIGKILLs a runner that outlives the grace (default 5 s)"),
    def("parent_death", R, Needs::Parent, "the runner's parent is SIGKILLed while a request is in flight -> the runner exits within 2 s and its port is free again", "a killed orchestrator leaves its runners behind unless they watch their parent; the next orchestrator cannot bind their ports (both releases fail to start: `port ... is already in use`)"),
];

/// The cases of the suite, for `--list` and the documentation.
pub fn infos() -> Vec<CaseInfo> {
    let mut out: Vec<CaseInfo> = DEFS
        .iter()
        .map(|d| CaseInfo {
            id: format!("behaviour/{}", d.name),
            suite: Suite::Behaviour,
            level: d.level,
            checks: d.checks.to_string(),
            why: d.why.to_string(),
        })
        .collect();
    out.push(CaseInfo {
        id: "behaviour/canonical_bytes".into(),
        suite: Suite::Behaviour,
        level: REC,
        checks: "every response of the cases above is exactly the bytes rrq-protocol writes for it (fields in declaration order, sorted keys, compact, floats as serde_json writes them)".into(),
        why: "RRQ decodes with serde and does not need it; identical bytes let every runner be compared byte for byte".into(),
    });
    out.push(survival_info(Suite::Behaviour));
    out
}

/// The `<suite>/survival` case of a suite.
pub fn survival_info(suite: Suite) -> CaseInfo {
    CaseInfo {
        id: format!("{}/survival", suite.name()),
        suite,
        level: R,
        checks: "after every case of the suite the runner process is alive and answers a fresh request on a new connection correctly".into(),
        why: "a runner that dies on what a client sends takes every job in flight with it".into(),
    }
}

/// Runs the selected cases; each verdict is handed to `emit` as soon as it is known.
pub async fn run(env: &mut Env, emit: &mut dyn FnMut(Verdict)) {
    let version = env.version();
    let mut canonical: Vec<String> = Vec::new();
    let mut survival: Vec<String> = Vec::new();
    let mut ran_any = false;
    for d in DEFS {
        let id = format!("behaviour/{}", d.name);
        if !env.settings.wants(d.level, &id) {
            continue;
        }
        ran_any = true;
        let verdict = Verdict::new(id, Suite::Behaviour, d.level);
        let verdict = match d.needs {
            Needs::Shared if d.name == "quiet_start" && !env.has_command() => verdict.skip(
                "needs a runner command (--runner): it watches the runner's output from its start",
            ),
            Needs::Shared => match env.shared_addr().await {
                Ok(addr) => {
                    let mut cx = Cx::new(version, addr);
                    let outcome = if d.name == "quiet_start" {
                        quiet_start(env, &mut cx).await
                    } else {
                        shared_case(d.name, &mut cx).await
                    };
                    if let Some(problem) = env.survival(addr, None, d.name).await {
                        survival.push(format!("{}: {problem}", d.name));
                        cx.p.push(problem);
                    }
                    canonical.extend(cx.canon.iter().map(|c| format!("{}: {c}", d.name)));
                    verdict.with_problems(cx.p).outcome(outcome)
                }
                Err(e) => verdict.with_problems(vec![format!("the runner is unavailable: {e}")]),
            },
            Needs::Own | Needs::Parent if !env.has_command() => {
                verdict.skip("needs a runner command (--runner): it signals or kills the runner")
            }
            Needs::Own | Needs::Parent => {
                let started = if d.needs == Needs::Own {
                    env.fresh_runner().await
                } else {
                    env.runner_with_parent().await
                };
                match started {
                    Ok(mut runner) => {
                        let mut cx = Cx::new(version, runner.addr());
                        let outcome = own_case(d.name, &mut runner, &mut cx).await;
                        runner.stop(Duration::from_secs(2)).await;
                        canonical.extend(cx.canon.iter().map(|c| format!("{}: {c}", d.name)));
                        let facts = std::mem::take(&mut cx.facts);
                        verdict.with_problems(cx.p).outcome(outcome).facts(facts)
                    }
                    Err(e) => {
                        verdict.with_problems(vec![format!("the runner could not be started: {e}")])
                    }
                }
            }
        };
        emit(verdict);
    }
    if !ran_any {
        return;
    }
    if env.settings.wants(REC, "behaviour/canonical_bytes") {
        let n = canonical.len();
        let mut v = Verdict::new("behaviour/canonical_bytes", Suite::Behaviour, REC)
            .with_problems(canonical);
        if n == 0 {
            v = v.note("every response in canonical bytes");
        }
        emit(v);
    }
    if env.settings.wants(R, "behaviour/survival") {
        emit(Verdict::new("behaviour/survival", Suite::Behaviour, R).with_problems(survival));
    }
    env.drop_shared();
}

/// A case's state: where the runner is, what went wrong (`p`), the responses that were not in
/// canonical bytes (`canon`, reported by `behaviour/canonical_bytes`).
struct Cx {
    v: Version,
    addr: SocketAddr,
    p: Vec<String>,
    canon: Vec<String>,
    facts: Vec<(String, Value)>,
}

impl Cx {
    fn new(v: Version, addr: SocketAddr) -> Cx {
        Cx {
            v,
            addr,
            p: Vec::new(),
            canon: Vec::new(),
            facts: Vec::new(),
        }
    }

    fn req(&self, job: &str, rid: &str, function: &str) -> Request {
        Request::new(self.v, job, rid, function)
    }

    fn sleep(&self, job: &str, rid: &str, seconds: Value) -> Request {
        self.req(job, rid, "sleep")
            .named(json!({ "seconds": seconds }))
    }

    fn cancel(&self, job: &str, rid: Option<&str>, hard_kill: bool) -> Cancel {
        Cancel::new(self.v, job, rid, hard_kill)
    }
}

async fn shared_case(name: &str, cx: &mut Cx) -> Out {
    match name {
        "echo_text" => echo_text(cx).await,
        "echo_numbers" => echo_numbers(cx).await,
        "echo_nested" => echo_nested(cx).await,
        "fail_with_message" => fail_with_message(cx).await,
        "fail_default_message" => fail_default_message(cx).await,
        "retry_after" => retry(cx, json!(2.5), 2.5).await,
        "retry_whole_seconds" => retry(cx, json!(30), 30.0).await,
        "unknown_function" => unknown_function(cx).await,
        "unsupported_protocol_version" => unsupported_protocol_version(cx).await,
        "deadline_past" => deadline_past(cx).await,
        "deadline_passes" => deadline_passes(cx).await,
        "cancel_by_request_id" => cancel_by_request_id(cx).await,
        "cancel_by_job_id" => cancel_by_job_id(cx).await,
        "cancel_hard_kill" => cancel_hard_kill(cx).await,
        "cancel_on_request_connection" => cancel_on_request_connection(cx).await,
        "cancel_unknown_ignored" => cancel_unknown_ignored(cx).await,
        "probe_harmless" => probe_harmless(cx).await,
        "sequential_one_connection" => sequential_one_connection(cx).await,
        "pipelined_64_one_connection" => pipelined_64(cx).await,
        "concurrent_connections" => concurrent_connections(cx).await,
        "busy_beyond_in_flight_limit" => busy_beyond_limit(cx).await,
        "invalid_frame_answered" => invalid_frame_answered(cx).await,
        "response_frame_rejected" => response_frame_rejected(cx).await,
        other => {
            cx.p.push(format!("no such shared case: {other}"));
            Out::Json(Value::Null)
        }
    }
}

async fn own_case(name: &str, runner: &mut Runner, cx: &mut Cx) -> Out {
    match name {
        "sigterm_in_flight" => sigterm_in_flight(runner, cx).await,
        "sigterm_idle" => sigterm_idle(runner, cx).await,
        "parent_death" => parent_death(runner, cx).await,
        other => {
            cx.p.push(format!("no such case: {other}"));
            Out::Json(Value::Null)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking responses

/// Pause that lets a runner read and start a request before we cancel or signal it.
const SETTLE: Duration = Duration::from_millis(400);

/// What `error.type` must be.
#[derive(Clone, Copy)]
enum ErrType {
    /// No error object at all (success).
    Absent,
    /// Exactly this type.
    Is(&'static str),
    /// Anything the handler chose, but present and not one of the runner's own types.
    Handler,
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

/// Checks status, error/result presence and error type (problems) and the canonical bytes
/// (`canon`); returns the outcome to print (the canonical payload).
fn check(cx: &mut Cx, label: &str, r: &Received, status: OutcomeStatus, err: ErrType) -> Out {
    if !r.is_canonical() {
        cx.canon.push(format!(
            "{label}: not in canonical bytes: got {} expected {}",
            r.show(),
            String::from_utf8_lossy(&r.canonical)
        ));
    }
    let o = &r.outcome;
    if o.status != status {
        cx.p.push(format!(
            "{label}: expected status {}, got {}",
            status_name(status),
            r.show()
        ));
    }
    if status == OutcomeStatus::Success && o.result.is_none() {
        cx.p.push(format!(
            "{label}: a success must carry a result, got {}",
            r.show()
        ));
    }
    match err {
        ErrType::Absent => {
            if o.error.is_some() {
                cx.p.push(format!("{label}: expected no error, got {}", r.show()));
            }
        }
        ErrType::Is(t) => match &o.error {
            Some(e) if e.error_type.as_deref() == Some(t) => {
                if e.message.is_empty() {
                    cx.p.push(format!("{label}: the error message is empty: {}", r.show()));
                }
            }
            _ => cx.p.push(format!(
                "{label}: expected error.type {t:?}, got {}",
                r.show()
            )),
        },
        ErrType::Handler => match &o.error {
            Some(e) => {
                if let Some(t) = e.error_type.as_deref() {
                    if ERROR_TYPES.iter().any(|(name, _)| *name == t) {
                        cx.p.push(format!("{label}: error.type is one of the runner's own types, not the handler's: {}", r.show()));
                    }
                }
            }
            None => cx.p.push(format!(
                "{label}: expected an error object, got {}",
                r.show()
            )),
        },
    }
    Out::Raw(r.payload_bytes())
}

/// The result must be the same value as `expected` (a problem) and exactly its canonical bytes
/// (`canon`).
fn check_result(cx: &mut Cx, label: &str, r: &Received, expected: &Value) {
    let want = value_bytes(expected);
    match &r.outcome.result {
        Some(result) if same_value(result, expected) => {
            if value_bytes(result) != want {
                cx.canon.push(format!(
                    "{label}: the result is the same value but not the same bytes: expected {} in {}",
                    String::from_utf8_lossy(&want),
                    r.show()
                ));
            }
        }
        _ => cx.p.push(format!(
            "{label}: the result differs from the expected {} in {}",
            String::from_utf8_lossy(&want),
            r.show()
        )),
    }
}

fn transport(cx: &mut Cx, label: &str, e: &TransportError) -> Out {
    cx.p.push(format!("{label}: {e}"));
    Out::obj([("transport_error", Out::str(e.kind()))])
}

/// One request on its own connection, expecting a prompt answer of `status` / `err`.
async fn call_expect(
    cx: &mut Cx,
    req: &Request,
    status: OutcomeStatus,
    err: ErrType,
) -> (Out, Option<Received>) {
    match wire::call(cx.v, cx.addr, req, PROMPT).await {
        Ok(r) => (check(cx, &req.request_id, &r, status, err), Some(r)),
        Err(e) => (transport(cx, &req.request_id, &e), None),
    }
}

/// Sends `req` with every object's keys in reverse order (a valid, non-canonical frame).
async fn call_reversed(cx: &Cx, req: &Request) -> Result<Received, TransportError> {
    let value = cx.v.request_value(req);
    let mut body = Vec::new();
    write_reversed(&value, &mut body);
    // What we send must still be exactly this request.
    let back = cx.v.decode(&body).ok().map(|m| cx.v.encode(&m));
    assert_eq!(
        back,
        Some(cx.v.request_body(req)),
        "reordered request changed"
    );
    let deadline = Instant::now() + PROMPT;
    let mut conn = Conn::open(cx.v, cx.addr).await?;
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

fn status_name(status: OutcomeStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Counts of statuses, by name, in a fixed order.
fn status_counts(counts: &BTreeMap<String, usize>) -> Out {
    Out::Obj(
        counts
            .iter()
            .map(|(k, v)| (k.clone(), Out::Json(json!(v))))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Cases

async fn quiet_start(env: &mut Env, cx: &mut Cx) -> Out {
    let Some(runner) = env.shared_runner() else {
        cx.p.push("needs a runner command (--runner): it watches the runner's output".to_string());
        return Out::Json(Value::Null);
    };
    let until = runner.ready_at() + Duration::from_millis(300);
    tokio::time::sleep_until(until).await;
    let lines = runner.output().before(until);
    for line in lines.iter().take(5) {
        cx.p.push(format!("the runner wrote {line:?}"));
    }
    Out::obj([("lines", Out::Json(json!(lines.len())))])
}

async fn echo_case(cx: &mut Cx, id: &str, args: Value, named: Value) -> Out {
    let req = cx
        .req(&format!("job-{id}"), &format!("req-{id}"), "echo")
        .args(args)
        .named(named);
    match call_reversed(cx, &req).await {
        Ok(r) => {
            let out = check(
                cx,
                &req.request_id,
                &r,
                OutcomeStatus::Success,
                ErrType::Absent,
            );
            check_result(cx, &req.request_id, &r, &cx.v.echo_result(&req));
            out
        }
        Err(e) => transport(cx, &req.request_id, &e),
    }
}

async fn echo_text(cx: &mut Cx) -> Out {
    let args = json!([
        "héllo wörld",
        "日本語のテキスト",
        "😀🎉𝄞 astral",
        "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \"quoted\" \\back/slash\\ \u{7f}",
        "\u{2028}\u{2029}\u{feff}\u{ffff}\u{10ffff}",
        "",
        "<script>&'</script>"
    ]);
    let named = json!({
        "ключ": "значение",
        "emoji_😀": "🚀",
        "name": "Zoë",
        "null_char\u{0}": "nul"
    });
    echo_case(cx, "echo-text", args, named).await
}

async fn echo_numbers(cx: &mut Cx) -> Out {
    // Parsed from text so that every literal keeps its JSON kind (integer or float).
    let args: Value = serde_json::from_str(
        "[0, -1, 9007199254740991, 9007199254740992, 9007199254740993, -9007199254740993, \
         9223372036854775807, -9223372036854775808, 9223372036854775808, 18446744073709551615, \
         1.0, -0.0, 0.5, 0.1, 1e-7, 1.5e-7, 0.0001, 0.00001, 1e15, 1e16, 1e21, 123456.789, \
         1.7976931348623157e308, 5e-324, -2.5e-300, 100.0, 3.0e2]",
    )
    .unwrap();
    let named: Value = serde_json::from_str(
        r#"{"max_u64": 18446744073709551615, "min_i64": -9223372036854775808, "float_int": 100.0,
            "nested": {"big": [9223372036854775808, -9007199254740993], "tiny": 5e-324}}"#,
    )
    .unwrap();
    echo_case(cx, "echo-numbers", args, named).await
}

async fn echo_nested(cx: &mut Cx) -> Out {
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
    let named = json!({
        "😀": {"｡": "halfwidth", "😀": "emoji", "\u{ffff}": "max bmp", "\u{10000}": "min astral"},
        "deep": deep,
        "b": {"y": null, "x": [true, false]},
        "a": "first"
    });
    echo_case(cx, "echo-nested", args, named).await
}

async fn fail_with_message(cx: &mut Cx) -> Out {
    let message = "disk full: /var/lib/ünïcode 😀 \"quoted\"";
    let req = cx
        .req("job-fail", "req-fail", "fail")
        .named(json!({ "message": message }));
    let (out, r) = call_expect(cx, &req, OutcomeStatus::Error, ErrType::Handler).await;
    if let Some(r) = r {
        let got = r.outcome.error.as_ref().map(|e| e.message.as_str());
        if got != Some(message) {
            cx.p.push(format!(
                "error.message should be the `message` input {message:?}: {}",
                r.show()
            ));
        }
    }
    out
}

async fn fail_default_message(cx: &mut Cx) -> Out {
    let req = cx.req("job-fail-default", "req-fail-default", "fail");
    let (out, r) = call_expect(cx, &req, OutcomeStatus::Error, ErrType::Handler).await;
    if let Some(r) = r {
        if r.outcome
            .error
            .as_ref()
            .is_some_and(|e| e.message.is_empty())
        {
            cx.p.push(format!("the default message is empty: {}", r.show()));
        }
    }
    out
}

async fn retry(cx: &mut Cx, seconds: Value, expected: f64) -> Out {
    let id = format!("retry-{}", seconds.to_string().replace('.', "_"));
    let req = cx
        .req(&format!("job-{id}"), &format!("req-{id}"), "retry")
        .named(json!({ "seconds": seconds }));
    let (out, r) = call_expect(cx, &req, OutcomeStatus::Retry, ErrType::Handler).await;
    if let Some(r) = r {
        if r.outcome.retry_after_seconds != Some(expected) {
            cx.p.push(format!(
                "retry_after_seconds should be {expected:?}: {}",
                r.show()
            ));
        }
    }
    out
}

async fn unknown_function(cx: &mut Cx) -> Out {
    let req = cx
        .req("job-unknown", "req-unknown", "no_such_handler")
        .args(json!([1]));
    call_expect(
        cx,
        &req,
        OutcomeStatus::Error,
        ErrType::Is("handler_not_found"),
    )
    .await
    .0
}

async fn unsupported_protocol_version(cx: &mut Cx) -> Out {
    let mut req = cx.req("job-version", "req-version", "echo");
    req.protocol_version = "999".to_string();
    call_expect(
        cx,
        &req,
        OutcomeStatus::Error,
        ErrType::Is("unsupported_protocol_version"),
    )
    .await
    .0
}

async fn deadline_past(cx: &mut Cx) -> Out {
    // `fail` would answer `error` if it were called.
    let req = cx
        .req("job-deadline-past", "req-deadline-past", "fail")
        .deadline(Some(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()));
    call_expect(cx, &req, OutcomeStatus::Timeout, ErrType::Is("timeout"))
        .await
        .0
}

async fn deadline_passes(cx: &mut Cx) -> Out {
    let deadline =
        DateTime::<Utc>::from(std::time::SystemTime::now()) + chrono::Duration::seconds(1);
    let req = cx
        .sleep("job-deadline-passes", "req-deadline-passes", json!(30))
        .deadline(Some(deadline));
    let started = Instant::now();
    let (out, r) = call_expect(cx, &req, OutcomeStatus::Timeout, ErrType::Is("timeout")).await;
    let Some(mut r) = r else { return out };
    if started.elapsed() < Duration::from_millis(900) {
        cx.p.push(format!(
            "answered timeout after {:?}, before the deadline",
            started.elapsed()
        ));
    }
    // The deadline is wall-clock time: where a message quotes it, print a placeholder instead.
    if let Some(error) = r.outcome.error.as_mut() {
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
            let ends = (20..=rest.len().min(40))
                .rev()
                .filter(|&end| rest.is_char_boundary(end));
            for end in ends {
                if let Ok(t) = rrq_protocol::timestamp::parse(&rest[..end]) {
                    if (t - instant)
                        .num_microseconds()
                        .is_some_and(|us| us.abs() <= 1000)
                    {
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

type Pending = tokio::task::JoinHandle<Result<Received, TransportError>>;

/// Starts each request on its own connection, in the background.
fn start_calls(cx: &Cx, reqs: &[Request]) -> Vec<Pending> {
    reqs.iter()
        .map(|req| {
            let (req, v, addr) = (req.clone(), cx.v, cx.addr);
            tokio::spawn(async move { wire::call(v, addr, &req, PROMPT).await })
        })
        .collect()
}

/// Collects the results of `start_calls`, checking each against its expectation.
async fn finish_calls(
    cx: &mut Cx,
    reqs: &[Request],
    handles: Vec<Pending>,
    expect: &[(OutcomeStatus, ErrType, Option<Value>)],
) -> Vec<Out> {
    let mut outs = Vec::new();
    for ((req, handle), (status, err, result)) in reqs.iter().zip(handles).zip(expect) {
        let out = match handle.await {
            Ok(Ok(r)) => {
                let out = check(cx, &req.request_id, &r, *status, *err);
                if let Some(result) = result {
                    check_result(cx, &req.request_id, &r, result);
                }
                out
            }
            Ok(Err(e)) => transport(cx, &req.request_id, &e),
            Err(e) => transport(
                cx,
                &req.request_id,
                &TransportError::Closed(format!("task failed: {e}")),
            ),
        };
        outs.push(out);
    }
    outs
}

async fn send_cancel(cx: &mut Cx, cancel: Cancel) {
    if let Err(e) = wire::cancel(cx.v, cx.addr, &cancel).await {
        cx.p.push(format!("sending the cancel: {e}"));
    }
}

const CANCELLED: (OutcomeStatus, ErrType, Option<Value>) =
    (OutcomeStatus::Error, ErrType::Is("cancelled"), None);

fn slept(seconds: f64) -> (OutcomeStatus, ErrType, Option<Value>) {
    (
        OutcomeStatus::Success,
        ErrType::Absent,
        Some(json!({ "slept": seconds })),
    )
}

async fn cancel_by_request_id(cx: &mut Cx) -> Out {
    let job = "job-cancel-rid";
    let reqs = [
        cx.sleep(job, "req-cancel-rid-1", json!(30)),
        cx.sleep(job, "req-cancel-rid-2", json!(1.5)),
    ];
    let handles = start_calls(cx, &reqs);
    sleep(SETTLE).await;
    let cancel = cx.cancel(job, Some("req-cancel-rid-1"), false);
    send_cancel(cx, cancel).await;
    Out::Arr(finish_calls(cx, &reqs, handles, &[CANCELLED, slept(1.5)]).await)
}

async fn cancel_by_job_id(cx: &mut Cx) -> Out {
    let job = "job-cancel-job";
    let reqs = [
        cx.sleep(job, "req-cancel-job-1", json!(30)),
        cx.sleep(job, "req-cancel-job-2", json!(30)),
        cx.sleep("job-cancel-job-other", "req-cancel-job-other", json!(1.5)),
    ];
    let handles = start_calls(cx, &reqs);
    sleep(SETTLE).await;
    let cancel = cx.cancel(job, None, false);
    send_cancel(cx, cancel).await;
    Out::Arr(finish_calls(cx, &reqs, handles, &[CANCELLED, CANCELLED, slept(1.5)]).await)
}

async fn cancel_hard_kill(cx: &mut Cx) -> Out {
    let reqs = [cx.sleep("job-hard-kill", "req-hard-kill", json!(30))];
    let handles = start_calls(cx, &reqs);
    sleep(SETTLE).await;
    let cancel = cx.cancel("job-hard-kill", Some("req-hard-kill"), true);
    send_cancel(cx, cancel).await;
    Out::Arr(finish_calls(cx, &reqs, handles, &[CANCELLED]).await)
}

async fn cancel_on_request_connection(cx: &mut Cx) -> Out {
    let job = "job-cancel-same-conn";
    let reqs = [
        cx.sleep(job, "req-cancel-same-conn-1", json!(30)),
        cx.sleep(job, "req-cancel-same-conn-2", json!(1.0)),
    ];
    let mut conn = match Conn::open(cx.v, cx.addr).await {
        Ok(c) => c,
        Err(e) => return transport(cx, "connect", &e),
    };
    for req in &reqs {
        if let Err(e) = conn.send(req).await {
            return transport(cx, &req.request_id, &e);
        }
    }
    sleep(SETTLE).await;
    if let Err(e) = conn
        .send_cancel(&cx.cancel(job, Some("req-cancel-same-conn-1"), false))
        .await
    {
        return transport(cx, "the cancel", &e);
    }
    let deadline = Instant::now() + PROMPT;
    let mut got: BTreeMap<String, Out> = BTreeMap::new();
    for _ in 0..reqs.len() {
        match conn.recv_response(deadline).await {
            Ok(r) => {
                let rid = r.outcome.request_id.clone().unwrap_or_default();
                let out = if rid == reqs[0].request_id {
                    check(cx, &rid, &r, OutcomeStatus::Error, ErrType::Is("cancelled"))
                } else if rid == reqs[1].request_id {
                    let out = check(cx, &rid, &r, OutcomeStatus::Success, ErrType::Absent);
                    check_result(cx, &rid, &r, &json!({"slept": 1.0}));
                    out
                } else {
                    cx.p.push(format!("a response for no request sent: {}", r.show()));
                    Out::Raw(r.payload_bytes())
                };
                if r.outcome.job_id.as_deref() != Some(job) {
                    cx.p.push(format!("{rid}: wrong job_id: {}", r.show()));
                }
                if got.insert(rid.clone(), out).is_some() {
                    cx.p.push(format!("{rid} answered twice"));
                }
            }
            Err(e) => {
                got.insert(
                    "~transport_error".into(),
                    transport(cx, "reading the responses", &e),
                );
                break;
            }
        }
    }
    Out::Arr(got.into_values().collect())
}

async fn cancel_unknown_ignored(cx: &mut Cx) -> Out {
    let a = cx.cancel("job-never-seen", Some("req-never-seen"), false);
    send_cancel(cx, a).await;
    let b = cx.cancel("job-never-seen", None, true);
    send_cancel(cx, b).await;
    // And on a connection that then carries a request: the cancel gets no answer.
    let req = cx
        .req("job-after-cancel", "req-after-cancel", "echo")
        .args(json!(["still here"]));
    let result = async {
        let mut conn = Conn::open(cx.v, cx.addr).await?;
        conn.send_cancel(&cx.cancel("job-never-seen-2", None, false))
            .await?;
        conn.send(&req).await?;
        let r = conn.recv_response(Instant::now() + PROMPT).await?;
        r.check_ids(&req.job_id, &req.request_id)?;
        Ok::<_, TransportError>(r)
    }
    .await;
    match result {
        Ok(r) => {
            let out = check(
                cx,
                &req.request_id,
                &r,
                OutcomeStatus::Success,
                ErrType::Absent,
            );
            check_result(cx, &req.request_id, &r, &cx.v.echo_result(&req));
            out
        }
        Err(e) => transport(cx, &req.request_id, &e),
    }
}

async fn probe_harmless(cx: &mut Cx) -> Out {
    for i in 0..5 {
        if !wire::probe(cx.addr).await {
            cx.p.push(format!("probe {i} was not accepted"));
        }
    }
    let req = cx
        .req("job-after-probe", "req-after-probe", "echo")
        .args(json!(["probed"]));
    let (out, r) = call_expect(cx, &req, OutcomeStatus::Success, ErrType::Absent).await;
    if let Some(r) = r {
        check_result(cx, &req.request_id, &r, &cx.v.echo_result(&req));
    }
    out
}

async fn sequential_one_connection(cx: &mut Cx) -> Out {
    let mut outs = Vec::new();
    let mut conn = match Conn::open(cx.v, cx.addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(cx, "connect", &e),
    };
    for i in 0..5 {
        let req = cx
            .req("job-sequential", &format!("req-sequential-{i}"), "echo")
            .args(json!([i]));
        let result = async {
            conn.send(&req).await?;
            let r = conn.recv_response(Instant::now() + PROMPT).await?;
            r.check_ids(&req.job_id, &req.request_id)?;
            Ok::<_, TransportError>(r)
        }
        .await;
        match result {
            Ok(r) => {
                outs.push(check(
                    cx,
                    &req.request_id,
                    &r,
                    OutcomeStatus::Success,
                    ErrType::Absent,
                ));
                check_result(cx, &req.request_id, &r, &cx.v.echo_result(&req));
            }
            Err(e) => {
                outs.push(transport(cx, &req.request_id, &e));
                break;
            }
        }
    }
    Out::Arr(outs)
}

async fn pipelined_64(cx: &mut Cx) -> Out {
    const N: usize = 64;
    let job = "job-pipelined";
    let mut expected: HashMap<String, Value> = HashMap::new();
    let mut frames = Vec::new();
    for i in 0..N {
        let rid = format!("req-pipelined-{i:03}");
        let req = if i % 2 == 0 {
            // Later requests finish first.
            cx.sleep(job, &rid, json!(((N - i) as f64) * 0.005))
        } else {
            cx.req(job, &rid, "echo").args(json!([i, "x"]))
        };
        let result = if i % 2 == 0 {
            json!({ "slept": req.named["seconds"] })
        } else {
            cx.v.echo_result(&req)
        };
        expected.insert(rid, result);
        frames.extend(cx.v.request_frame(&req));
    }
    let mut conn = match Conn::open(cx.v, cx.addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(cx, "connect", &e),
    };
    if let Err(e) = conn.write_bytes(&frames).await {
        return transport(cx, "write", &e);
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
                check(cx, &label, &r, OutcomeStatus::Success, ErrType::Absent);
                if r.outcome.job_id.as_deref() != Some(job) {
                    cx.p.push(format!("{label}: wrong job_id: {}", r.show()));
                }
                match expected.get(&rid) {
                    Some(result) => check_result(cx, &label, &r, result),
                    None => cx.p.push(format!(
                        "{label}: the request_id matches no request: {}",
                        r.show()
                    )),
                }
                *seen.entry(rid).or_default() += 1;
            }
            Err(e) => {
                transport_error = Some(transport(cx, "reading responses", &e));
                break;
            }
        }
    }
    for (rid, n) in &seen {
        if *n > 1 {
            cx.p.push(format!("{rid} answered {n} times"));
        }
    }
    let missing = expected
        .keys()
        .filter(|rid| !seen.contains_key(*rid))
        .count();
    if missing > 0 {
        cx.p.push(format!("{missing} requests never answered"));
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

async fn concurrent_connections(cx: &mut Cx) -> Out {
    const N: usize = 50;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..N {
        let seconds = json!(0.3 + (i as f64) / 1000.0);
        let req = cx.sleep(
            &format!("job-concurrent-{i:02}"),
            &format!("req-concurrent-{i:02}"),
            seconds.clone(),
        );
        let (v, addr) = (cx.v, cx.addr);
        set.spawn(async move {
            (
                req.request_id.clone(),
                seconds,
                wire::call(v, addr, &req, PROMPT).await,
            )
        });
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut answered = 0;
    while let Some(joined) = set.join_next().await {
        let Ok((rid, seconds, result)) = joined else {
            cx.p.push("a connection task failed".to_string());
            continue;
        };
        match result {
            Ok(r) => {
                answered += 1;
                *counts.entry(status_name(r.outcome.status)).or_default() += 1;
                check(cx, &rid, &r, OutcomeStatus::Success, ErrType::Absent);
                check_result(cx, &rid, &r, &json!({ "slept": seconds }));
            }
            Err(e) => {
                *counts
                    .entry(format!("transport_error:{}", e.kind()))
                    .or_default() += 1;
                cx.p.push(format!("{rid}: {e}"));
            }
        }
    }
    // Run one after another they would take over 15 s.
    if started.elapsed() > Duration::from_secs(8) {
        cx.p.push(format!(
            "50 sleeps of ~0.3 s took {:?}: not run concurrently",
            started.elapsed()
        ));
    }
    Out::obj([
        ("connections", Out::Json(json!(N))),
        ("answered", Out::Json(json!(answered))),
        ("statuses", status_counts(&counts)),
    ])
}

/// The runtime contract's default per-connection in-flight limit.
const DEFAULT_IN_FLIGHT_LIMIT: usize = 1024;

async fn busy_beyond_limit(cx: &mut Cx) -> Out {
    let job = "job-busy";
    let mut frames = Vec::new();
    for i in 0..=DEFAULT_IN_FLIGHT_LIMIT {
        frames.extend(cx.v.request_frame(&cx.sleep(job, &format!("req-busy-{i:04}"), json!(5))));
    }
    let last = format!("req-busy-{DEFAULT_IN_FLIGHT_LIMIT:04}");
    let mut conn = match Conn::open(cx.v, cx.addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(cx, "connect", &e),
    };
    if let Err(e) = conn.write_bytes(&frames).await {
        return transport(cx, "write", &e);
    }
    // The sleeps take 5 s: anything sooner is the busy answer.
    let busy = match conn
        .recv_response(Instant::now() + Duration::from_secs(4))
        .await
    {
        Ok(r) => {
            if let Err(e) = r.check_ids(job, &last) {
                cx.p.push(format!(
                    "the busy answer should be for the last request: {e}"
                ));
            }
            check(cx, &last, &r, OutcomeStatus::Error, ErrType::Is("busy"))
        }
        Err(e) => transport(cx, "waiting for the busy answer", &e),
    };
    drop(conn);
    // Closing cancelled the 1024 sleeps; the runner keeps serving.
    let req = cx.req("job-after-busy", "req-after-busy", "echo");
    let (after, _) = call_expect(cx, &req, OutcomeStatus::Success, ErrType::Absent).await;
    Out::obj([("busy", busy), ("next_connection", after)])
}

/// Sends `body` as a frame on a new connection and reads one response, which must carry `ids`
/// and be an error of type `error_type` (whose message contains `path`, when given); then
/// checks that the same connection still serves an echo.
async fn bad_frame_then_echo(
    cx: &mut Cx,
    body: &[u8],
    ids: (&str, &str),
    error_type: &'static str,
    path: Option<String>,
) -> Out {
    let mut conn = match Conn::open(cx.v, cx.addr).await {
        Ok(conn) => conn,
        Err(e) => return transport(cx, "connect", &e),
    };
    let first = match async {
        conn.send_body(body).await?;
        conn.recv_response(Instant::now() + PROMPT).await
    }
    .await
    {
        Ok(r) => {
            if let Err(e) = r.check_ids(ids.0, ids.1) {
                cx.p.push(format!("ids not echoed: {e}"));
            }
            let out = check(
                cx,
                error_type,
                &r,
                OutcomeStatus::Error,
                ErrType::Is(error_type),
            );
            if let (Some(path), Some(e)) = (&path, &r.outcome.error) {
                if !e.message.contains(path.as_str()) {
                    cx.p.push(format!(
                        "error.message should name the field path {path:?}: {}",
                        r.show()
                    ));
                }
            }
            out
        }
        Err(e) => return transport(cx, error_type, &e),
    };
    let req = cx
        .req("job-after-bad-frame", "req-after-bad-frame", "echo")
        .args(json!(["again"]));
    let second = match async {
        conn.send(&req).await?;
        let r = conn.recv_response(Instant::now() + PROMPT).await?;
        r.check_ids(&req.job_id, &req.request_id)?;
        Ok::<_, TransportError>(r)
    }
    .await
    {
        Ok(r) => {
            let out = check(
                cx,
                "echo after",
                &r,
                OutcomeStatus::Success,
                ErrType::Absent,
            );
            check_result(cx, "echo after", &r, &cx.v.echo_result(&req));
            out
        }
        Err(e) => transport(cx, "echo after", &e),
    };
    Out::Arr(vec![first, second])
}

async fn invalid_frame_answered(cx: &mut Cx) -> Out {
    let req = cx.req("job-invalid", "req-invalid", "echo");
    let mut value = cx.v.request_value(&req);
    value["payload"]["context"]["attempt"] = json!(-1);
    let mut body = Vec::new();
    write_sorted(&value, &mut body);
    // The message must name the field path the Rust decoder names.
    let path = match cx.v.decode(&body) {
        Err(FrameError::Invalid(e)) => e.path(),
        other => panic!("the Rust decoder should reject attempt = -1, got {other:?}"),
    };
    bad_frame_then_echo(
        cx,
        &body,
        ("job-invalid", "req-invalid"),
        "invalid_frame",
        Some(path),
    )
    .await
}

async fn response_frame_rejected(cx: &mut Cx) -> Out {
    let outcome = ExecutionOutcome::success("job-stray-response", "req-stray-response", json!(1));
    let body = cx.v.response_body(&outcome);
    bad_frame_then_echo(
        cx,
        &body,
        ("job-stray-response", "req-stray-response"),
        "unexpected_message",
        None,
    )
    .await
}

async fn sigterm_in_flight(runner: &mut Runner, cx: &mut Cx) -> Out {
    let reqs: Vec<Request> = (0..3)
        .map(|i| {
            cx.sleep(
                &format!("job-sigterm-{i}"),
                &format!("req-sigterm-{i}"),
                json!(30),
            )
        })
        .collect();
    let handles = start_calls(cx, &reqs);
    // Two more in flight on one shared connection.
    let shared: Vec<Request> = (3..5)
        .map(|i| {
            cx.sleep(
                &format!("job-sigterm-{i}"),
                &format!("req-sigterm-{i}"),
                json!(30),
            )
        })
        .collect();
    let mut conn = Conn::open(cx.v, cx.addr).await;
    if let Ok(conn) = conn.as_mut() {
        for req in &shared {
            if let Err(e) = conn.send(req).await {
                cx.p.push(format!("{}: {e}", req.request_id));
            }
        }
    }
    sleep(SETTLE).await;
    if let Err(e) = runner.signal(libc::SIGTERM) {
        cx.p.push(format!("could not SIGTERM the runner: {e}"));
    }
    let mut outs = finish_calls(cx, &reqs, handles, &[CANCELLED, CANCELLED, CANCELLED]).await;
    match conn {
        Ok(mut conn) => {
            let deadline = Instant::now() + PROMPT;
            let mut got: BTreeMap<String, Out> = BTreeMap::new();
            for _ in &shared {
                match conn.recv_response(deadline).await {
                    Ok(r) => {
                        let rid = r.outcome.request_id.clone().unwrap_or_default();
                        let out =
                            check(cx, &rid, &r, OutcomeStatus::Error, ErrType::Is("cancelled"));
                        if !shared.iter().any(|q| {
                            q.request_id == rid && r.check_ids(&q.job_id, &q.request_id).is_ok()
                        }) {
                            cx.p.push(format!("a response that matches no request: {}", r.show()));
                        }
                        got.insert(rid, out);
                    }
                    Err(e) => {
                        outs.push(transport(cx, "shared connection", &e));
                        break;
                    }
                }
            }
            outs.extend(got.into_values());
        }
        Err(e) => outs.push(transport(cx, "shared connection", &e)),
    }
    let status = runner.wait(PROMPT).await;
    if !status.is_some_and(|s| s.success()) {
        cx.p.push(format!(
            "the runner should exit 0 after SIGTERM, got {}",
            exit_text(status)
        ));
    }
    Out::obj([("responses", Out::Arr(outs)), ("exit", exit_out(status))])
}

fn exit_text(status: Option<ExitStatus>) -> String {
    status.map_or("no exit within 10 s".to_string(), |s| s.to_string())
}

async fn sigterm_idle(runner: &mut Runner, cx: &mut Cx) -> Out {
    if let Err(e) = runner.signal(libc::SIGTERM) {
        cx.p.push(format!("could not SIGTERM the runner: {e}"));
    }
    let status = runner.wait(PROMPT).await;
    if !status.is_some_and(|s| s.success()) {
        cx.p.push(format!(
            "the runner should exit 0 after SIGTERM, got {}",
            exit_text(status)
        ));
    }
    Out::obj([("exit", exit_out(status))])
}

async fn parent_death(runner: &mut Runner, cx: &mut Cx) -> Out {
    const WITHIN: Duration = Duration::from_secs(2);
    let addr = cx.addr;
    // A request in flight, as when an orchestrator is killed mid-job.
    let mut conn = Conn::open(cx.v, addr).await.ok();
    if let Some(c) = conn.as_mut() {
        let _ = c
            .send(&cx.sleep("job-parent-death", "req-parent-death", json!(30)))
            .await;
    }
    sleep(Duration::from_millis(200)).await;
    if let Err(e) = runner.kill_parent() {
        cx.p.push(format!("could not kill the runner's parent: {e}"));
        return Out::Json(Value::Null);
    }
    let killed = Instant::now();
    let mut exited = None;
    while killed.elapsed() < Duration::from_secs(5) {
        if runner.runner_gone() {
            exited = Some(killed.elapsed());
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    drop(conn);
    let mut port_free = false;
    if exited.is_some() {
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            if !crate::process::port_taken(addr) {
                port_free = true;
                break;
            }
            sleep(Duration::from_millis(20)).await;
        }
    }
    match exited {
        Some(after) if after <= WITHIN => {
            cx.facts.push((
                "exit_ms_after_parent_death".into(),
                json!(after.as_millis() as u64),
            ));
        }
        Some(after) => cx.p.push(format!(
            "the runner exited {} ms after its parent died, later than {} s",
            after.as_millis(),
            WITHIN.as_secs()
        )),
        None => cx.p.push(
            "the runner still runs 5 s after its parent died (it does not watch its parent)"
                .to_string(),
        ),
    }
    if exited.is_some() && !port_free {
        cx.p.push(format!(
            "the runner exited but {addr} is still taken a second later"
        ));
    }
    Out::obj([
        (
            "exited",
            Out::Json(json!(exited.is_some_and(|t| t <= WITHIN))),
        ),
        ("port_free", Out::Json(json!(port_free))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_timestamp_replaces_the_instant_in_any_format_only() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 16, 21, 43).unwrap()
            + chrono::Duration::nanoseconds(794_552_123);
        for text in [
            "2026-11-25T16:21:43.794552123Z",
            "2026-11-25T16:21:43.794552+00:00",
            "2026-11-25T17:21:43.794+01:00",
        ] {
            assert_eq!(
                mask_timestamp(&format!("the deadline {text} passed"), t, "<d>"),
                "the deadline <d> passed"
            );
        }
        let other = "the deadline 2026-11-25T16:21:45Z passed; 2026 é";
        assert_eq!(mask_timestamp(other, t, "<d>"), other);
    }

    #[test]
    fn every_case_has_a_unique_name() {
        let mut names: Vec<&str> = DEFS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DEFS.len());
    }
}
