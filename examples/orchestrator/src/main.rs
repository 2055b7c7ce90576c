//! `rrq-orchestrator`: a small example orchestrator on `rrq-protocol`. It starts a runner the
//! way the RRQ orchestrator of the protocol version does (or talks to one that is already
//! running), sends it one job — and a cancel, when asked — and prints the outcome.
//!
//! ```text
//! rrq-orchestrator send --runner 'examples/python/run.sh --protocol 2' --function echo --params '{"a":1}'
//! rrq-orchestrator send --protocol 1 --address 127.0.0.1:9000 --function echo --args '[1,2]' --kwargs '{"a":1}'
//! rrq-orchestrator send --runner examples/python/run.sh --function sleep --params '{"seconds":5}' --cancel-after 0.5
//! rrq-orchestrator cancel --address 127.0.0.1:9000 --job-id job-1
//! ```
//!
//! `send` prints the response frame's JSON exactly as the runner wrote it and exits 0 for a
//! `success`, 1 for any other outcome, 2 when no usable response came. The conformance suite
//! (`conformance/`, binary `rrq-conformance`) is what checks a runner thoroughly.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use rrq_protocol::outcome::{ExecutionOutcome, OutcomeStatus};
use rrq_protocol::{v1, v2};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

#[derive(Parser)]
#[command(
    name = "rrq-orchestrator",
    version,
    about = "A small example orchestrator: start a runner, send it a job or a cancel, print the outcome"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send one job and print the response frame's JSON.
    Send(SendArgs),
    /// Send a cancel frame on a new connection and close it (as RRQ 0.9 does; no reply comes).
    Cancel(CancelArgs),
}

#[derive(Args)]
struct SendArgs {
    /// Shell command that starts the runner (stopped again after the job). Protocol 1 gets the
    /// address in RRQ_RUNNER_TCP_SOCKET, protocol 2 as `--tcp-socket HOST:PORT` appended.
    #[arg(
        long,
        value_name = "COMMAND",
        conflicts_with = "address",
        required_unless_present = "address"
    )]
    runner: Option<String>,
    /// Address of a runner that is already listening, e.g. 127.0.0.1:9000.
    #[arg(long, value_name = "HOST:PORT")]
    address: Option<SocketAddr>,
    /// Protocol version: 1 (RRQ 0.9.x) or 2 (RRQ 0.10 onward).
    #[arg(long, default_value = "2", value_parser = ["1", "2"])]
    protocol: String,
    /// Handler to call.
    #[arg(long)]
    function: String,
    /// Protocol 1: positional arguments, a JSON array.
    #[arg(long)]
    args: Option<String>,
    /// Protocol 1: keyword arguments, a JSON object.
    #[arg(long)]
    kwargs: Option<String>,
    /// Protocol 2: parameters, a JSON object.
    #[arg(long)]
    params: Option<String>,
    /// Job id (the request id is derived from it).
    #[arg(long, default_value = "job-1")]
    job_id: String,
    /// Give the job a deadline this many seconds ahead.
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
    /// Send a cancel for the job (on a new connection) this many seconds after the request.
    #[arg(long, value_name = "SECONDS")]
    cancel_after: Option<f64>,
    /// Seconds to wait for the response.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
    /// How long the runner may take to start listening.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    ready_timeout: f64,
}

#[derive(Args)]
struct CancelArgs {
    #[arg(long, value_name = "HOST:PORT")]
    address: SocketAddr,
    #[arg(long, default_value = "2", value_parser = ["1", "2"])]
    protocol: String,
    #[arg(long)]
    job_id: String,
    /// Cancel only this request of the job (default: every request of the job).
    #[arg(long)]
    request_id: Option<String>,
    #[arg(long)]
    hard_kill: bool,
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::from_secs(60))
}

fn json_arg(text: Option<&str>, default: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text.unwrap_or(default)).with_context(|| format!("{what} is not JSON"))
}

fn object(value: Value, what: &str) -> Result<BTreeMap<String, Value>> {
    match value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        _ => bail!("{what} must be a JSON object"),
    }
}

// ---------------------------------------------------------------------------------------------
// Frames of either version

/// A frame: the 4-byte big-endian length, then the canonical JSON body.
fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

