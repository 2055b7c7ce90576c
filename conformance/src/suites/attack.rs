//! The framing and hostile suites: what a runner must survive on its socket.
//!
//! Each scenario attacks a runner over loopback TCP (bad length headers, malformed bodies, slow
//! senders and readers, floods of connections and requests), then the harness checks what every
//! scenario shares:
//!
//! - the runner process is still alive and answers a fresh request on a new connection (also
//!   reported by the suite's required `survival` case);
//! - every well-formed request got exactly one response, correlated by its ids, and no
//!   connection received a frame it was not owed;
//! - a frame of sound length with bad content is answered exactly as the answering rule says
//!   ([`crate::answering`]): an `error` outcome of type `invalid_frame` (`unexpected_message`
//!   for a `response` frame) with the ids the rule reads, or nothing; only a framing error
//!   (length 0 or above `MAX_FRAME_LEN`) closes the connection;
//! - memory stays bounded (the `.memory` cases, when the suite started the runner): the resident
//!   set of the runner's process group is sampled every 20 ms; its growth over the scenario
//!   (peak minus the value before it) must stay within the scenario's budget, stated with its
//!   reason.

use crate::answering::answerable_ids;
use crate::case::{CaseInfo, Level, Suite, Verdict};
use crate::env::{Env, PROMPT};
use crate::process::{group_rss_kib, Sampler};
use crate::version::{frame_of, Cancel, Request, Version};
use crate::wire::{self, parse_response, Framer, Received};
use rrq_protocol::outcome::{ExecutionOutcome, OutcomeStatus};
use rrq_protocol::{FrameError, MAX_FRAME_LEN};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, timeout_at, Instant};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// How long a connection is watched for frames it is not owed once its answers are in.
const QUIET: Duration = Duration::from_millis(150);
/// How soon a runner must close a connection after a framing error.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);
/// Longest a whole scenario may take before it counts as a hang.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// One scenario of the framing or hostile suite.
pub struct Scenario {
    pub name: &'static str,
    pub suite: Suite,
    pub level: Level,
    pub description: &'static str,
    /// Why the scenario has its level.
    pub why: &'static str,
    /// Largest growth of the runner's resident set allowed during the scenario, in bytes.
    pub budget: u64,
    /// Why that budget.
    pub budget_why: &'static str,
}

const R: Level = Level::Required;
const REC: Level = Level::Recommended;
const F: Suite = Suite::Framing;
const H: Suite = Suite::Hostile;

#[allow(clippy::too_many_arguments)]
const fn scenario(
    name: &'static str,
    suite: Suite,
    level: Level,
    description: &'static str,
    why: &'static str,
    budget: u64,
    budget_why: &'static str,
) -> Scenario {
    Scenario {
        name,
        suite,
        level,
        description,
        why,
        budget,
        budget_why,
    }
}

/// Budget for scenarios that send only small frames: nothing they send justifies more than a
/// few buffers and the interpreter's own churn (V8's young generation alone grows to two 16 MiB
/// semispaces under allocation pressure); a runner that allocated what a bad header announces
/// (4 GiB) or kept what it was sent would blow it.
const SMALL: u64 = 32 * MIB;
const SMALL_WHY: &str = "small frames only: a few read buffers and the interpreter's own churn (V8's young generation: 2 x 16 MiB)";

/// Memory a runner may need per byte of a large frame it decodes plus the response it encodes:
/// an interpreter boxes values (a 2-byte `0,` becomes a pointer and maybe an object). Node's own
/// `JSON.parse` + `JSON.stringify` of a MAX_FRAME_LEN frame of 8 million zeros grow its RSS by
/// ~170 MiB (5 per byte in + out); 16 leaves room for a decoder that checks every value.
const PER_BYTE: u64 = 16;

/// The slow reader: frames of this many bytes of payload, this many of them.
const SLOW_READER_FRAME: usize = 256 * 1024;
const SLOW_READER_FRAMES: usize = 256;
/// Largest RSS growth while the slow reader does not read.
const SLOW_READER_PAUSED_BUDGET: u64 = 16 * MIB;

const CONTENT_WHY: &str = "RRQ writes only valid frames; answering a bad one at once (with the ids the rule reads) on a connection that keeps working turns a job timeout into a prompt error";
const FRAMING_WHY: &str = "a runner must not allocate what a length header announces, nor stay out of step with the stream: RRQ's frames are at most MAX_FRAME_LEN";

