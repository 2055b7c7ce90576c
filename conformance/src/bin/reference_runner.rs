//! `rrq-reference-runner`: a small runner in Rust, on `rrq-protocol`, that follows the runtime
//! contract with the suite's handlers (`echo`, `sleep`, `fail`, `retry`), for either protocol
//! version.
//!
//! It is the suite's known-good testee: `cargo test -p rrq-conformance` runs every case against
//! it, and against deliberately misbehaving variants of it (`--misbehave …`) to prove that the
//! suite tells them apart. `./bench.sh` also measures it.
//!
//! ```text
//! RRQ_RUNNER_TCP_SOCKET=127.0.0.1:9000 rrq-reference-runner --protocol 1
//! rrq-reference-runner --protocol 2 --tcp-socket 127.0.0.1:9000 [--verbose]
//! rrq-reference-runner --misbehave wrong-request-id|non-canonical|ignore-cancel|ignore-deadline|answer-cancels|lossy-numbers|close-on-bad-frame|orphan
//! ```

use rrq_conformance::answering::answerable_ids;
use rrq_conformance::report::write_reversed;
use rrq_conformance::version::{frame_of, Message, Request, Version};
use rrq_protocol::outcome::{ExecutionError, ExecutionOutcome, OutcomeStatus};
use rrq_protocol::{FrameError, MAX_FRAME_LEN};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

const IN_FLIGHT_LIMIT: usize = 1024;

/// Ways to break the contract on purpose (the suite's own tests).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Misbehave {
    None,
    /// Answer with a request_id that is not the request's.
    WrongRequestId,
    /// Write responses with object keys in reverse order (valid JSON, not canonical).
    NonCanonical,
    /// Ignore cancel frames.
    IgnoreCancel,
    /// Ignore deadlines.
    IgnoreDeadline,
    /// Answer every cancel frame (with an error outcome).
    AnswerCancels,
    /// Round every number through f64, as a naive JavaScript runner would.
    LossyNumbers,
    /// Close the connection on any frame that fails to decode.
    CloseOnBadFrame,
    /// Do not watch the parent process.
    Orphan,
}

/// Why a running request is stopped early.
#[derive(Debug, Clone, Copy)]
enum Abort {
    Cancelled,
    Shutdown,
    Disconnected,
}

struct Entry {
    job_id: String,
    request_id: String,
    conn: u64,
    abort: Option<oneshot::Sender<Abort>>,
}

#[derive(Default)]
struct InFlight {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

impl InFlight {
    fn abort_where(&self, reason: Abort, pred: impl Fn(&Entry) -> bool) {
        let mut entries = self.entries.lock().unwrap();
        for entry in entries.values_mut().filter(|e| pred(e)) {
            if let Some(tx) = entry.abort.take() {
                let _ = tx.send(reason);
            }
        }
    }
}

/// The runner-level message templates of the protocol (`ERROR_MESSAGES`), filled in.
fn message(name: &str, values: &[(&str, &str)]) -> (String, &'static str) {
    let (_, error_type, template) = rrq_protocol::ERROR_MESSAGES
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("a known message");
    let mut text = template.to_string();
    for (key, value) in values {
        text = text.replace(&format!("{{{key}}}"), value);
    }
    (text, error_type)
}

fn error(
    ids: (Option<String>, Option<String>),
    status: OutcomeStatus,
    message: String,
    error_type: &str,
) -> ExecutionOutcome {
    ExecutionOutcome {
        job_id: ids.0,
        request_id: ids.1,
        status,
        result: None,
        error: Some(ExecutionError {
            message,
            error_type: Some(error_type.to_string()),
            code: None,
            details: None,
        }),
        retry_after_seconds: None,
    }
}

fn ids_of(req: &Request) -> (Option<String>, Option<String>) {
    (Some(req.job_id.clone()), Some(req.request_id.clone()))
}

fn runner_error(
    req: &Request,
    status: OutcomeStatus,
    name: &str,
    values: &[(&str, &str)],
) -> ExecutionOutcome {
    let (text, error_type) = message(name, values);
    error(ids_of(req), status, text, error_type)
}

fn lossy(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(lossy).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), lossy(v))).collect())
        }
        other => other.clone(),
    }
}