fn request_frame(args: &SendArgs, request_id: &str) -> Result<Vec<u8>> {
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let deadline = match args.deadline {
        Some(s) => Some(now + chrono::Duration::from_std(seconds(s))?),
        None => None,
    };
    let (job_id, request_id) = (args.job_id.clone(), request_id.to_string());
    let body = if args.protocol == "1" {
        if args.params.is_some() {
            bail!("--params is a protocol 2 input; protocol 1 takes --args and --kwargs");
        }
        let Value::Array(positional) = json_arg(args.args.as_deref(), "[]", "--args")? else {
            bail!("--args must be a JSON array")
        };
        let kwargs = object(
            json_arg(args.kwargs.as_deref(), "{}", "--kwargs")?,
            "--kwargs",
        )?;
        v1::encode_message(&v1::RunnerMessage::Request {
            payload: v1::ExecutionRequest {
                protocol_version: v1::PROTOCOL_VERSION.to_string(),
                request_id,
                job_id: job_id.clone(),
                function_name: args.function.clone(),
                args: positional,
                kwargs,
                context: v1::ExecutionContext {
                    job_id,
                    attempt: 1,
                    enqueue_time: now,
                    queue_name: "default".to_string(),
                    deadline,
                    trace_context: None,
                    worker_id: Some("rrq-orchestrator".to_string()),
                },
            },
        })?
    } else {
        if args.args.is_some() || args.kwargs.is_some() {
            bail!("--args and --kwargs are protocol 1 inputs (add --protocol 1); protocol 2 takes --params");
        }
        let params = object(
            json_arg(args.params.as_deref(), "{}", "--params")?,
            "--params",
        )?;
        v2::encode_message(&v2::RunnerMessage::Request {
            payload: v2::ExecutionRequest {
                protocol_version: v2::PROTOCOL_VERSION.to_string(),
                request_id,
                job_id: job_id.clone(),
                function_name: args.function.clone(),
                params,
                context: v2::ExecutionContext {
                    job_id,
                    attempt: 1,
                    enqueue_time: now,
                    queue_name: "default".to_string(),
                    deadline,
                    trace_context: None,
                    correlation_context: None,
                    worker_id: Some("rrq-orchestrator".to_string()),
                },
            },
        })?
    };
    Ok(framed(body))
}

fn cancel_frame(
    protocol: &str,
    job_id: &str,
    request_id: Option<&str>,
    hard_kill: bool,
) -> Result<Vec<u8>> {
    let (job_id, request_id) = (job_id.to_string(), request_id.map(str::to_string));
    let body = if protocol == "1" {
        let payload = v1::CancelRequest {
            protocol_version: v1::PROTOCOL_VERSION.into(),
            job_id,
            request_id,
            hard_kill,
        };
        v1::encode_message(&v1::RunnerMessage::Cancel { payload })?
    } else {
        let payload = v2::CancelRequest {
            protocol_version: v2::PROTOCOL_VERSION.into(),
            job_id,
            request_id,
            hard_kill,
        };
        v2::encode_message(&v2::RunnerMessage::Cancel { payload })?
    };
    Ok(framed(body))
}

/// The outcome of a response body (the response envelope is the same in both versions).
fn outcome_of(protocol: &str, body: &[u8]) -> Result<ExecutionOutcome> {
    let outcome = if protocol == "1" {
        match v1::decode_message(body)? {
            v1::RunnerMessage::Response { payload } => Some(payload),
            _ => None,
        }
    } else {
        match v2::decode_message(body)? {
            v2::RunnerMessage::Response { payload } => Some(payload),
            _ => None,
        }
    };
    outcome.context("the runner wrote a message that is not a response")
}

// ---------------------------------------------------------------------------------------------
// The runner process