/// Every scenario, in the order they run.
pub const SCENARIOS: &[Scenario] = &[
    scenario("length_over_max", F, R, "a length header of 0xFFFFFFFF (then a valid request), one of MAX_FRAME_LEN+1 sent without a body, and 50 0xFFFFFFFF headers at once -> each connection closed at once without an answer; requests in flight on another connection still succeed", FRAMING_WHY, SMALL, "the announced 4 GiB must never be allocated"),
    scenario("length_zero", F, R, "a length header of 0 (alone, and between two valid requests in one write) -> connection closed, the request after it never answered", FRAMING_WHY, SMALL, SMALL_WHY),
    scenario("split_writes", F, R, "a request written in pieces (2 bytes of header, the rest of the header and half the body, the rest 50 ms apart), 20 frames in one write, and frames whose boundaries fall inside writes -> every request answered once", "TCP keeps no write boundaries: RRQ's frames may arrive in any pieces", SMALL, SMALL_WHY),
    scenario("truncated_then_close", F, REC, "half a frame (and half a header) then FIN, or then RST -> the runner closes quietly, no answer", "a runner that keeps half-closed connections open holds their file descriptors", SMALL, SMALL_WHY),
    scenario("max_frame_len", F, R, "a body of exactly MAX_FRAME_LEN (a request padded with whitespace) -> answered; a header of MAX_FRAME_LEN+1 -> closed", "MAX_FRAME_LEN is the protocol's limit: RRQ may send a frame of exactly that size", PER_BYTE * 16 * MIB, "16 bytes per byte of the 16 MiB frame in (the response is small)"),
    scenario("oversized_response", F, REC, "an echo whose canonical response exceeds MAX_FRAME_LEN (900 000 x 1e15 -> 1000000000000000.0) -> an error outcome with the ids instead, never an oversized frame", "RRQ rejects a frame above MAX_FRAME_LEN as a transport error; an error outcome says why", PER_BYTE * 20 * MIB, "16 bytes per byte of the 4.3 MiB frame in plus the 16 MiB response the runner builds before finding it too large"),
    scenario("invalid_utf8", H, REC, "bodies with invalid UTF-8 (garbage; overlong, cut, surrogate and beyond-U+10FFFF sequences with the ids intact: no answer) or lone surrogate escapes (an id holding one is not echoed), each followed at once by a valid request on the same connection", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("invalid_json", H, REC, "bodies that are not JSON (cut, trailing bytes, trailing comma, BOM, NaN, -Infinity, 01, raw tab: no answer) or that only the lenient reading accepts (1e400, a 5000-digit integer, nesting 200, 100 000 and 1 000 000 deep: invalid_frame with the ids), each followed at once by a valid request", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("answering_rule_keys", H, REC, "how the answering rule finds the ids: keys compared after unescaping, the last of duplicate payloads / ids wins, only payload's own members count", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("json_array", H, REC, "JSON arrays as the body (empty, numbers, a request wrapped in an array), each followed at once by a valid request", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("payload_null", H, REC, "payload null / absent / a string / an array, and bodies null, 42, \"x\", {} (ids unreadable: no answer), while requests are in flight on another connection", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("unknown_type", H, REC, "type \"bogus\", \"Request\", null, absent, with readable ids -> invalid_frame with the ids echoed", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("request_missing_fields", H, REC, "requests missing function_name, context, context.enqueue_time, request_id, job_id, both ids, or with wrong field types -> invalid_frame naming the field, the readable ids echoed", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("response_and_cancel_frames", H, REC, "a response frame (-> unexpected_message, ids echoed; a malformed one -> invalid_frame) and cancel frames (-> no answer) where a request was expected", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("bad_frames_pipelined", H, REC, "every bad body of the content scenarios interleaved with valid requests, all in one write on one connection -> every valid request and every answerable bad frame answered exactly once", CONTENT_WHY, SMALL, SMALL_WHY),
    scenario("unknown_cancels", H, R, "1000 cancels for unknown job/request ids (and an unknown request_id of a job in flight) on the busy connection and on others -> nothing cancelled, no answer to any cancel", "RRQ sends cancels for requests that may have finished; a cancel is never answered and cancels only what it names", SMALL, SMALL_WHY),
    scenario("idle_connections_500", H, REC, "500 connections opened and held idle -> fresh requests served promptly meanwhile; 50 of the idle connections then used", "RRQ holds few connections; other clients may hold many", 32 * MIB, "500 idle connections at up to 64 KiB each (a read buffer, the socket and task objects)"),
    scenario("slowloris", H, REC, "20 connections dribbling a valid request at 1 byte/s for 3 s while other clients are served normally -> others unaffected, the dribbled requests answered once complete", "one slow client must not hold up the others", SMALL, SMALL_WHY),
    scenario("close_before_reading", H, R, "80 clients that send requests (64 KiB echoes, short sleeps; 29 MiB in all) and close at once (FIN, RST, half-close) without reading -> runner unaffected", "RRQ 0.9 closes a request's connection without reading when the job times out", 48 * MIB, "less than the ~58 MiB of requests and responses involved: a runner holding on to what closed connections sent or were owed would exceed it"),
    scenario("in_flight_10000", H, REC, "100 connections x 100 pipelined sleeps of 1 s (10 000 in flight) -> each answered exactly once, concurrently", "more than RRQ sends (at most 64 per connection); a runner should scale or answer busy, never drop", 160 * MIB, "10 000 requests in flight at up to 16 KiB each (decoded request, task/promise, timer, pending response)"),
    scenario("slow_reader", H, REC, "256 echoes of 256 KiB (64 MiB due) on one connection whose reader stops for 1.5 s, then reads everything -> no response dropped, the runner stops reading instead of buffering", "backpressure without loss: a client that reads slowly must neither lose answers nor make the runner buffer without bound", 60 * MIB, "less than the 64 MiB due: a runner that buffered the responses its reader does not take would hold all of them (the Python runner with its backpressure removed grew by 72-86 MiB)"),
    scenario("max_frame_many_values", H, REC, "a frame of exactly MAX_FRAME_LEN holding 8 million values (inputs [0,0,...]) -> answered with the echo", "the largest frame RRQ may send, in its most expensive shape", 1024 * MIB, "the Rust reference runner's own footprint (~800 MiB: serde_json::Value is 32 bytes per value, held as request, result and response) plus a quarter"),
    scenario("large_frame_others_served", H, REC, "the frame of max_frame_many_values while small requests are made on other connections, one every 100 ms -> the frame answered with its echo, and no other request waits more than a quarter of the frame's own answer time (or 1 s, if more)", "a runner decoding one large frame must go on serving the rest: RRQ's other jobs must not time out behind a large one", 1024 * MIB, "as max_frame_many_values"),
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The cases of `suite` (each scenario, its `.memory` case, the suite's `survival`).
pub fn infos(suite: Suite) -> Vec<CaseInfo> {
    let mut out = Vec::new();
    for s in SCENARIOS.iter().filter(|s| s.suite == suite) {
        out.push(CaseInfo {
            id: format!("{}/{}", suite.name(), s.name),
            suite,
            level: s.level,
            checks: s.description.to_string(),
            why: s.why.to_string(),
        });
        out.push(CaseInfo {
            id: format!("{}/{}.memory", suite.name(), s.name),
            suite,
            level: REC,
            checks: format!(
                "the runner's RSS grows by at most {} MiB during `{}` (needs a runner command: the suite samples the runner's process group)",
                s.budget >> 20,
                s.name
            ),
            why: s.budget_why.to_string(),
        });
    }
    out.push(crate::suites::behaviour::survival_info(suite));
    out
}

/// Runs the selected scenarios of `suite`, each against a fresh runner (or the shared one).
pub async fn run_suite(env: &mut Env, suite: Suite, emit: &mut dyn FnMut(Verdict)) {
    let mut survival = Vec::new();
    let mut ran = false;
    for s in SCENARIOS.iter().filter(|s| s.suite == suite) {
        let id = format!("{}/{}", suite.name(), s.name);
        let memory_id = format!("{id}.memory");
        let want_main = env.settings.wants(s.level, &id);
        let want_memory = env.settings.wants(REC, &memory_id);
        if !want_main && !want_memory {
            continue;
        }
        ran = true;
        eprintln!("rrq-conformance: == {id}");
        let fresh = env.has_command() && !env.settings.shared_runner;
        let mut own = None;
        let started = if fresh {
            match env.fresh_runner().await {
                Ok(r) => {
                    let addr = r.addr();
                    own = Some(r);
                    Ok(addr)
                }
                Err(e) => Err(e),
            }
        } else {
            env.shared_addr().await
        };
        let addr = match started {
            Ok(addr) => addr,
            Err(e) => {
                let problem = format!("the runner could not be started: {e}");
                if want_main {
                    emit(Verdict::new(id, suite, s.level).with_problems(vec![problem.clone()]));
                }
                if want_memory {
                    emit(Verdict::new(memory_id, suite, REC).with_problems(vec![problem]));
                }
                continue;
            }
        };
        let pgid = match own.as_ref() {
            Some(r) => Some(r.pgid()),
            None => env.shared_runner().map(|r| r.pgid()),
        };
        let outcome = run(env.version(), s, addr, pgid).await;
        let mut problems = outcome.problems;
        if let Some(problem) = env.survival(addr, own.as_mut(), s.name).await {
            survival.push(format!("{}: {problem}", s.name));
            problems.push(problem);
        }
        if let Some(r) = own.take() {
            // A runner's shutdown is not what these suites are about: SIGKILL its group.
            r.kill_group();
        }
        let mut facts = outcome.facts;
        facts.push((
            "seconds".into(),
            json!((outcome.seconds * 100.0).round() / 100.0),
        ));
        if want_main {
            let mut v = Verdict::new(id, suite, s.level)
                .with_problems(problems)
                .facts(facts.clone());
            if v.problems.is_empty() {
                v = v.note(format!("{:.1} s", outcome.seconds));
            }
            emit(v);
        }
        if want_memory {
            let v = Verdict::new(memory_id, suite, REC);
            emit(match outcome.rss {
                None => v.skip(
                    "needs a runner command (--runner): the suite samples the runner's memory",
                ),
                Some(rss) => {
                    let growth = rss.peak.saturating_sub(rss.before);
                    let budget = s.budget / KIB;
                    let facts = vec![(
                        "rss_kib".to_string(),
                        json!({"before": rss.before, "peak": rss.peak, "after": rss.after, "growth": growth, "budget": budget}),
                    )];
                    let v = v.facts(facts);
                    if growth > budget {
                        v.with_problems(vec![format!(
                            "the runner's RSS grew by {growth} KiB (from {} to a peak of {} KiB), over the budget of {budget} KiB ({})",
                            rss.before, rss.peak, s.budget_why
                        )])
                    } else {
                        v.note(format!(
                            "+{:.1} MiB of {} MiB",
                            growth as f64 / 1024.0,
                            s.budget >> 20
                        ))
                    }
                }
            });
        }
    }
    if ran && env.settings.wants(R, &format!("{}/survival", suite.name())) {
        emit(Verdict::new(format!("{}/survival", suite.name()), suite, R).with_problems(survival));
    }
    env.drop_shared();
}

// ---------------------------------------------------------------------------------------------
// Building frames

/// An echo request `job-<tag>` / `req-<tag>` with inputs `[tag, "é😀"]` and `{"tag": tag}`.
fn echo(v: Version, tag: &str) -> Request {
    Request::new(v, &format!("job-{tag}"), &format!("req-{tag}"), "echo")
        .args(json!([tag, "é😀"]))
        .named(json!({"tag": tag}))
}

fn sleep_req(v: Version, tag: &str, seconds: f64) -> Request {
    Request::new(v, &format!("job-{tag}"), &format!("req-{tag}"), "sleep")
        .named(json!({"seconds": seconds}))
}

fn frame(v: Version, req: &Request) -> Vec<u8> {
    v.request_frame(req)
}

fn cancel_frame(v: Version, job_id: &str, request_id: Option<&str>) -> Vec<u8> {
    v.cancel_frame(&Cancel::new(v, job_id, request_id, false))
}

/// The request as a JSON value (`{"type":"request","payload":{...}}`), to be mutated.
fn value_of(v: Version, req: &Request) -> Value {
    v.request_value(req)
}

fn bytes_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a value serializes")
}

/// A frame around `body`, whatever it holds.
fn framed(body: &[u8]) -> Vec<u8> {
    frame_of(body)
}

use crate::wire::show;

// ---------------------------------------------------------------------------------------------
// A raw client connection

/// What one read of the next frame produced.
enum Got {
    Frame(Box<Received>),
    /// The deadline passed with no whole frame.
    Timeout,
    /// End of stream or reset; how many bytes of a partial frame were buffered.
    Closed(usize),
    /// A frame that is not a valid `response`, or a socket error.
    Bad(String),
}

struct Client {
    stream: TcpStream,
    decoder: Framer,
    buf: Vec<u8>,
    v: Version,
}

impl Client {
    async fn connect(v: Version, addr: SocketAddr) -> Result<Client, String> {
        let stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect failed: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Client {
            stream,
            decoder: Framer::new(),
            buf: vec![0; 64 * 1024],
            v,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        timeout(PROMPT, self.stream.write_all(bytes))
            .await
            .map_err(|_| format!("writing {} bytes timed out", bytes.len()))?
            .map_err(|e| format!("write failed: {e}"))
    }

    async fn next(&mut self, deadline: Instant) -> Got {
        loop {
            if let Some(body) = self.decoder.next_body() {
                return match parse_response(self.v, body) {
                    Ok(r) => Got::Frame(Box::new(r)),
                    Err(e) => Got::Bad(format!(
                        "the runner wrote a frame that is not a valid response: {e}"
                    )),
                };
            }
            match timeout_at(deadline, self.stream.read(&mut self.buf)).await {
                Err(_) => return Got::Timeout,
                Ok(Ok(0)) => return Got::Closed(self.decoder.buffered()),
                Ok(Ok(n)) => {
                    if let Err(e) = self.decoder.push(&self.buf[..n]) {
                        return Got::Bad(format!("the runner wrote a bad frame header: {e}"));
                    }
                }
                Ok(Err(e)) => {
                    use std::io::ErrorKind::*;
                    return match e.kind() {
                        ConnectionReset | ConnectionAborted | BrokenPipe => {
                            Got::Closed(self.decoder.buffered())
                        }
                        _ => Got::Bad(format!("read failed: {e}")),
                    };
                }
            }
        }
    }

    /// Reads until the runner closes; the number of bytes it wrote before (0 expected).
    async fn closed_within(&mut self, wait: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + wait;
        let mut total = self.decoder.buffered();
        loop {
            match timeout_at(deadline, self.stream.read(&mut self.buf)).await {
                Err(_) => return Err(format!("the connection was still open after {wait:?}")),
                Ok(Ok(0)) => return Ok(total),
                Ok(Ok(n)) => total += n,
                Ok(Err(_)) => return Ok(total),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expected answers

/// What a frame sent to the runner must get back.
#[derive(Clone, Debug)]
enum Answer {
    /// Nothing at all.
    Nothing,
    /// A `success` with exactly this result.
    Success(Value),
    /// An `error` outcome of this type, with these ids (absent ones must be absent); when
    /// `path` is given, the message must contain it.
    Error {
        ty: &'static str,
        path: Option<String>,
    },
    /// Either nothing or that answer: a race the contract cannot decide (a request written just
    /// before a framing error may finish before the connection closes, or not).
    NothingOr(Box<Answer>),
}

type Ids = (Option<String>, Option<String>);

fn ids_text(ids: &Ids) -> String {
    format!("job_id={:?} request_id={:?}", ids.0, ids.1)
}

/// Expected answers on one connection, by (job_id, request_id); checks every response once.
#[derive(Default)]
struct Ledger {
    want: BTreeMap<Ids, (String, Answer)>,
    seen: BTreeMap<Ids, usize>,
    /// Labels of optional answers that did come.
    optional_answered: Vec<String>,
}

impl Ledger {
    fn expect(&mut self, label: impl Into<String>, ids: Ids, answer: Answer) {
        let label = label.into();
        let previous = self.want.insert(ids.clone(), (label, answer));
        assert!(previous.is_none(), "two expectations for {ids:?}");
    }

    fn expect_echo(&mut self, v: Version, req: &Request) {
        let result = v.echo_result(req);
        self.expect(
            req.request_id.clone(),
            (Some(req.job_id.clone()), Some(req.request_id.clone())),
            Answer::Success(result),
        );
    }

    fn expect_sleep(&mut self, req: &Request) {
        let result = json!({"slept": req.named["seconds"]});
        self.expect(
            req.request_id.clone(),
            (Some(req.job_id.clone()), Some(req.request_id.clone())),
            Answer::Success(result),
        );
    }

    /// Required answers not yet received.
    fn outstanding(&self) -> usize {
        self.want
            .iter()
            .filter(|(ids, (_, a))| {
                matches!(a, Answer::Success(_) | Answer::Error { .. })
                    && !self.seen.contains_key(*ids)
            })
            .count()
    }

    fn take(&mut self, r: &Received, p: &mut Vec<String>) {
        let ids: Ids = (r.outcome.job_id.clone(), r.outcome.request_id.clone());
        let count = self.seen.entry(ids.clone()).or_default();
        *count += 1;
        let body = show(&r.body);
        let Some((label, answer)) = self.want.get(&ids) else {
            p.push(format!(
                "a response no frame asked for ({}): {body}",
                ids_text(&ids)
            ));
            return;
        };
        if *count > 1 {
            p.push(format!("{label}: answered {count} times: {body}"));
            return;
        }
        let answer = match answer {
            Answer::NothingOr(inner) => {
                self.optional_answered.push(label.clone());
                inner.as_ref()
            }
            other => other,
        };
        let o = &r.outcome;
        match answer {
            Answer::Nothing | Answer::NothingOr(_) => {
                p.push(format!("{label}: must not be answered, got {body}"))
            }
            Answer::Success(result) => {
                if o.status != OutcomeStatus::Success || o.result.as_ref() != Some(result) {
                    p.push(format!(
                        "{label}: expected success with result {result}, got {body}"
                    ));
                }
            }
            Answer::Error { ty, path } => {
                let ok_type = o.status == OutcomeStatus::Error
                    && o.error.as_ref().and_then(|e| e.error_type.as_deref()) == Some(*ty);
                if !ok_type {
                    p.push(format!(
                        "{label}: expected an error outcome of type {ty:?}, got {body}"
                    ));
                } else if let (Some(path), Some(e)) = (path, &o.error) {
                    if !e.message.contains(path.as_str()) {
                        p.push(format!(
                            "{label}: the error message should name the field {path:?}: {body}"
                        ));
                    }
                }
            }
        }
    }

    fn finish(&self, p: &mut Vec<String>, what: &str) {
        for (ids, (label, answer)) in &self.want {
            if matches!(answer, Answer::Success(_) | Answer::Error { .. })
                && !self.seen.contains_key(ids)
            {
                p.push(format!(
                    "{label}: never answered ({what}; expected {answer:?})"
                ));
            }
        }
    }
}

/// Reads frames on `client` until the ledger's required answers are all in (or `deadline`),
/// then watches the connection for `quiet` more: any frame then is checked too (a late optional
/// answer is fine, anything else is a problem). The connection must stay open throughout.
async fn collect(
    client: &mut Client,
    ledger: &mut Ledger,
    deadline: Instant,
    quiet: Duration,
    p: &mut Vec<String>,
    what: &str,
) {
    while ledger.outstanding() > 0 {
        match client.next(deadline).await {
            Got::Frame(r) => ledger.take(&r, p),
            Got::Timeout => {
                p.push(format!(
                    "{what}: timed out with {} answers outstanding",
                    ledger.outstanding()
                ));
                break;
            }
            Got::Closed(partial) => {
                p.push(format!("{what}: the runner closed the connection ({partial} bytes of a partial frame) with {} answers outstanding", ledger.outstanding()));
                ledger.finish(p, what);
                return;
            }
            Got::Bad(e) => {
                p.push(format!("{what}: {e}"));
                return;
            }
        }
    }
    let until = Instant::now() + quiet;
    loop {
        match client.next(until).await {
            Got::Frame(r) => ledger.take(&r, p),
            Got::Timeout => break,
            Got::Closed(_) => {
                p.push(format!(
                    "{what}: the runner closed the connection; it must keep working"
                ));
                break;
            }
            Got::Bad(e) => {
                p.push(format!("{what}: {e}"));
                break;
            }
        }
    }
    ledger.finish(p, what);
}

// ---------------------------------------------------------------------------------------------
// Running a scenario

/// The resident set of the runner's process group around a scenario, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Rss {
    pub before: u64,
    pub peak: u64,
    pub after: u64,
}

/// What a scenario found.
pub struct Outcome {
    pub problems: Vec<String>,
    /// Observations worth reporting (behaviours the contract leaves open, timings, counts).
    pub facts: Vec<(String, Value)>,
    /// `None` when the runner's process is not ours to measure.
    pub rss: Option<Rss>,
    pub seconds: f64,
}

/// The state a scenario works with.
pub struct Ctx {
    pub v: Version,
    pub addr: SocketAddr,
    /// The runner's process group, for RSS samples inside a scenario.
    pub pgid: Option<i32>,
    pub p: Vec<String>,
    pub facts: Vec<(String, Value)>,
}

impl Ctx {
    fn fact(&mut self, key: &str, value: impl Into<Value>) {
        self.facts.push((key.to_string(), value.into()));
    }

    fn rss_kib(&self) -> Option<u64> {
        self.pgid.and_then(group_rss_kib)
    }
}

/// Runs `scenario` against the runner at `addr` (whose process group is `pgid`, when known):
/// the scenario's own checks, no hang, and the memory sampled throughout.
pub async fn run(v: Version, scenario: &Scenario, addr: SocketAddr, pgid: Option<i32>) -> Outcome {
    // One request first, so that what a runner sets up lazily is not counted as growth.
    let _ = wire::call(v, addr, &echo(v, "warm-up"), PROMPT).await;
    let rss_before = pgid.and_then(group_rss_kib);
    let sampler = pgid.map(Sampler::start);
    let started = Instant::now();
    let mut ctx = Ctx {
        v,
        addr,
        pgid,
        p: Vec::new(),
        facts: Vec::new(),
    };
    if timeout(SCENARIO_TIMEOUT, dispatch(scenario.name, &mut ctx))
        .await
        .is_err()
    {
        ctx.p.push(format!(
            "the scenario did not finish within {SCENARIO_TIMEOUT:?} (a hang)"
        ));
    }
    let seconds = started.elapsed().as_secs_f64();
    sleep(Duration::from_millis(100)).await;
    let rss = match (rss_before, sampler) {
        (Some(before), Some(sampler)) => {
            let after = pgid.and_then(group_rss_kib).unwrap_or(0);
            Some(Rss {
                before,
                peak: sampler.finish().max(after),
                after,
            })
        }
        (_, sampler) => {
            if let Some(s) = sampler {
                s.finish();
            }
            None
        }
    };
    Outcome {
        problems: ctx.p,
        facts: ctx.facts,
        rss,
        seconds,
    }
}

async fn dispatch(name: &str, ctx: &mut Ctx) {
    let v = ctx.v;
    match name {
        "length_over_max" => length_over_max(ctx).await,
        "length_zero" => length_zero(ctx).await,
        "split_writes" => split_writes(ctx).await,
        "truncated_then_close" => truncated_then_close(ctx).await,
        "invalid_utf8" => content(ctx, invalid_utf8(v)).await,
        "invalid_json" => content(ctx, invalid_json(v)).await,
        "answering_rule_keys" => content(ctx, rule_keys(v)).await,
        "json_array" => content(ctx, json_array(v)).await,
        "payload_null" => content(ctx, payload_null(v)).await,
        "unknown_type" => content(ctx, unknown_type(v)).await,
        "request_missing_fields" => content(ctx, missing_fields(v)).await,
        "response_and_cancel_frames" => content(ctx, response_and_cancel(v)).await,
        "bad_frames_pipelined" => bad_frames_pipelined(ctx).await,
        "unknown_cancels" => unknown_cancels(ctx).await,
        "idle_connections_500" => idle_connections(ctx).await,
        "slowloris" => slowloris(ctx).await,
        "close_before_reading" => close_before_reading(ctx).await,
        "in_flight_10000" => in_flight_10000(ctx).await,
        "slow_reader" => slow_reader(ctx).await,
        "max_frame_len" => max_frame_len(ctx).await,
        "max_frame_many_values" => max_frame_many_values(ctx).await,
        "large_frame_others_served" => large_frame_others_served(ctx).await,
        "oversized_response" => oversized_response(ctx).await,
        other => ctx.p.push(format!("no such scenario: {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Framing errors

/// Requests in flight on a connection of their own while a scenario attacks others; they must
/// all succeed.
struct Bystander {
    client: Client,
    ledger: Ledger,
}

impl Bystander {
    async fn start(ctx: &mut Ctx, tag: &str, count: usize, seconds: f64) -> Option<Bystander> {
        let v = ctx.v;
        let mut client = match Client::connect(v, ctx.addr).await {
            Ok(c) => c,
            Err(e) => {
                ctx.p.push(format!("bystander: {e}"));
                return None;
            }
        };
        let mut ledger = Ledger::default();
        let mut bytes = Vec::new();
        for i in 0..count {
            let req = sleep_req(v, &format!("{tag}-bystander-{i}"), seconds);
            ledger.expect_sleep(&req);
            bytes.extend(frame(v, &req));
        }
        if let Err(e) = client.write(&bytes).await {
            ctx.p.push(format!("bystander: {e}"));
            return None;
        }
        Some(Bystander { client, ledger })
    }

    async fn finish(mut self, ctx: &mut Ctx) {
        collect(
            &mut self.client,
            &mut self.ledger,
            Instant::now() + PROMPT,
            Duration::ZERO,
            &mut ctx.p,
            "requests in flight on another connection",
        )
        .await;
    }
}

/// Opens a connection, writes `bytes`, and expects the runner to close it within
/// [`CLOSE_WITHIN`] without writing anything.
async fn expect_close(ctx: &mut Ctx, label: &str, bytes: &[u8]) -> Option<Duration> {
    let v = ctx.v;
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => {
            ctx.p.push(format!("{label}: {e}"));
            return None;
        }
    };
    if let Err(e) = client.write(bytes).await {
        // The runner may close (and reset) before the whole write is taken: that is fine.
        if !e.contains("reset") && !e.contains("pipe") {
            ctx.p.push(format!("{label}: {e}"));
        }
    }
    let sent = Instant::now();
    match client.closed_within(CLOSE_WITHIN).await {
        Ok(0) => Some(sent.elapsed()),
        Ok(n) => {
            ctx.p.push(format!("{label}: the runner wrote {n} bytes before closing; a framing error gets no answer"));
            None
        }
        Err(e) => {
            ctx.p.push(format!(
                "{label}: {e}; a framing error must close the connection at once"
            ));
            None
        }
    }
}

async fn length_over_max(ctx: &mut Ctx) {
    let v = ctx.v;
    let bystander = Bystander::start(ctx, "ffff", 5, 0.5).await;
    let mut bytes = vec![0xFF, 0xFF, 0xFF, 0xFF];
    bytes.extend(frame(v, &echo(v, "after-ffffffff")));
    if let Some(t) = expect_close(ctx, "header 0xFFFFFFFF then a valid request", &bytes).await {
        ctx.fact("ffffffff_closed_ms", t.as_millis() as u64);
    }
    // Only the header: the runner must not wait for the body before closing.
    let over = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    if let Some(t) = expect_close(ctx, "header MAX_FRAME_LEN+1 without a body", &over).await {
        ctx.fact("max_plus_one_closed_ms", t.as_millis() as u64);
    }
    // 50 more at once.
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let addr = ctx.addr;
        set.spawn(async move {
            let mut c = Client::connect(v, addr).await?;
            let _ = c.write(&[0xFF; 4]).await;
            match c.closed_within(CLOSE_WITHIN).await? {
                0 => Ok(()),
                n => Err(format!("{n} bytes written before closing")),
            }
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok(Err(e)) = r {
            ctx.p
                .push(format!("one of 50 concurrent 0xFFFFFFFF headers: {e}"));
        }
    }
    if let Some(b) = bystander {
        b.finish(ctx).await;
    }
}

async fn length_zero(ctx: &mut Ctx) {
    let v = ctx.v;
    let bystander = Bystander::start(ctx, "zero", 5, 0.3).await;
    if let Some(t) = expect_close(ctx, "header 0", &[0, 0, 0, 0]).await {
        ctx.fact("zero_closed_ms", t.as_millis() as u64);
    }
    // valid, zero, valid in one write: the connection closes; the request after the zero is never
    // answered. The one before may or may not be (closing cancels what is in flight).
    let first = echo(v, "before-zero");
    let second = echo(v, "after-zero");
    let mut bytes = frame(v, &first);
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(frame(v, &second));
    match Client::connect(v, ctx.addr).await {
        Ok(mut c) => {
            if let Err(e) = c.write(&bytes).await {
                ctx.p.push(format!("valid, zero, valid: {e}"));
            }
            let mut ledger = Ledger::default();
            ledger.expect(
                "before the zero header",
                (Some(first.job_id.clone()), Some(first.request_id.clone())),
                Answer::NothingOr(Box::new(Answer::Success(v.echo_result(&first)))),
            );
            ledger.expect(
                "after the zero header",
                (Some(second.job_id.clone()), Some(second.request_id.clone())),
                Answer::Nothing,
            );
            let deadline = Instant::now() + CLOSE_WITHIN;
            loop {
                match c.next(deadline).await {
                    Got::Frame(r) => ledger.take(&r, &mut ctx.p),
                    Got::Closed(_) => break,
                    Got::Timeout => {
                        ctx.p
                            .push("valid, zero, valid: the connection was not closed".to_string());
                        break;
                    }
                    Got::Bad(e) => {
                        ctx.p.push(format!("valid, zero, valid: {e}"));
                        break;
                    }
                }
            }
            let before = if ledger.optional_answered.is_empty() {
                "not answered"
            } else {
                "answered"
            };
            ctx.fact("request_before_zero_header", before);
        }
        Err(e) => ctx.p.push(format!("valid, zero, valid: {e}")),
    }
    if let Some(b) = bystander {
        b.finish(ctx).await;
    }
}

async fn truncated_then_close(ctx: &mut Ctx) {
    let v = ctx.v;
    let bystander = Bystander::start(ctx, "truncated", 5, 0.3).await;
    let full = frame(v, &echo(v, "truncated"));
    let half = &full[..full.len() / 2];
    // Half a frame, then FIN: the runner sees end of stream mid-frame and closes quietly.
    for (label, bytes) in [
        ("half a frame then FIN", half),
        ("two bytes of a header then FIN", &full[..2]),
    ] {
        match Client::connect(v, ctx.addr).await {
            Ok(mut c) => {
                let _ = c.write(bytes).await;
                let _ = c.stream.shutdown().await;
                match c.closed_within(CLOSE_WITHIN).await {
                    Ok(0) => {}
                    Ok(n) => ctx.p.push(format!("{label}: the runner wrote {n} bytes")),
                    Err(e) => ctx.p.push(format!("{label}: {e} after our FIN")),
                }
            }
            Err(e) => ctx.p.push(format!("{label}: {e}")),
        }
    }
    // 40 more, half closed by FIN, half by RST.
    let mut set = JoinSet::new();
    for i in 0..40 {
        let addr = ctx.addr;
        let bytes = half.to_vec();
        set.spawn(async move {
            let mut c = Client::connect(v, addr).await?;
            c.write(&bytes).await?;
            if i % 2 == 0 {
                let _ = c.stream.set_zero_linger();
            }
            drop(c);
            Ok::<(), String>(())
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok(Err(e)) = r {
            ctx.p.push(format!("truncated frames then close: {e}"));
        }
    }
    if let Some(b) = bystander {
        b.finish(ctx).await;
    }
}

/// Frames arrive in pieces and several at once: each request answered exactly once.
async fn split_writes(ctx: &mut Ctx) {
    let v = ctx.v;
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    let mut ledger = Ledger::default();
    // One request in three pieces, 50 ms apart: 2 bytes of the header; the rest of the header
    // and half the body; the rest.
    let first = echo(v, "split-pieces");
    ledger.expect_echo(v, &first);
    let bytes = frame(v, &first);
    let half = 4 + (bytes.len() - 4) / 2;
    for piece in [&bytes[..2], &bytes[2..half], &bytes[half..]] {
        if let Err(e) = client.write(piece).await {
            return ctx.p.push(format!("writing a piece: {e}"));
        }
        sleep(Duration::from_millis(50)).await;
    }
    // Twenty frames in one write.
    let mut bytes = Vec::new();
    for i in 0..20 {
        let req = echo(v, &format!("split-joined-{i}"));
        ledger.expect_echo(v, &req);
        bytes.extend(frame(v, &req));
    }
    if let Err(e) = client.write(&bytes).await {
        return ctx.p.push(format!("twenty frames in one write: {e}"));
    }
    // Ten frames written in 7-byte pieces: every boundary falls inside a write.
    let mut bytes = Vec::new();
    for i in 0..10 {
        let req = echo(v, &format!("split-odd-{i}"));
        ledger.expect_echo(v, &req);
        bytes.extend(frame(v, &req));
    }
    for piece in bytes.chunks(7) {
        if let Err(e) = client.write(piece).await {
            return ctx.p.push(format!("frames in 7-byte pieces: {e}"));
        }
        tokio::task::yield_now().await;
    }
    collect(
        &mut client,
        &mut ledger,
        Instant::now() + PROMPT,
        QUIET,
        &mut ctx.p,
        "frames split and joined",
    )
    .await;
    ctx.fact("requests", 31);
}

// ---------------------------------------------------------------------------------------------
// Content errors

/// A bad body and what it must get back.
struct Bad {
    label: String,
    body: Vec<u8>,
    ids: Ids,
    answer: Answer,
}

/// The path the Rust decoder names for `body`, for errors past JSON parsing.
fn rust_path(v: Version, body: &[u8]) -> Option<String> {
    match v.decode(body) {
        Err(FrameError::Invalid(e)) => Some(e.path()),
        Err(_) => None,
        Ok(m) => panic!(
            "the Rust decoder accepts a body meant to be bad: {}: {m:?}",
            show(body)
        ),
    }
}

fn ids(job: Option<&str>, request: Option<&str>) -> Ids {
    (job.map(str::to_string), request.map(str::to_string))
}

/// Checks a case's stated ids against the reference of the answering rule.
fn check_rule(label: &str, body: &[u8], job: Option<&str>, request: Option<&str>) {
    let (j, r) = answerable_ids(body);
    assert_eq!(
        (j.as_deref(), r.as_deref()),
        (job, request),
        "{label}: the answering rule (answerable_ids) reads other ids than the case states"
    );
}

/// A body whose ids cannot be read by the answering rule: no answer.
fn silent(v: Version, label: &str, body: Vec<u8>) -> Bad {
    assert!(
        v.decode(&body).is_err(),
        "{label}: the Rust decoder accepts it"
    );
    check_rule(label, &body, None, None);
    // A unique key for the ledger: an answer with these ids is impossible, so any answer the
    // ledger cannot match shows up as "a response no frame asked for".
    Bad {
        label: label.to_string(),
        body,
        ids: ids(None, Some(&format!("(none: {label})"))),
        answer: Answer::Nothing,
    }
}

/// A body that fails to decode and whose ids the answering rule reads (exactly `job` and
/// `request`): `invalid_frame` with exactly those ids, naming the field the Rust decoder
/// names (when the body is JSON the protocol accepts and the error has a path).
fn invalid(
    v: Version,
    label: &str,
    body: Vec<u8>,
    job: Option<&str>,
    request: Option<&str>,
) -> Bad {
    check_rule(label, &body, job, request);
    let path = rust_path(v, &body).filter(|p| p != "$");
    Bad {
        label: label.to_string(),
        body,
        ids: ids(job, request),
        answer: Answer::Error {
            ty: "invalid_frame",
            path,
        },
    }
}

/// A serialized request (`job-<tag>` / `req-<tag>`) with `needle` replaced by `with`.
fn spliced(v: Version, tag: &str, needle: &str, with: &[u8]) -> Vec<u8> {
    let text = bytes_of(&value_of(v, &echo(v, tag)));
    let at = find_bytes(&text, needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle} not in the request"));
    let mut out = text[..at].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&text[at + needle.len()..]);
    out
}

/// An echo request (`job-<tag>` / `req-<tag>`) whose payload's `job_id` / `request_id` are
/// replaced by raw JSON text where given.
fn with_raw_ids(v: Version, tag: &str, job: Option<&[u8]>, request: Option<&[u8]>) -> Vec<u8> {
    let mut m = value_of(v, &echo(v, tag));
    m["payload"]["job_id"] = json!("@@JOB@@");
    m["payload"]["request_id"] = json!("@@REQ@@");
    let body = bytes_of(&m);
    let job_text = format!("\"job-{tag}\"");
    let request_text = format!("\"req-{tag}\"");
    let body = splice_bytes(&body, b"\"@@JOB@@\"", job.unwrap_or(job_text.as_bytes()));
    splice_bytes(
        &body,
        b"\"@@REQ@@\"",
        request.unwrap_or(request_text.as_bytes()),
    )
}

/// `body` with the first `needle` replaced by `with`.
fn splice_bytes(body: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let at = find_bytes(body, needle).unwrap_or_else(|| panic!("{} not in the body", show(needle)));
    let mut out = body[..at].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&body[at + needle.len()..]);
    out
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Replaces the string `"@@FILL@@"` in `body` by a string of `n` bytes `fill` (plain ASCII: no
/// escaping), without running serde over the large part (the suite may be a debug build).
fn fill(body: &[u8], fill: u8, n: usize) -> Vec<u8> {
    const MARK: &[u8] = b"@@FILL@@";
    let at = find_bytes(body, MARK).expect("the fill marker");
    let mut out = Vec::with_capacity(body.len() + n);
    out.extend_from_slice(&body[..at]);
    out.resize(at + n, fill);
    out.extend_from_slice(&body[at + MARK.len()..]);
    out
}

/// The canonical request body and response body of an echo whose positional inputs are
/// `["@@FILL@@"]` plus `named` (to be spliced).
fn marked_echo(v: Version, job_id: &str, request_id: &str, named: Value) -> (Vec<u8>, Vec<u8>) {
    let req = Request::new(v, job_id, request_id, "echo")
        .args(json!(["@@FILL@@"]))
        .named(named);
    let outcome = ExecutionOutcome::success(job_id, request_id, v.echo_result(&req));
    (v.request_body(&req), v.response_body(&outcome))
}

/// An echo request frame whose positional inputs are the raw JSON `items` (comma-separated),
/// and the canonical body of its response (`items` must be canonical already).
fn raw_args_echo(v: Version, job_id: &str, request_id: &str, items: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let splice = |body: Vec<u8>| splice_bytes(&body, b"\"@@FILL@@\"", items);
    let (body, response) = marked_echo(v, job_id, request_id, json!({}));
    (framed(&splice(body)), splice(response))
}

/// An echo request frame whose only positional input is `n` bytes `f`, and the canonical body
/// of its response (what a canonical encoder writes).
fn big_echo(
    v: Version,
    job_id: &str,
    request_id: &str,
    f: u8,
    n: usize,
    named: Value,
) -> (Vec<u8>, Vec<u8>) {
    let (body, response) = marked_echo(v, job_id, request_id, named);
    (framed(&fill(&body, f, n)), fill(&response, f, n))
}

fn invalid_utf8(v: Version) -> Vec<Bad> {
    let mut out = vec![silent(
        v,
        "garbage bytes",
        vec![0xFF, 0xFE, 0xFD, 0x80, 0x81, 0x00, 0xC0],
    )];
    // The answering rule requires valid UTF-8: no answer, even with the ids intact.
    for (tag, needle, with) in [
        ("utf8-ff", "é😀", &b"\xFF\xFE"[..]),
        ("utf8-overlong", "echo", &b"ech\xC0\xAF"[..]),
        ("utf8-cut", "é😀", &b"\xE2\x82"[..]),
        ("utf8-surrogate-bytes", "é😀", &b"\xED\xA0\x80"[..]),
        ("utf8-above-max", "é😀", &b"\xF4\x90\x80\x80"[..]),
    ] {
        out.push(silent(
            v,
            &format!("invalid UTF-8 ({tag}) inside a string, ids intact"),
            spliced(v, tag, needle, with),
        ));
    }
    // Valid UTF-8 text, but an escape that is no Unicode scalar value: the lenient reading
    // lets it through; an id holding one is not echoed.
    out.push(invalid(
        v,
        "lone surrogate escape as request_id",
        with_raw_ids(v, "lone-surrogate-id", None, Some(br#""\ud800""#)),
        Some("job-lone-surrogate-id"),
        None,
    ));
    out.push(silent(
        v,
        "lone surrogate escapes in both ids",
        with_raw_ids(
            v,
            "lone-surrogates",
            Some(br#""x\ud800\ud800""#),
            Some(br#""\udc00x""#),
        ),
    ));
    let tag = "lone-surrogate-arg";
    out.push(invalid(
        v,
        "lone surrogate escape in args",
        spliced(v, tag, "é😀", br"\udc00"),
        Some("job-lone-surrogate-arg"),
        Some("req-lone-surrogate-arg"),
    ));
    let tag = "surrogate-pair-id";
    out.push(invalid(
        v,
        "an id with an escaped surrogate pair (valid), args with a lone surrogate",
        splice_bytes(
            &with_raw_ids(v, tag, None, Some(br#""req-\ud83d\ude00""#)),
            "é😀".as_bytes(),
            br"\ud800",
        ),
        Some("job-surrogate-pair-id"),
        Some("req-😀"),
    ));
    out
}

fn invalid_json(v: Version) -> Vec<Bad> {
    let full = bytes_of(&value_of(v, &echo(v, "json-cut")));
    let mut trailing = bytes_of(&value_of(v, &echo(v, "json-trailing")));
    trailing.extend_from_slice(b" x");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(bytes_of(&value_of(v, &echo(v, "json-bom"))));
    let mut out = vec![
        silent(v, "JSON cut in half", full[..full.len() / 2].to_vec()),
        silent(v, "trailing bytes after the JSON", trailing),
        silent(
            v,
            "trailing comma",
            spliced(
                v,
                "json-comma",
                "\"worker_id\":\"rrq-conformance\"",
                b"\"worker_id\":\"rrq-conformance\",",
            ),
        ),
        silent(v, "not JSON at all", b"hello, runner".to_vec()),
        silent(
            v,
            "single quotes",
            b"{'type':'request','payload':{'job_id':'j','request_id':'r'}}".to_vec(),
        ),
        silent(v, "a byte-order mark before the request", bom),
        silent(
            v,
            "NaN literal in kwargs",
            spliced(v, "json-nan", "\"tag\":\"json-nan\"", b"\"tag\":NaN"),
        ),
        silent(
            v,
            "-Infinity in args",
            spliced(v, "json-infinity", "\"é😀\"", b"-Infinity"),
        ),
        silent(
            v,
            "a leading zero (01) in args",
            spliced(v, "json-leading-zero", "\"é😀\"", b"01"),
        ),
        silent(
            v,
            "a raw tab inside a string",
            spliced(v, "json-raw-tab", "é😀", b"a\tb"),
        ),
    ];
    // Numbers of any magnitude and any nesting depth pass the lenient reading.
    for (tag, with) in [
        ("json-1e400", b"1e400".to_vec()),
        ("json-minus-1e400", b"-1e400".to_vec()),
        ("json-long-integer", vec![b'9'; 5000]),
    ] {
        out.push(invalid(
            v,
            &format!(
                "number {} (beyond a 64-bit float)",
                show(&with[..with.len().min(12)])
            ),
            spliced(v, tag, "\"é😀\"", &with),
            Some(&format!("job-{tag}")),
            Some(&format!("req-{tag}")),
        ));
    }
    let deep = |n: usize| {
        let mut s = vec![b'['; n];
        s.resize(2 * n, b']');
        s
    };
    for n in [200, 100_000, 1_000_000] {
        let tag = format!("json-deep-{n}");
        out.push(invalid(
            v,
            &format!("args nested {n} deep"),
            spliced(v, &tag, "\"é😀\"", &deep(n)),
            Some(&format!("job-{tag}")),
            Some(&format!("req-{tag}")),
        ));
    }
    let mut unbalanced = deep(100_000);
    unbalanced.pop();
    out.push(silent(
        v,
        "args nested 100 000 deep, one bracket short",
        spliced(v, "json-deep-short", "\"é😀\"", &unbalanced),
    ));
    out.push(silent(v, "a body nested 100 000 deep", deep(100_000)));
    out
}

/// The answering rule's handling of keys: compared after unescaping, the last duplicate wins,
/// only `payload`'s own members count.
fn rule_keys(v: Version) -> Vec<Bad> {
    // A request without function_name (so that it fails to decode) and without its ids, with
    // `members` (raw JSON) written first in its payload.
    let with_members = |members: &str| {
        let mut m = value_of(v, &echo(v, "rule-keys"));
        let payload = m["payload"].as_object_mut().unwrap();
        for key in ["function_name", "job_id", "request_id"] {
            payload.remove(key);
        }
        splice_bytes(
            &bytes_of(&m),
            b"\"payload\":{",
            format!(r#""payload":{{{members},"#).as_bytes(),
        )
    };
    vec![
        invalid(v,
            "escaped keys and an escaped id",
            splice_bytes(
                &with_members(r#""job\u005fid":"job-\u00e9scaped","request_id":"req-escaped""#),
                b"\"payload\":",
                br#""pay\u006coad":"#,
            ),
            Some("job-éscaped"),
            Some("req-escaped"),
        ),
        invalid(v,
            "two payloads: the last one's ids",
            splice_bytes(
                &with_members(r#""job_id":"job-dup-payload""#),
                b"{",
                br#"{"payload":{"job_id":"job-first","request_id":"req-first"},"#,
            ),
            Some("job-dup-payload"),
            None,
        ),
        silent(v,
            "two payloads, the last one null",
            {
                let mut body = with_members(r#""job_id":"job-dup-null""#);
                body.pop(); // the closing brace of the envelope
                body.extend_from_slice(b",\"payload\":null}");
                body
            },
        ),
        invalid(v,
            "job_id twice, the last one an integer",
            with_members(r#""job_id":"job-dup-ids","request_id":"req-dup-ids","job_id":7"#),
            None,
            Some("req-dup-ids"),
        ),
        silent(v,
            "ids nested below payload only",
            br#"{"type":"request","payload":{"context":{"job_id":"job-nested","request_id":"req-nested"}}}"#.to_vec(),
        ),
        silent(v,
            "ids beside payload",
            br#"{"type":"request","job_id":"job-beside","request_id":"req-beside","payload":{}}"#.to_vec(),
        ),
    ]
}

fn json_array(v: Version) -> Vec<Bad> {
    let wrapped = Value::Array(vec![value_of(v, &echo(v, "array-wrapped"))]);
    vec![
        silent(v, "[]", b"[]".to_vec()),
        silent(v, "[1,2,3]", b"[1,2,3]".to_vec()),
        silent(v, "a request wrapped in an array", bytes_of(&wrapped)),
        silent(
            v,
            "[\"request\", {payload}]",
            bytes_of(&json!([
                "request",
                value_of(v, &echo(v, "array-pair"))["payload"]
            ])),
        ),
    ]
}

fn payload_null(v: Version) -> Vec<Bad> {
    let mut out = Vec::new();
    for ty in ["request", "cancel", "response"] {
        out.push(silent(
            v,
            &format!("{ty} with payload null"),
            bytes_of(&json!({"type": ty, "payload": null})),
        ));
    }
    out.push(silent(
        v,
        "request without payload",
        bytes_of(&json!({"type": "request"})),
    ));
    out.push(silent(
        v,
        "payload a string",
        bytes_of(&json!({"type": "request", "payload": "job-x"})),
    ));
    out.push(silent(
        v,
        "payload an array of the ids",
        bytes_of(&json!({"type": "request", "payload": ["job-x", "req-x"]})),
    ));
    out.push(silent(
        v,
        "payload null, ids beside it",
        bytes_of(
            &json!({"type": "request", "payload": null, "job_id": "job-x", "request_id": "req-x"}),
        ),
    ));
    for body in ["null", "42", "\"request\"", "{}", "true"] {
        out.push(silent(v, &format!("body {body}"), body.as_bytes().to_vec()));
    }
    out
}

fn unknown_type(v: Version) -> Vec<Bad> {
    let mut out = Vec::new();
    for (tag, ty) in [
        ("type-bogus", json!("bogus")),
        ("type-case", json!("Request")),
        ("type-null", json!(null)),
        ("type-number", json!(7)),
    ] {
        let mut m = value_of(v, &echo(v, tag));
        m["type"] = ty;
        let (j, r) = (format!("job-{tag}"), format!("req-{tag}"));
        out.push(invalid(
            v,
            &format!("type {}", m["type"]),
            bytes_of(&m),
            Some(&j),
            Some(&r),
        ));
    }
    let tag = "type-absent";
    let mut m = value_of(v, &echo(v, tag));
    m.as_object_mut().unwrap().remove("type");
    out.push(invalid(
        v,
        "type absent",
        bytes_of(&m),
        Some("job-type-absent"),
        Some("req-type-absent"),
    ));
    out
}

fn missing_fields(v: Version) -> Vec<Bad> {
    let mut out = Vec::new();
    let without = |tag: &str, path: &[&str]| {
        let mut m = value_of(v, &echo(v, tag));
        let mut at = &mut m["payload"];
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at.as_object_mut().unwrap().remove(path[path.len() - 1]);
        bytes_of(&m)
    };
    for (tag, path) in [
        ("no-function", &["function_name"][..]),
        ("no-context", &["context"][..]),
        ("no-enqueue-time", &["context", "enqueue_time"][..]),
        ("no-context-job", &["context", "job_id"][..]),
    ] {
        let (j, r) = (format!("job-{tag}"), format!("req-{tag}"));
        out.push(invalid(
            v,
            &format!("request without {}", path.join(".")),
            without(tag, path),
            Some(&j),
            Some(&r),
        ));
    }
    out.push(invalid(
        v,
        "request without request_id",
        without("no-rid", &["request_id"]),
        Some("job-no-rid"),
        None,
    ));
    out.push(invalid(
        v,
        "request without job_id",
        without("no-jid", &["job_id"]),
        None,
        Some("req-no-jid"),
    ));
    let mut m = value_of(v, &echo(v, "no-ids"));
    m["payload"].as_object_mut().unwrap().remove("job_id");
    m["payload"].as_object_mut().unwrap().remove("request_id");
    out.push(silent(v, "request without either id", bytes_of(&m)));
    out.push(silent(
        v,
        "request with payload {}",
        bytes_of(&json!({"type": "request", "payload": {}})),
    ));
    let mut m = value_of(v, &echo(v, "rid-int"));
    m["payload"]["request_id"] = json!(7);
    out.push(invalid(
        v,
        "request_id an integer",
        bytes_of(&m),
        Some("job-rid-int"),
        None,
    ));
    let mut m = value_of(v, &echo(v, "args-object"));
    let (field, wrong) = v.input_field_and_wrong_value();
    m["payload"][field] = wrong;
    out.push(invalid(
        v,
        &format!("{field} of the wrong type"),
        bytes_of(&m),
        Some("job-args-object"),
        Some("req-args-object"),
    ));
    let mut m = value_of(v, &echo(v, "attempt-float"));
    m["payload"]["context"]["attempt"] = json!(1.5);
    out.push(invalid(
        v,
        "context.attempt 1.5",
        bytes_of(&m),
        Some("job-attempt-float"),
        Some("req-attempt-float"),
    ));
    let mut m = value_of(v, &echo(v, "bad-time"));
    m["payload"]["context"]["enqueue_time"] = json!(1714979289);
    out.push(invalid(
        v,
        "context.enqueue_time an integer",
        bytes_of(&m),
        Some("job-bad-time"),
        Some("req-bad-time"),
    ));
    out
}

fn response_and_cancel(v: Version) -> Vec<Bad> {
    let outcome = |job: Option<&str>, rid: Option<&str>| ExecutionOutcome {
        job_id: job.map(str::to_string),
        request_id: rid.map(str::to_string),
        status: OutcomeStatus::Success,
        result: Some(json!({"stray": true})),
        error: None,
        retry_after_seconds: None,
    };
    let response = |o: ExecutionOutcome| v.response_body(&o);
    let unexpected = |label: &str, body: Vec<u8>, i: Ids| Bad {
        label: label.to_string(),
        body,
        ids: i,
        answer: Answer::Error {
            ty: "unexpected_message",
            path: None,
        },
    };
    let mut out = vec![
        unexpected(
            "a response frame",
            response(outcome(Some("job-stray"), Some("req-stray"))),
            ids(Some("job-stray"), Some("req-stray")),
        ),
        unexpected(
            "a response frame with job_id only",
            response(outcome(Some("job-stray-2"), None)),
            ids(Some("job-stray-2"), None),
        ),
    ];
    let mut failed = ExecutionOutcome::error("job-stray-3", "req-stray-3", "it failed");
    failed.error.as_mut().unwrap().details = Some(json!({"why": [1, 2]}));
    out.push(unexpected(
        "an error response frame",
        response(failed),
        ids(Some("job-stray-3"), Some("req-stray-3")),
    ));
    out.push(unexpected(
        "a response frame without ids (answered without ids)",
        response(outcome(None, None)),
        (None, None),
    ));
    let mut m: Value = serde_json::from_slice(&response(outcome(
        Some("job-stray-bad"),
        Some("req-stray-bad"),
    )))
    .unwrap();
    m["payload"]["status"] = json!("exploded");
    out.push(invalid(
        v,
        "a response frame with status \"exploded\"",
        bytes_of(&m),
        Some("job-stray-bad"),
        Some("req-stray-bad"),
    ));
    for (label, job, rid) in [
        ("a cancel frame (unknown job)", "job-nobody", None),
        (
            "a cancel frame (unknown request)",
            "job-nobody",
            Some("req-nobody"),
        ),
    ] {
        let body = cancel_frame(v, job, rid)[4..].to_vec();
        out.push(Bad {
            label: label.to_string(),
            body,
            ids: ids(Some(job), rid),
            answer: Answer::Nothing,
        });
    }
    let mut m =
        json!({"type": "cancel", "payload": {"job_id": "job-cancel-bad", "hard_kill": "yes"}});
    out.push(invalid(
        v,
        "a cancel frame with hard_kill \"yes\"",
        bytes_of(&m),
        Some("job-cancel-bad"),
        None,
    ));
    m["payload"]["hard_kill"] = json!(true);
    m["payload"]["request_id"] = json!(null);
    assert!(
        v.decode(&bytes_of(&m)).is_ok(),
        "a cancel with request_id null is valid"
    );
    out.push(Bad {
        label: "a cancel frame with request_id null".into(),
        body: bytes_of(&m),
        ids: ids(Some("job-cancel-bad"), Some("(null)")),
        answer: Answer::Nothing,
    });
    out
}

/// Each bad body on a connection of its own, followed at once (same write) by a valid request;
/// both checked; the connection must keep working. Requests in flight on another connection
/// meanwhile must succeed.
async fn content(ctx: &mut Ctx, bads: Vec<Bad>) {
    let v = ctx.v;
    let bystander = Bystander::start(ctx, "content", 5, 0.3).await;
    let count = bads.len();
    // All at once, each on a connection of its own.
    let mut set = JoinSet::new();
    for (i, bad) in bads.into_iter().enumerate() {
        let addr = ctx.addr;
        set.spawn(async move {
            let p = bad_then_valid(v, addr, i, &bad).await;
            (i, bad, p)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(r) => results.push(r),
            Err(e) => ctx.p.push(format!("a client task failed: {e}")),
        }
    }
    results.sort_by_key(|r| r.0);
    for (_, bad, p) in results {
        for problem in p {
            ctx.p.push(format!("[sent {}] {problem}", show(&bad.body)));
        }
    }
    ctx.fact("frames", count as u64);
    if let Some(b) = bystander {
        b.finish(ctx).await;
    }
}

/// One bad body followed in the same write by a valid request, on a new connection; then a
/// second request once the answers are in. The problems.
async fn bad_then_valid(v: Version, addr: SocketAddr, i: usize, bad: &Bad) -> Vec<String> {
    let mut p = Vec::new();
    let next = echo(v, &format!("after-bad-{i}"));
    let mut bytes = framed(&bad.body);
    bytes.extend(frame(v, &next));
    let mut client = match Client::connect(v, addr).await {
        Ok(c) => c,
        Err(e) => return vec![format!("{}: {e}", bad.label)],
    };
    if let Err(e) = client.write(&bytes).await {
        return vec![format!("{}: {e}", bad.label)];
    }
    let mut ledger = Ledger::default();
    ledger.expect(bad.label.clone(), bad.ids.clone(), bad.answer.clone());
    ledger.expect_echo(v, &next);
    collect(
        &mut client,
        &mut ledger,
        Instant::now() + PROMPT,
        QUIET,
        &mut p,
        &bad.label,
    )
    .await;
    // A second request on the same connection, after the dust settled.
    if p.is_empty() {
        let again = echo(v, &format!("again-after-bad-{i}"));
        let mut ledger2 = Ledger::default();
        ledger2.expect_echo(v, &again);
        match client.write(&frame(v, &again)).await {
            Ok(()) => {
                collect(
                    &mut client,
                    &mut ledger2,
                    Instant::now() + PROMPT,
                    Duration::ZERO,
                    &mut p,
                    &format!("{}, then another request", bad.label),
                )
                .await
            }
            Err(e) => p.push(format!("{}: a second request: {e}", bad.label)),
        }
    }
    p
}

async fn bad_frames_pipelined(ctx: &mut Ctx) {
    let v = ctx.v;
    let mut bads = Vec::new();
    for group in [
        invalid_utf8(v),
        invalid_json(v),
        rule_keys(v),
        json_array(v),
        payload_null(v),
        unknown_type(v),
        missing_fields(v),
        response_and_cancel(v),
    ] {
        bads.extend(group);
    }
    let mut ledger = Ledger::default();
    let mut bytes = Vec::new();
    for (i, bad) in bads.iter().enumerate() {
        let next = echo(v, &format!("pipelined-{i}"));
        bytes.extend(framed(&bad.body));
        bytes.extend(frame(v, &next));
        // Several bodies may share unanswerable ids: keep the first expectation for those.
        if !ledger.want.contains_key(&bad.ids) {
            ledger.expect(bad.label.clone(), bad.ids.clone(), bad.answer.clone());
        }
        ledger.expect_echo(v, &next);
    }
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    if let Err(e) = client.write(&bytes).await {
        return ctx.p.push(e);
    }
    collect(
        &mut client,
        &mut ledger,
        Instant::now() + PROMPT,
        Duration::from_millis(300),
        &mut ctx.p,
        "pipelined bad frames",
    )
    .await;
    ctx.fact("frames_in_one_write", (bads.len() * 2) as u64);
    ctx.fact("bytes_in_one_write", bytes.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// Cancels

async fn unknown_cancels(ctx: &mut Ctx) {
    let v = ctx.v;
    // Five sleeps of one job in flight on connection A.
    let job = "job-unknown-cancels";
    let mut a = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    let mut ledger_a = Ledger::default();
    let mut bytes = Vec::new();
    for i in 0..5 {
        let mut req = sleep_req(v, &format!("uc-{i}"), 0.8);
        req.job_id = job.to_string();
        req.context.job_id = job.to_string();
        ledger_a.expect_sleep(&req);
        bytes.extend(frame(v, &req));
    }
    if let Err(e) = a.write(&bytes).await {
        return ctx.p.push(e);
    }
    sleep(Duration::from_millis(100)).await;
    // Cancels for unknown ids: on A itself, on a connection B that also carries a request, and
    // the RRQ way (a connection each, closed at once).
    let mut cancels = Vec::new();
    for i in 0..1000 {
        cancels.extend(cancel_frame(
            v,
            &format!("job-nobody-{i}"),
            if i % 2 == 0 { None } else { Some("req-nobody") },
        ));
    }
    // An unknown request_id of a job that is in flight: matched by request_id, so nothing.
    cancels.extend(cancel_frame(v, job, Some("req-not-in-flight")));
    if let Err(e) = a.write(&cancels).await {
        ctx.p.push(format!("cancels on the busy connection: {e}"));
    }
    let mut b = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    let next = echo(v, "after-unknown-cancels");
    let mut bytes = cancels.clone();
    bytes.extend(frame(v, &next));
    let mut ledger_b = Ledger::default();
    ledger_b.expect_echo(v, &next);
    if let Err(e) = b.write(&bytes).await {
        ctx.p.push(format!("cancels then a request: {e}"));
    }
    for i in 0..20 {
        let cancel = Cancel::new(v, &format!("job-nobody-rrq-{i}"), None, i % 2 == 0);
        if let Err(e) = wire::cancel(v, ctx.addr, &cancel).await {
            ctx.p.push(format!("an RRQ-style cancel: {e}"));
        }
    }
    collect(
        &mut b,
        &mut ledger_b,
        Instant::now() + PROMPT,
        QUIET,
        &mut ctx.p,
        "cancels then a request",
    )
    .await;
    collect(
        &mut a,
        &mut ledger_a,
        Instant::now() + PROMPT,
        QUIET,
        &mut ctx.p,
        "sleeps of a job whose unknown request was cancelled",
    )
    .await;
    ctx.fact("cancels", 2 * 1001 + 20);
}

// ---------------------------------------------------------------------------------------------
// Connections

/// Fresh requests on new connections, one after another, for `for_how_long`; the slowest answer.
async fn serve_meanwhile(
    v: Version,
    addr: SocketAddr,
    for_how_long: Duration,
    tag: &str,
) -> (usize, Duration, Vec<String>) {
    let until = Instant::now() + for_how_long;
    let mut slowest = Duration::ZERO;
    let mut problems = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        let req = echo(v, &format!("{tag}-meanwhile-{n}"));
        let started = Instant::now();
        match wire::call(v, addr, &req, PROMPT).await {
            Ok(r) => {
                let want = v.echo_result(&req);
                if r.outcome.result.as_ref() != Some(&want) {
                    problems.push(format!(
                        "{}: wrong answer {}",
                        req.request_id,
                        show(&r.body)
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", req.request_id)),
        }
        slowest = slowest.max(started.elapsed());
        n += 1;
        sleep(Duration::from_millis(50)).await;
    }
    (n, slowest, problems)
}

async fn idle_connections(ctx: &mut Ctx) {
    let v = ctx.v;
    const N: usize = 500;
    let mut idle = Vec::with_capacity(N);
    for i in 0..N {
        match Client::connect(v, ctx.addr).await {
            Ok(c) => idle.push(c),
            Err(e) => {
                ctx.p.push(format!("idle connection {i}: {e}"));
                break;
            }
        }
    }
    ctx.fact("idle_connections", idle.len() as u64);
    let (n, slowest, problems) = serve_meanwhile(v, ctx.addr, Duration::from_secs(1), "idle").await;
    ctx.p.extend(
        problems
            .into_iter()
            .map(|e| format!("while {N} connections are idle: {e}")),
    );
    ctx.fact("requests_meanwhile", n as u64);
    ctx.fact("slowest_meanwhile_ms", slowest.as_millis() as u64);
    if slowest > Duration::from_secs(1) {
        ctx.p.push(format!(
            "while {N} connections are idle, a fresh request took {slowest:?}"
        ));
    }
    // Did the runner close any of them?
    let mut closed = 0;
    for c in &idle {
        let mut probe = [0u8; 1];
        match c.stream.try_read(&mut probe) {
            Ok(0) => closed += 1,
            Ok(_) => ctx
                .p
                .push("an idle connection received bytes it did not ask for".to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => closed += 1,
        }
    }
    ctx.fact("idle_closed_by_runner", closed as u64);
    // Every tenth idle connection now sends a request.
    let mut set = JoinSet::new();
    for (i, mut c) in idle.into_iter().enumerate() {
        if i % 10 != 0 {
            drop(c);
            continue;
        }
        set.spawn(async move {
            let req = echo(v, &format!("idle-{i}"));
            let mut ledger = Ledger::default();
            ledger.expect_echo(v, &req);
            let mut p = Vec::new();
            match c.write(&frame(v, &req)).await {
                Ok(()) => {
                    collect(
                        &mut c,
                        &mut ledger,
                        Instant::now() + PROMPT,
                        Duration::ZERO,
                        &mut p,
                        &format!("idle connection {i} then a request"),
                    )
                    .await
                }
                Err(e) => p.push(format!("idle connection {i}: {e}")),
            }
            p
        });
    }
    while let Some(r) = set.join_next().await {
        ctx.p
            .extend(r.unwrap_or_else(|e| vec![format!("a task failed: {e}")]));
    }
}

async fn slowloris(ctx: &mut Ctx) {
    let v = ctx.v;
    const N: usize = 20;
    const DRIBBLE: Duration = Duration::from_secs(3);
    let mut set = JoinSet::new();
    for i in 0..N {
        let addr = ctx.addr;
        set.spawn(async move {
            let req = echo(v, &format!("slowloris-{i}"));
            let bytes = frame(v, &req);
            let mut c = Client::connect(v, addr).await?;
            let dribbled = DRIBBLE.as_secs() as usize;
            for k in 0..dribbled {
                c.write(&bytes[k..k + 1]).await?;
                sleep(Duration::from_secs(1)).await;
            }
            c.write(&bytes[dribbled..]).await?;
            let mut ledger = Ledger::default();
            ledger.expect_echo(v, &req);
            let mut p = Vec::new();
            collect(
                &mut c,
                &mut ledger,
                Instant::now() + PROMPT,
                Duration::ZERO,
                &mut p,
                &format!("dribbled request {i}"),
            )
            .await;
            if p.is_empty() {
                Ok(())
            } else {
                Err(p.join("; "))
            }
        });
    }
    let (n, slowest, problems) = serve_meanwhile(v, ctx.addr, DRIBBLE, "slowloris").await;
    ctx.p.extend(
        problems
            .into_iter()
            .map(|e| format!("while {N} clients dribble: {e}")),
    );
    ctx.fact("requests_meanwhile", n as u64);
    ctx.fact("slowest_meanwhile_ms", slowest.as_millis() as u64);
    if slowest > Duration::from_secs(1) {
        ctx.p.push(format!(
            "while {N} clients dribble 1 byte/s, a fresh request took {slowest:?}"
        ));
    }
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => ctx.p.push(e),
            Err(e) => ctx.p.push(format!("a dribbling task failed: {e}")),
        }
    }
}

async fn close_before_reading(ctx: &mut Ctx) {
    let v = ctx.v;
    const BIG: usize = 64 * 1024;
    let mut set = JoinSet::new();
    for i in 0..60 {
        let addr = ctx.addr;
        set.spawn(async move {
            let (mut bytes, _) = big_echo(
                v,
                &format!("job-cbr-{i}"),
                &format!("req-cbr-{i}"),
                b'x',
                BIG,
                json!({}),
            );
            bytes.extend(frame(v, &sleep_req(v, &format!("cbr-sleep-{i}"), 0.2)));
            for k in 0..10 {
                bytes.extend(frame(v, &echo(v, &format!("cbr-{i}-{k}"))));
            }
            let mut c = Client::connect(v, addr).await?;
            c.write(&bytes).await?;
            match i % 3 {
                0 => drop(c),
                1 => {
                    let _ = c.stream.set_zero_linger();
                    drop(c);
                }
                _ => {
                    let _ = c.stream.shutdown().await;
                    sleep(Duration::from_millis(20)).await;
                    drop(c);
                }
            }
            Ok::<(), String>(())
        });
    }
    // Pipelined large echoes, reset at once.
    for i in 0..20 {
        let addr = ctx.addr;
        set.spawn(async move {
            let mut bytes = Vec::new();
            for k in 0..20 {
                bytes.extend(
                    big_echo(
                        v,
                        &format!("job-cbr-rst-{i}"),
                        &format!("req-cbr-rst-{i}-{k}"),
                        b'x',
                        BIG,
                        json!({}),
                    )
                    .0,
                );
            }
            let mut c = Client::connect(v, addr).await?;
            c.write(&bytes).await?;
            sleep(Duration::from_millis(5)).await;
            let _ = c.stream.set_zero_linger();
            drop(c);
            Ok::<(), String>(())
        });
    }
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => ctx.p.push(format!("a closing client: {e}")),
            Err(e) => ctx.p.push(format!("a task failed: {e}")),
        }
    }
    // Let the sleeps finish into closed sockets.
    sleep(Duration::from_millis(400)).await;
    ctx.fact("clients", 80);
}

// ---------------------------------------------------------------------------------------------
// Load

async fn in_flight_10000(ctx: &mut Ctx) {
    let v = ctx.v;
    const CONNECTIONS: usize = 100;
    const PER: usize = 100;
    const SECONDS: f64 = 1.0;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for c in 0..CONNECTIONS {
        let addr = ctx.addr;
        set.spawn(async move {
            let mut ledger = Ledger::default();
            let mut bytes = Vec::new();
            for k in 0..PER {
                let req = sleep_req(v, &format!("load-{c:03}-{k:03}"), SECONDS);
                ledger.expect_sleep(&req);
                bytes.extend(frame(v, &req));
            }
            let mut p = Vec::new();
            match Client::connect(v, addr).await {
                Ok(mut client) => match client.write(&bytes).await {
                    Ok(()) => {
                        collect(
                            &mut client,
                            &mut ledger,
                            Instant::now() + Duration::from_secs(40),
                            QUIET,
                            &mut p,
                            &format!("connection {c}"),
                        )
                        .await
                    }
                    Err(e) => p.push(format!("connection {c}: {e}")),
                },
                Err(e) => p.push(format!("connection {c}: {e}")),
            }
            let answered = ledger.seen.len();
            (p, answered, Instant::now())
        });
    }
    let mut answered = 0;
    let mut last = started;
    let mut problems = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((p, n, at)) => {
                problems.extend(p);
                answered += n;
                last = last.max(at);
            }
            Err(e) => problems.push(format!("a connection task failed: {e}")),
        }
    }
    let elapsed = last - started;
    if problems.len() > 20 {
        let more = problems.len() - 20;
        problems.truncate(20);
        problems.push(format!("... and {more} more"));
    }
    ctx.p.extend(problems);
    ctx.fact("requests", (CONNECTIONS * PER) as u64);
    ctx.fact("answered", answered as u64);
    ctx.fact("all_answered_ms", elapsed.as_millis() as u64);
    // One after another per connection they would take 100 s.
    if elapsed > Duration::from_secs(30) {
        ctx.p.push(format!(
            "10 000 sleeps of 1 s took {elapsed:?}: not run concurrently"
        ));
    }
}

async fn slow_reader(ctx: &mut Ctx) {
    let v = ctx.v;
    let rss_at_start = ctx.rss_kib().unwrap_or(0);
    let socket = match TcpSocket::new_v4() {
        Ok(s) => s,
        Err(e) => return ctx.p.push(e.to_string()),
    };
    // Small kernel buffers on our side, so that what the runner cannot send stays with it.
    let _ = socket.set_recv_buffer_size(64 * 1024);
    let _ = socket.set_send_buffer_size(64 * 1024);
    let stream = match timeout(PROMPT, socket.connect(ctx.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return ctx.p.push(format!("connect: {e}")),
        Err(_) => return ctx.p.push("connect timed out".to_string()),
    };
    let _ = stream.set_nodelay(true);
    let (mut read_half, mut write_half) = stream.into_split();
    // Expected response bodies by request_id (compared byte for byte: decoding 32 MiB with a
    // debug build of serde would dominate the run time; a mismatch is decoded to explain it).
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut frames = Vec::new();
    for i in 0..SLOW_READER_FRAMES {
        let rid = format!("req-slow-reader-{i:03}");
        let (f, response) = big_echo(
            v,
            "job-slow-reader",
            &rid,
            b'y',
            SLOW_READER_FRAME,
            json!({"i": i}),
        );
        frames.push(f);
        expected.insert(rid, response);
    }
    let total: usize = frames.iter().map(Vec::len).sum();
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    let writer = tokio::spawn(async move {
        for f in frames {
            let result = timeout(Duration::from_secs(30), write_half.write_all(&f)).await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("writing the requests: {e}")),
                Err(_) => return Err("writing the requests timed out".to_string()),
            }
            w.fetch_add(f.len(), Ordering::Relaxed);
        }
        Ok(write_half)
    });
    // Not reading for 1.5 s.
    sleep(Duration::from_millis(1500)).await;
    let written_while_not_reading = written.load(Ordering::Relaxed);
    // While nobody reads, the runner should hold little more than its high-water mark (1 MiB)
    // and the frame it is working on: a tighter bound than the scenario's budget, which also
    // covers the garbage of reading 64 MiB quickly afterwards.
    let rss_paused = ctx.rss_kib().unwrap_or(0);
    let paused_growth = rss_paused.saturating_sub(rss_at_start);
    ctx.fact("rss_growth_kib_while_not_reading", paused_growth);
    if paused_growth * KIB > SLOW_READER_PAUSED_BUDGET {
        ctx.p.push(format!(
            "memory: while its reader was not reading, the runner's RSS grew by {paused_growth} KiB, over {} KiB (the 1 MiB high-water mark plus one 256 KiB frame in a few forms and interpreter churn)",
            SLOW_READER_PAUSED_BUDGET / KIB
        ));
    }
    ctx.fact("bytes_due", total as u64);
    ctx.fact(
        "request_bytes_taken_while_not_reading",
        written_while_not_reading as u64,
    );
    if written_while_not_reading >= total {
        ctx.p.push(format!(
            "the runner took all {total} bytes of requests while its reader was not reading: it does not stop reading when its output backs up"
        ));
    }
    // Now read everything.
    let mut decoder = Framer::new();
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(40);
    let read_started = Instant::now();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut responses = 0;
    'reading: while seen.len() < expected.len() {
        while let Some(body) = decoder.next_body() {
            responses += 1;
            let rid = request_id_of(&body);
            match rid.as_ref().and_then(|r| expected.get(r)) {
                Some(want) if *want == body => {
                    let n = seen.entry(rid.clone().unwrap_or_default()).or_default();
                    *n += 1;
                    if *n > 1 {
                        ctx.p.push(format!("{rid:?} answered {n} times"));
                    }
                }
                _ => {
                    let explained = match parse_response(v, body.clone()) {
                        Ok(r) => format!("an unexpected or wrong response: {}", show(&r.body)),
                        Err(e) => format!("a bad response: {e}"),
                    };
                    ctx.p.push(explained);
                    if let Some(rid) = rid {
                        *seen.entry(rid).or_default() += 1;
                    }
                }
            }
            if seen.len() == expected.len() {
                break 'reading;
            }
        }
        match timeout_at(deadline, read_half.read(&mut buf)).await {
            Err(_) => {
                ctx.p.push(format!(
                    "timed out with {} responses outstanding",
                    expected.len() - seen.len()
                ));
                break;
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                ctx.p.push(format!(
                    "the runner closed the connection with {} responses outstanding",
                    expected.len() - seen.len()
                ));
                break;
            }
            Ok(Ok(n)) => {
                if let Err(e) = decoder.push(&buf[..n]) {
                    ctx.p
                        .push(format!("a bad frame header from the runner: {e}"));
                    break;
                }
            }
        }
    }
    let missing = expected.keys().filter(|k| !seen.contains_key(*k)).count();
    if missing > 0 {
        ctx.p.push(format!(
            "{missing} of {} responses never came (dropped)",
            expected.len()
        ));
    }
    ctx.fact("responses", responses as u64);
    ctx.fact("read_all_ms", read_started.elapsed().as_millis() as u64);
    match writer.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => ctx.p.push(e),
        Err(e) => ctx.p.push(format!("the writer task failed: {e}")),
    }
}

/// The `request_id` of a response body, found without decoding it all.
fn request_id_of(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"request_id\":\"";
    let head = &body[..body.len().min(512)];
    let at = find_bytes(head, KEY)? + KEY.len();
    let len = head[at..].iter().position(|&b| b == b'"')?;
    String::from_utf8(head[at..at + len].to_vec()).ok()
}

async fn max_frame_len(ctx: &mut Ctx) {
    let v = ctx.v;
    let req = echo(v, "max-frame-len");
    let mut body = bytes_of(&value_of(v, &req));
    body.resize(MAX_FRAME_LEN, b' ');
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    let started = Instant::now();
    if let Err(e) = client.write(&framed(&body)).await {
        return ctx.p.push(format!("a frame of exactly MAX_FRAME_LEN: {e}"));
    }
    let mut ledger = Ledger::default();
    ledger.expect_echo(v, &req);
    collect(
        &mut client,
        &mut ledger,
        Instant::now() + Duration::from_secs(30),
        QUIET,
        &mut ctx.p,
        "a frame of exactly MAX_FRAME_LEN",
    )
    .await;
    ctx.fact(
        "max_frame_answered_ms",
        started.elapsed().as_millis() as u64,
    );
    let over = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    expect_close(ctx, "header MAX_FRAME_LEN+1", &over).await;
}

async fn max_frame_many_values(ctx: &mut Ctx) {
    many_values_beside_others(ctx, "many-values").await;
}

/// Large frames must not stall the other connections: while the frame of
/// `max_frame_many_values` is decoded and answered, no request on another connection may wait
/// more than a quarter of the time the frame itself takes to be answered, nor more than a second
/// when it is answered sooner than in four (a runner that decodes it on its one event loop holds
/// them up for all of it).
async fn large_frame_others_served(ctx: &mut Ctx) {
    let Some((answered, slowest)) = many_values_beside_others(ctx, "others-served").await else {
        return;
    };
    let allowed = (answered / 4).max(Duration::from_secs(1));
    if slowest > allowed {
        ctx.p.push(format!(
            "a request on another connection waited {} ms while the frame of 8 million values was answered in {} ms (allowed: {} ms): the large frame holds up the runner",
            slowest.as_millis(),
            answered.as_millis(),
            allowed.as_millis()
        ));
    }
}

/// Sends a frame of exactly MAX_FRAME_LEN holding as many values as fit (`[0,0,…]` as the
/// inputs) and expects its echo, while another task makes small requests on connections of
/// its own, one every 100 ms. Returns how long the frame took to be answered and how long the
/// slowest of the other requests took (`None` after a problem, which is recorded).
async fn many_values_beside_others(ctx: &mut Ctx, tag: &str) -> Option<(Duration, Duration)> {
    let v = ctx.v;
    let (job, request) = (format!("job-{tag}"), format!("req-{tag}"));
    // As many values as fit: `0,` is two bytes.
    let (probe, _) = raw_args_echo(v, &job, &request, b"0");
    let n = (MAX_FRAME_LEN - (probe.len() - 4) + 2) / 2;
    let mut items = Vec::with_capacity(2 * n);
    for i in 0..n {
        if i > 0 {
            items.push(b',');
        }
        items.push(b'0');
    }
    let (bytes, want) = raw_args_echo(v, &job, &request, &items);
    // Whitespace after the document brings the body to exactly MAX_FRAME_LEN.
    let mut body = bytes[4..].to_vec();
    body.resize(MAX_FRAME_LEN, b' ');
    let bytes = framed(&body);
    ctx.fact("values", n as u64);
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => {
            ctx.p.push(e);
            return None;
        }
    };
    let started = Instant::now();
    // Meanwhile, small requests on other connections: how long does the big frame hold them up?
    // (Reported here; `large_frame_others_served` judges it.)
    let stop = Arc::new(AtomicBool::new(false));
    let others = {
        let (addr, stop, tag) = (ctx.addr, stop.clone(), tag.to_string());
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                let req = echo(v, &format!("beside-{tag}-{k}"));
                let t = Instant::now();
                if wire::call(v, addr, &req, Duration::from_secs(60))
                    .await
                    .is_err()
                {
                    return Err(format!("{}: no answer", req.request_id));
                }
                slowest = slowest.max(t.elapsed());
                k += 1;
                sleep(Duration::from_millis(100)).await;
            }
            Ok(slowest)
        })
    };
    if let Err(e) = client.write(&bytes).await {
        ctx.p.push(format!("a frame of {n} values: {e}"));
        return None;
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut buf = vec![0u8; 1 << 20];
    let mut decoder = Framer::new();
    loop {
        if let Some(body) = decoder.next_body() {
            if body != want {
                let shown = match parse_response(v, body.clone()) {
                    Ok(r) if r.outcome.status != OutcomeStatus::Success => show(&r.body),
                    _ => format!(
                        "{} bytes, not the echo expected ({} bytes)",
                        body.len(),
                        want.len()
                    ),
                };
                ctx.p.push(format!("a frame of {n} values: {shown}"));
            }
            break;
        }
        match timeout_at(deadline, client.stream.read(&mut buf)).await {
            Err(_) => {
                ctx.p
                    .push(format!("a frame of {n} values: no answer within 40 s"));
                break;
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                ctx.p.push(format!(
                    "a frame of {n} values: the runner closed the connection"
                ));
                break;
            }
            Ok(Ok(k)) => {
                if let Err(e) = decoder.push(&buf[..k]) {
                    ctx.p.push(format!(
                        "a frame of {n} values: a bad frame from the runner: {e}"
                    ));
                    break;
                }
            }
        }
    }
    let answered = started.elapsed();
    ctx.fact("answered_ms", answered.as_millis() as u64);
    stop.store(true, Ordering::Relaxed);
    let answered_well = ctx.p.is_empty();
    match others.await {
        Ok(Ok(slowest)) => {
            ctx.fact("slowest_other_request_ms", slowest.as_millis() as u64);
            answered_well.then_some((answered, slowest))
        }
        Ok(Err(e)) => {
            ctx.p.push(format!("a request beside the big frame: {e}"));
            None
        }
        Err(e) => {
            ctx.p.push(format!("a task failed: {e}"));
            None
        }
    }
}

async fn oversized_response(ctx: &mut Ctx) {
    let v = ctx.v;
    const N: usize = 900_000;
    // Written by hand: `1e15` is 4 bytes on the wire and 18 in canonical form.
    let mut numbers = Vec::with_capacity(5 * N);
    for i in 0..N {
        if i > 0 {
            numbers.push(b',');
        }
        numbers.extend_from_slice(b"1e15");
    }
    let (body, _) = marked_echo(v, "job-oversized", "req-oversized", json!({}));
    let body = splice_bytes(&body, b"\"@@FILL@@\"", &numbers);
    assert!(body.len() <= MAX_FRAME_LEN);
    let mut client = match Client::connect(v, ctx.addr).await {
        Ok(c) => c,
        Err(e) => return ctx.p.push(e),
    };
    let next = echo(v, "after-oversized");
    let mut bytes = framed(&body);
    bytes.extend(frame(v, &next));
    let started = Instant::now();
    if let Err(e) = client.write(&bytes).await {
        return ctx.p.push(e);
    }
    let mut ledger = Ledger::default();
    ledger.expect_echo(v, &next);
    // Any error outcome will do: the type is the runner's choice (the contract names none).
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut got_error = None;
    while ledger.outstanding() > 0 || got_error.is_none() {
        match client.next(deadline).await {
            Got::Frame(r) if r.outcome.request_id.as_deref() == Some("req-oversized") => {
                if got_error.is_some() {
                    ctx.p
                        .push("the oversized echo was answered twice".to_string());
                }
                if r.outcome.status != OutcomeStatus::Error
                    || r.outcome.job_id.as_deref() != Some("job-oversized")
                {
                    ctx.p.push(format!(
                        "the oversized echo must get an error outcome with its ids, got {}",
                        show(&r.body)
                    ));
                }
                got_error = Some(
                    r.outcome
                        .error
                        .as_ref()
                        .and_then(|e| e.error_type.clone())
                        .unwrap_or_default(),
                );
            }
            Got::Frame(r) => ledger.take(&r, &mut ctx.p),
            Got::Timeout => {
                ctx.p.push(format!(
                    "timed out (oversized answered: {})",
                    got_error.is_some()
                ));
                break;
            }
            Got::Closed(n) => {
                ctx.p.push(format!(
                    "the runner closed the connection ({n} bytes of a partial frame buffered)"
                ));
                break;
            }
            Got::Bad(e) => {
                ctx.p.push(format!("oversized response: {e}"));
                break;
            }
        }
    }
    ledger.finish(&mut ctx.p, "the request after the oversized echo");
    ctx.fact("request_bytes", body.len() as u64);
    ctx.fact("answered_ms", started.elapsed().as_millis() as u64);
    if let Some(t) = got_error {
        ctx.fact("error_type", t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_content_case_states_what_the_answering_rule_reads() {
        for v in Version::ALL {
            // Building the cases runs `check_rule` on every one of them.
            let all: Vec<Bad> = [
                invalid_utf8(v),
                invalid_json(v),
                rule_keys(v),
                json_array(v),
                payload_null(v),
                unknown_type(v),
                missing_fields(v),
                response_and_cancel(v),
            ]
            .into_iter()
            .flatten()
            .collect();
            assert!(all.len() > 60, "{} cases", all.len());
        }
    }

    #[test]
    fn every_scenario_has_a_unique_name_and_a_dispatch() {
        let mut names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
    }
}