/// The four handlers of the suite's handler contract.
async fn handle(version: Version, req: &Request, misbehave: Misbehave) -> Option<ExecutionOutcome> {
    let (job, rid) = (req.job_id.clone(), req.request_id.clone());
    Some(match req.function_name.as_str() {
        "echo" => {
            let result = version.echo_result(req);
            let result = if misbehave == Misbehave::LossyNumbers {
                lossy(&result)
            } else {
                result
            };
            ExecutionOutcome::success(job, rid, result)
        }
        "sleep" => {
            let seconds = req.named.get("seconds").cloned().unwrap_or(json!(0));
            let secs = seconds.as_f64().unwrap_or(0.0).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            ExecutionOutcome::success(job, rid, json!({ "slept": seconds }))
        }
        "fail" => {
            let message = match req.named.get("message") {
                Some(Value::String(s)) => s.clone(),
                _ => "the fail handler was called without a message".to_string(),
            };
            error(ids_of(req), OutcomeStatus::Error, message, "ExampleError")
        }
        "retry" => {
            let seconds = req.named.get("seconds").and_then(Value::as_f64);
            ExecutionOutcome::retry(job, rid, "the retry handler asks to be retried", seconds)
        }
        _ => return None,
    })
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    // The canonical form, as the encoder writes it inside a message.
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn execute(
    version: Version,
    req: Request,
    abort: oneshot::Receiver<Abort>,
    misbehave: Misbehave,
) -> Option<ExecutionOutcome> {
    if req.protocol_version != version.protocol_version() {
        let values = [
            ("received", req.protocol_version.as_str()),
            ("supported", version.protocol_version()),
        ];
        return Some(runner_error(
            &req,
            OutcomeStatus::Error,
            "unsupported_protocol_version",
            &values,
        ));
    }
    if !matches!(
        req.function_name.as_str(),
        "echo" | "sleep" | "fail" | "retry"
    ) {
        return Some(runner_error(
            &req,
            OutcomeStatus::Error,
            "handler_not_found",
            &[("function", &req.function_name)],
        ));
    }
    let deadline = req
        .context
        .deadline
        .filter(|_| misbehave != Misbehave::IgnoreDeadline);
    let remaining = match deadline {
        Some(deadline) => {
            let now = chrono::DateTime::<chrono::Utc>::from(SystemTime::now());
            match (deadline - now).to_std() {
                Ok(d) if !d.is_zero() => Some(d),
                _ => {
                    let when = timestamp(deadline);
                    return Some(runner_error(
                        &req,
                        OutcomeStatus::Timeout,
                        "deadline_passed",
                        &[("when", &when)],
                    ));
                }
            }
        }
        None => None,
    };
    let timer = async {
        match remaining {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let when = deadline.map(timestamp).unwrap_or_default();
    tokio::select! {
        outcome = handle(version, &req, misbehave) => outcome,
        _ = timer => Some(runner_error(&req, OutcomeStatus::Timeout, "deadline_exceeded", &[("when", &when)])),
        reason = abort => match reason {
            Ok(Abort::Cancelled) => Some(runner_error(&req, OutcomeStatus::Error, "cancelled", &[])),
            Ok(Abort::Shutdown) => Some(runner_error(&req, OutcomeStatus::Error, "shutting_down", &[])),
            Ok(Abort::Disconnected) | Err(_) => None,
        },
    }
}

/// The response frame for `outcome`. An outcome that cannot be sent (its frame would exceed
/// `MAX_FRAME_LEN` or nest deeper than the protocol allows) is answered with an `error` outcome
/// of type `FrameError` instead, as the generated runners do; `None` (logged) when even that
/// cannot be encoded (ids that fill a frame).
fn frame(version: Version, outcome: ExecutionOutcome, misbehave: Misbehave) -> Option<Vec<u8>> {
    let mut outcome = outcome;
    if misbehave == Misbehave::WrongRequestId {
        outcome.request_id = outcome.request_id.map(|r| format!("{r}-wrong"));
    }
    let ids = (outcome.job_id.clone(), outcome.request_id.clone());
    let body = version.response_body(&outcome);
    if misbehave == Misbehave::NonCanonical {
        let mut reversed = Vec::new();
        write_reversed(&serde_json::from_slice(&body).expect("JSON"), &mut reversed);
        return Some(frame_of(&reversed));
    }
    // Would the other side read it?
    let problem = if body.len() > MAX_FRAME_LEN {
        Some(format!(
            "frame of {} bytes exceeds MAX_FRAME_LEN ({MAX_FRAME_LEN})",
            body.len()
        ))
    } else {
        match version.decode(&body) {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        }
    };
    let Some(problem) = problem else {
        return Some(frame_of(&body));
    };
    let fallback = error(
        ids,
        OutcomeStatus::Error,
        format!("the handler's answer cannot be sent: {problem}"),
        "FrameError",
    );
    let body = version.response_body(&fallback);
    if body.len() <= MAX_FRAME_LEN {
        Some(frame_of(&body))
    } else {
        eprintln!("rrq-reference-runner: dropping a response that cannot be encoded: {problem}");
        None
    }
}

/// Unsent output of a connection above which it stops reading requests (backpressure).
const HIGH_WATER: usize = 1 << 20;

/// A connection's output queue: frames for its writer task, and how many bytes are queued.
#[derive(Clone)]
struct Out {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
    drained: Arc<tokio::sync::Notify>,
}

impl Out {
    fn send(&self, frame: Option<Vec<u8>>) {
        if let Some(frame) = frame {
            self.queued.fetch_add(frame.len(), Ordering::Relaxed);
            let _ = self.tx.send(frame);
        }
    }

    /// Waits while more than the high-water mark is queued.
    async fn below_high_water(&self) {
        while self.queued.load(Ordering::Relaxed) > HIGH_WATER {
            let notified = self.drained.notified();
            if self.queued.load(Ordering::Relaxed) <= HIGH_WATER {
                break;
            }
            notified.await;
        }
    }
}

fn send(out: &Out, frame: Option<Vec<u8>>) {
    out.send(frame);
}

struct Shared {
    version: Version,
    inflight: InFlight,
    misbehave: Misbehave,
    verbose: bool,
}

async fn serve_connection(
    stream: TcpStream,
    conn: u64,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (version, misbehave) = (shared.version, shared.misbehave);
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let tx = Out {
        tx: sender,
        queued: Default::default(),
        drained: Default::default(),
    };
    let (queued, drained) = (tx.queued.clone(), tx.drained.clone());
    let write_task = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
            queued.fetch_sub(frame.len(), Ordering::Relaxed);
            drained.notify_waiters();
        }
        let _ = writer.shutdown().await;
    });
    let mut tasks = JoinSet::new();
    let mut framer = rrq_conformance::wire::Framer::new();
    let mut buf = vec![0u8; 64 * 1024];
    'read: loop {
        tokio::select! {
            _ = tx.below_high_water() => {}
            _ = shutdown.wait_for(|down| *down) => break 'read,
        }
        let n = tokio::select! {
            read = reader.read(&mut buf) => match read { Ok(0) | Err(_) => 0, Ok(n) => n },
            _ = shutdown.wait_for(|down| *down) => break 'read,
        };
        if n == 0 {
            // Peer gone: nobody to answer.
            shared
                .inflight
                .abort_where(Abort::Disconnected, |e| e.conn == conn);
            break;
        }
        if framer.push(&buf[..n]).is_err() {
            shared
                .inflight
                .abort_where(Abort::Disconnected, |e| e.conn == conn);
            tasks.abort_all();
            write_task.abort();
            return;
        }
        while let Some(body) = framer.next_body() {
            match version.decode(&body) {
                Ok(Message::Request(req)) => {
                    let in_flight = shared
                        .inflight
                        .entries
                        .lock()
                        .unwrap()
                        .values()
                        .filter(|e| e.conn == conn)
                        .count();
                    if in_flight >= IN_FLIGHT_LIMIT {
                        let limit = IN_FLIGHT_LIMIT.to_string();
                        let outcome =
                            runner_error(&req, OutcomeStatus::Error, "busy", &[("limit", &limit)]);
                        send(&tx, frame(version, outcome, misbehave));
                        continue;
                    }
                    let (abort_tx, abort_rx) = oneshot::channel();
                    let key = shared.inflight.next.fetch_add(1, Ordering::Relaxed);
                    shared.inflight.entries.lock().unwrap().insert(
                        key,
                        Entry {
                            job_id: req.job_id.clone(),
                            request_id: req.request_id.clone(),
                            conn,
                            abort: Some(abort_tx),
                        },
                    );
                    let (shared, tx) = (shared.clone(), tx.clone());
                    tasks.spawn(async move {
                        let outcome = execute(version, req, abort_rx, misbehave).await;
                        shared.inflight.entries.lock().unwrap().remove(&key);
                        if let Some(outcome) = outcome {
                            send(&tx, frame(version, outcome, misbehave));
                        }
                    });
                }
                Ok(Message::Cancel(cancel)) => {
                    if misbehave == Misbehave::AnswerCancels {
                        let outcome = error(
                            (Some(cancel.job_id.clone()), cancel.request_id.clone()),
                            OutcomeStatus::Error,
                            "cancel received".into(),
                            "cancelled",
                        );
                        send(&tx, frame(version, outcome, misbehave));
                    }
                    if misbehave != Misbehave::IgnoreCancel {
                        shared.inflight.abort_where(Abort::Cancelled, |e| {
                            e.job_id == cancel.job_id
                                && cancel
                                    .request_id
                                    .as_ref()
                                    .map_or(true, |r| *r == e.request_id)
                        });
                    }
                }
                Ok(Message::Response(o)) => {
                    let (text, error_type) = message("unexpected_message", &[("type", "response")]);
                    send(
                        &tx,
                        frame(
                            version,
                            error(
                                (o.job_id, o.request_id),
                                OutcomeStatus::Error,
                                text,
                                error_type,
                            ),
                            misbehave,
                        ),
                    );
                }
                Err(err) => {
                    if misbehave == Misbehave::CloseOnBadFrame {
                        shared
                            .inflight
                            .abort_where(Abort::Disconnected, |e| e.conn == conn);
                        tasks.abort_all();
                        write_task.abort();
                        return;
                    }
                    let text = match &err {
                        FrameError::Invalid(e) => e.to_string(),
                        other => other.to_string(),
                    };
                    // The answering rule every runner follows (see `answerable_ids`).
                    match answerable_ids(&body) {
                        (None, None) => {
                            if shared.verbose {
                                eprintln!("rrq-reference-runner: ignoring an undecodable frame (no readable ids): {text}");
                            }
                        }
                        ids => {
                            let (text, error_type) = message("invalid_frame", &[("error", &text)]);
                            send(
                                &tx,
                                frame(
                                    version,
                                    error(ids, OutcomeStatus::Error, text, error_type),
                                    misbehave,
                                ),
                            );
                        }
                    }
                }
            }
            if *shutdown.borrow() {
                break 'read;
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    drop(tx);
    let _ = write_task.await;
}

struct Options {
    addr: SocketAddr,
    version: Version,
    misbehave: Misbehave,
    verbose: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut text = None;
    let mut version = Version::V2;
    let mut misbehave = Misbehave::None;
    let mut verbose = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tcp-socket" => text = args.next(),
            "--protocol" => {
                let v = args.next().unwrap_or_default();
                version = Version::parse(&v).ok_or(format!("--protocol is 1 or 2, not {v:?}"))?;
            }
            "--verbose" => verbose = true,
            "--misbehave" => {
                misbehave = match args.next().as_deref() {
                    Some("wrong-request-id") => Misbehave::WrongRequestId,
                    Some("non-canonical") => Misbehave::NonCanonical,
                    Some("ignore-cancel") => Misbehave::IgnoreCancel,
                    Some("ignore-deadline") => Misbehave::IgnoreDeadline,
                    Some("answer-cancels") => Misbehave::AnswerCancels,
                    Some("lossy-numbers") => Misbehave::LossyNumbers,
                    Some("close-on-bad-frame") => Misbehave::CloseOnBadFrame,
                    Some("orphan") => Misbehave::Orphan,
                    other => return Err(format!("unknown --misbehave {other:?}")),
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let text = text
        .or_else(|| std::env::var("RRQ_RUNNER_TCP_SOCKET").ok())
        .ok_or("give --tcp-socket HOST:PORT or set RRQ_RUNNER_TCP_SOCKET")?;
    let addr: SocketAddr = text
        .parse()
        .map_err(|e| format!("bad address {text:?}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {addr}: runners bind only loopback addresses"
        ));
    }
    Ok(Options {
        addr,
        version,
        misbehave,
        verbose,
    })
}

/// Resolves once the parent process is gone (re-parented: `getppid` changed).
async fn parent_died() {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        // SAFETY: as above.
        if unsafe { libc::getppid() } != parent {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rrq-reference-runner: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(opts.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rrq-reference-runner: cannot listen on {}: {e}", opts.addr);
            return std::process::ExitCode::from(1);
        }
    };
    if opts.verbose {
        eprintln!(
            "rrq-reference-runner listening on {} (protocol {})",
            opts.addr, opts.version
        );
    }
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let orphan = opts.misbehave == Misbehave::Orphan;
    let shared = Arc::new(Shared {
        version: opts.version,
        inflight: InFlight::default(),
        misbehave: opts.misbehave,
        verbose: opts.verbose,
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_conn = 0u64;
    let parent = async {
        if orphan {
            std::future::pending::<()>().await;
        }
        parent_died().await
    };
    tokio::pin!(parent);
    loop {
        tokio::select! {
            accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                next_conn += 1;
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, next_conn, shared.clone(), shutdown_rx.clone()));
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = &mut parent => {
                // Nobody is left to answer: exit at once.
                std::process::exit(1);
            }
        }
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    shared.inflight.abort_where(Abort::Shutdown, |_| true);
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    });
    let _ = drained.await;
    std::process::ExitCode::SUCCESS
}