/// Starts `command` as RRQ does and waits until its port accepts a connection (RRQ's readiness
/// probe: connect, close at once).
async fn start_runner(
    command: &str,
    protocol: &str,
    ready: Duration,
) -> Result<(Child, SocketAddr)> {
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .process_group(0);
    if protocol == "1" {
        cmd.arg(format!("exec {command}"))
            .env("RRQ_RUNNER_TCP_SOCKET", addr.to_string());
    } else {
        cmd.arg(format!("exec {command} --tcp-socket {addr}"))
            .env_remove("RRQ_RUNNER_TCP_SOCKET");
    }
    let mut child = cmd
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("could not start `{command}`"))?;
    let deadline = Instant::now() + ready;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the runner `{command}` exited ({status}) before listening on {addr}");
        }
        if let Ok(Ok(probe)) = timeout(Duration::from_secs(1), TcpStream::connect(addr)).await {
            drop(probe);
            return Ok((child, addr));
        }
        if Instant::now() >= deadline {
            bail!("the runner `{command}` did not listen on {addr} in time");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM, up to 10 s to exit, then SIGKILL for the process group.
async fn stop_runner(mut child: Child) {
    if let Some(pid) = child.id() {
        // SAFETY: plain syscalls on the process (group) we started.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let _ = timeout(Duration::from_secs(10), child.wait()).await;
        unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
    }
    let _ = child.wait().await;
}

// ---------------------------------------------------------------------------------------------
// Talking to it

/// Reads one whole frame body (within `wait`).
async fn read_frame(stream: &mut TcpStream, wait: Duration) -> Result<Vec<u8>> {
    let deadline = Instant::now() + wait;
    let mut header = [0u8; 4];
    tokio::time::timeout_at(deadline, stream.read_exact(&mut header))
        .await
        .context("no response in time")??;
    let len = u32::from_be_bytes(header) as usize;
    if len == 0 || len > rrq_protocol::MAX_FRAME_LEN {
        bail!("the runner wrote a frame header of {len} bytes");
    }
    let mut body = vec![0u8; len];
    tokio::time::timeout_at(deadline, stream.read_exact(&mut body))
        .await
        .context("no response in time")??;
    Ok(body)
}

async fn send_cancel(addr: SocketAddr, frame: &[u8]) -> Result<()> {
    let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("connect timed out")??;
    stream.write_all(frame).await?;
    stream.shutdown().await?;
    Ok(())
}

/// One request on a new connection (as RRQ 0.9 does): the response body and its outcome.
async fn call(args: &SendArgs, addr: SocketAddr) -> Result<(Vec<u8>, ExecutionOutcome)> {
    let request_id = format!("{}-request-1", args.job_id);
    let frame = request_frame(args, &request_id)?;
    let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .context("connect timed out")??;
    stream.set_nodelay(true)?;
    stream.write_all(&frame).await?;
    if let Some(after) = args.cancel_after {
        sleep(seconds(after)).await;
        send_cancel(
            addr,
            &cancel_frame(&args.protocol, &args.job_id, Some(&request_id), false)?,
        )
        .await?;
    }
    let body = read_frame(&mut stream, seconds(args.timeout)).await?;
    let outcome = outcome_of(&args.protocol, &body)?;
    // RRQ's correlation check.
    if outcome.job_id.as_deref() != Some(&args.job_id)
        || outcome.request_id.as_deref() != Some(&request_id)
    {
        bail!(
            "the response's ids job_id={:?} request_id={:?} are not the request's",
            outcome.job_id,
            outcome.request_id
        );
    }
    Ok((body, outcome))
}

async fn send(args: SendArgs) -> Result<ExitCode> {
    // Check the inputs before starting anything.
    request_frame(&args, "check")?;
    let (runner, addr) = match (&args.address, &args.runner) {
        (Some(addr), _) => (None, *addr),
        (None, Some(command)) => {
            let (child, addr) =
                start_runner(command, &args.protocol, seconds(args.ready_timeout)).await?;
            (Some(child), addr)
        }
        (None, None) => bail!("give --runner or --address"),
    };
    let result = call(&args, addr).await;
    if let Some(child) = runner {
        stop_runner(child).await;
    }
    match result {
        Ok((body, outcome)) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&body);
            let _ = out.write_all(b"\n");
            Ok(if outcome.status == OutcomeStatus::Success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => {
            eprintln!("rrq-orchestrator: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Send(args) => send(args).await,
        Cmd::Cancel(args) => match cancel_frame(
            &args.protocol,
            &args.job_id,
            args.request_id.as_deref(),
            args.hard_kill,
        ) {
            Ok(frame) => send_cancel(args.address, &frame)
                .await
                .map(|()| ExitCode::SUCCESS),
            Err(e) => Err(e),
        },
    };
    result.unwrap_or_else(|e| {
        eprintln!("rrq-orchestrator: {e:#}");
        ExitCode::from(2)
    })
}
