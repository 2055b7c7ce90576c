//! `rrq-reference-runner`: a small runner in Rust, on `rrq-protocol`, that follows the runner
//! runtime contract with the four example handlers (`echo`, `sleep`, `fail`, `retry`).
//!
//! It exists to test the orchestrator itself: `cargo test -p rrq-example-orchestrator` runs the
//! whole scenario list against it, and against deliberately misbehaving variants of it
//! (`--misbehave wrong-request-id | non-canonical`) to prove that the orchestrator notices.
//!
//! ```text
//! RRQ_RUNNER_TCP_SOCKET=127.0.0.1:9000 rrq-reference-runner
//! rrq-reference-runner --tcp-socket 127.0.0.1:9000
//! ```

use rrq_example_orchestrator::hostile::answerable_ids;
use rrq_example_orchestrator::report::write_reversed;
use rrq_protocol::v1::{
    decode_message, encode_frame, ExecutionError, ExecutionOutcome, ExecutionRequest, FrameDecoder,
    FrameError, OutcomeStatus, RunnerMessage, PROTOCOL_VERSION,
};
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

#[derive(Clone, Copy, PartialEq)]
enum Misbehave {
    None,
    /// Answer with a request_id that is not the request's.
    WrongRequestId,
    /// Write responses with object keys in reverse order (valid JSON, not canonical).
    NonCanonical,
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

fn outcome_error(req: &ExecutionRequest, status: OutcomeStatus, message: String, error_type: &str) -> ExecutionOutcome {
    ExecutionOutcome {
        job_id: Some(req.job_id.clone()),
        request_id: Some(req.request_id.clone()),
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

/// The four example handlers.
async fn handle(req: &ExecutionRequest) -> Option<ExecutionOutcome> {
    let (job, rid) = (req.job_id.clone(), req.request_id.clone());
    Some(match req.function_name.as_str() {
        "echo" => ExecutionOutcome::success(job, rid, json!({ "args": req.args, "kwargs": req.kwargs })),
        "sleep" => {
            let seconds = req.kwargs.get("seconds").cloned().unwrap_or(json!(0));
            let secs = seconds.as_f64().unwrap_or(0.0).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            ExecutionOutcome::success(job, rid, json!({ "slept": seconds }))
        }
        "fail" => {
            let message = match req.kwargs.get("message") {
                Some(Value::String(s)) => s.clone(),
                _ => "the fail handler was called without a message".to_string(),
            };
            outcome_error(req, OutcomeStatus::Error, message, "ExampleError")
        }
        "retry" => {
            let seconds = req.kwargs.get("seconds").and_then(Value::as_f64);
            ExecutionOutcome::retry(job, rid, "the retry handler asks to be retried", seconds)
        }
        _ => return None,
    })
}

async fn execute(req: ExecutionRequest, abort: oneshot::Receiver<Abort>) -> Option<ExecutionOutcome> {
    if req.protocol_version != PROTOCOL_VERSION {
        let msg = format!("unsupported protocol_version {:?}; this runner speaks {PROTOCOL_VERSION:?}", req.protocol_version);
        return Some(outcome_error(&req, OutcomeStatus::Error, msg, "unsupported_protocol_version"));
    }
    if !matches!(req.function_name.as_str(), "echo" | "sleep" | "fail" | "retry") {
        let msg = format!("no handler registered for function {:?}", req.function_name);
        return Some(outcome_error(&req, OutcomeStatus::Error, msg, "handler_not_found"));
    }
    let remaining = match req.context.deadline {
        Some(deadline) => {
            let now = chrono::DateTime::<chrono::Utc>::from(SystemTime::now());
            match (deadline - now).to_std() {
                Ok(d) if !d.is_zero() => Some(d),
                _ => {
                    let msg = "the job's deadline passed before it started".to_string();
                    return Some(outcome_error(&req, OutcomeStatus::Timeout, msg, "timeout"));
                }
            }
        }
        None => None,
    };
    let deadline = async {
        match remaining {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        outcome = handle(&req) => outcome,
        _ = deadline => Some(outcome_error(&req, OutcomeStatus::Timeout, "the job's deadline passed".into(), "timeout")),
        reason = abort => match reason {
            Ok(Abort::Cancelled) => Some(outcome_error(&req, OutcomeStatus::Error, "the request was cancelled".into(), "cancelled")),
            Ok(Abort::Shutdown) => Some(outcome_error(&req, OutcomeStatus::Error, "the runner is shutting down".into(), "cancelled")),
            Ok(Abort::Disconnected) | Err(_) => None,
        },
    }
}

/// The response frame for `outcome`. An outcome too large to send (its frame would exceed
/// `MAX_FRAME_LEN`) is answered with an `error` outcome of type `FrameError` instead, as the
/// generated runners do; `None` (logged) when even that cannot be encoded (ids that fill a frame).
fn frame(outcome: ExecutionOutcome, misbehave: Misbehave) -> Option<Vec<u8>> {
    let mut outcome = outcome;
    if misbehave == Misbehave::WrongRequestId {
        outcome.request_id = outcome.request_id.map(|r| format!("{r}-wrong"));
    }
    let ids = (outcome.job_id.clone(), outcome.request_id.clone());
    let message = RunnerMessage::Response { payload: outcome };
    if misbehave == Misbehave::NonCanonical {
        let mut body = Vec::new();
        write_reversed(&serde_json::to_value(&message).unwrap(), &mut body);
        return Some(rrq_example_orchestrator::wire::frame_body(&body));
    }
    let err = match encode_frame(&message) {
        Ok(frame) => return Some(frame),
        Err(err) => err,
    };
    let message = format!("the handler's answer cannot be sent: {err}");
    let fallback = RunnerMessage::Response { payload: plain_error(ids, message, "FrameError") };
    match encode_frame(&fallback) {
        Ok(frame) => Some(frame),
        Err(again) => {
            eprintln!("rrq-reference-runner: dropping a response that cannot be encoded: {again}");
            None
        }
    }
}

fn plain_error(ids: (Option<String>, Option<String>), message: String, error_type: &str) -> ExecutionOutcome {
    ExecutionOutcome {
        job_id: ids.0,
        request_id: ids.1,
        status: OutcomeStatus::Error,
        result: None,
        error: Some(ExecutionError { message, error_type: Some(error_type.into()), code: None, details: None }),
        retry_after_seconds: None,
    }
}

fn send(tx: &mpsc::UnboundedSender<Vec<u8>>, frame: Option<Vec<u8>>) {
    if let Some(frame) = frame {
        let _ = tx.send(frame);
    }
}

async fn serve_connection(
    stream: TcpStream,
    conn: u64,
    inflight: Arc<InFlight>,
    mut shutdown: watch::Receiver<bool>,
    misbehave: Misbehave,
) {
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let write_task = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut tasks = JoinSet::new();
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    'read: loop {
        let n = tokio::select! {
            read = reader.read(&mut buf) => match read { Ok(0) | Err(_) => 0, Ok(n) => n },
            _ = shutdown.wait_for(|down| *down) => break 'read,
        };
        if n == 0 {
            // Peer gone: nobody to answer.
            inflight.abort_where(Abort::Disconnected, |e| e.conn == conn);
            break;
        }
        if decoder.push(&buf[..n]).is_err() {
            inflight.abort_where(Abort::Disconnected, |e| e.conn == conn);
            tasks.abort_all();
            write_task.abort();
            return;
        }
        while let Some(body) = decoder.next_body() {
            match decode_message(&body) {
                Ok(RunnerMessage::Request { payload }) => {
                    let in_flight = inflight.entries.lock().unwrap().values().filter(|e| e.conn == conn).count();
                    if in_flight >= IN_FLIGHT_LIMIT {
                        let msg = format!("this connection already has {IN_FLIGHT_LIMIT} requests in flight");
                        send(&tx, frame(outcome_error(&payload, OutcomeStatus::Error, msg, "busy"), misbehave));
                        continue;
                    }
                    let (abort_tx, abort_rx) = oneshot::channel();
                    let key = inflight.next.fetch_add(1, Ordering::Relaxed);
                    inflight.entries.lock().unwrap().insert(
                        key,
                        Entry {
                            job_id: payload.job_id.clone(),
                            request_id: payload.request_id.clone(),
                            conn,
                            abort: Some(abort_tx),
                        },
                    );
                    let (inflight, tx) = (inflight.clone(), tx.clone());
                    tasks.spawn(async move {
                        let outcome = execute(payload, abort_rx).await;
                        inflight.entries.lock().unwrap().remove(&key);
                        if let Some(outcome) = outcome {
                            send(&tx, frame(outcome, misbehave));
                        }
                    });
                }
                Ok(RunnerMessage::Cancel { payload }) => {
                    inflight.abort_where(Abort::Cancelled, |e| {
                        e.job_id == payload.job_id
                            && payload.request_id.as_ref().map_or(true, |r| *r == e.request_id)
                    });
                }
                Ok(RunnerMessage::Response { payload }) => {
                    let msg = "a runner accepts only request and cancel frames, got a response".to_string();
                    send(&tx, frame(plain_error((payload.job_id, payload.request_id), msg, "unexpected_message"), misbehave));
                }
                Err(err) => {
                    let message = match &err {
                        FrameError::Invalid(e) => e.to_string(),
                        other => other.to_string(),
                    };
                    // The answering rule every runner follows (see `answerable_ids`).
                    match answerable_ids(&body) {
                        (None, None) => eprintln!("rrq-reference-runner: ignoring an undecodable frame (no readable ids): {message}"),
                        ids => send(&tx, frame(plain_error(ids, message, "invalid_frame"), misbehave)),
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

fn address() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut text = std::env::var("RRQ_RUNNER_TCP_SOCKET").ok();
    let mut misbehave = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tcp-socket" => text = args.next(),
            "--misbehave" => misbehave = args.next(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(m) = misbehave {
        std::env::set_var("RRQ_REFERENCE_MISBEHAVE", m);
    }
    let text = text.ok_or("give --tcp-socket HOST:PORT or set RRQ_RUNNER_TCP_SOCKET")?;
    let addr: SocketAddr = text.parse().map_err(|e| format!("bad address {text:?}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("refusing to listen on {addr}: runners bind only loopback addresses"));
    }
    Ok(addr)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let addr = match address() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("rrq-reference-runner: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let misbehave = match std::env::var("RRQ_REFERENCE_MISBEHAVE").as_deref() {
        Ok("wrong-request-id") => Misbehave::WrongRequestId,
        Ok("non-canonical") => Misbehave::NonCanonical,
        _ => Misbehave::None,
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rrq-reference-runner: cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    eprintln!("rrq-runner listening on {addr}");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let inflight = Arc::new(InFlight::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut next_conn = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                next_conn += 1;
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, next_conn, inflight.clone(), shutdown_rx.clone(), misbehave));
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    inflight.abort_where(Abort::Shutdown, |_| true);
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    });
    let _ = drained.await;
    std::process::ExitCode::SUCCESS
}
