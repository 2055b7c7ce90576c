//! `rrq-bench`: the Rust side of `./bench.sh`.
//!
//! ```text
//! rrq-bench fixtures --out DIR       # canonical request/response frames for the codec benchmarks
//! rrq-bench load --target py=examples/python/run.sh --target raw-py='python3 bench/raw/echo_raw.py' \
//!     --mode serial --mode conns16 --mode fresh --mode pipelined --rounds 5 --slice-ms 2000
//! ```
//!
//! `load` starts every target command like the RRQ orchestrator does (`sh -c 'exec COMMAND'`
//! with `RRQ_RUNNER_TCP_SOCKET`, its own process group), then runs the modes against the targets
//! in interleaved rounds (round r: every mode, every target, the target order rotated each round),
//! each (mode, target) for one time slice per round. It verifies every response (exactly one per
//! request, job_id and request_id match, status success, result == {"args", "kwargs"} of the
//! request) and reports requests/s, latency percentiles and the CPU time of the runner's process
//! group per request (utime+stime from /proc, before/after each slice). Output: one JSON document.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rrq_protocol::v1::{
    decode_message, encode_frame, encode_message, ExecutionContext, ExecutionOutcome,
    ExecutionRequest, FrameDecoder, OutcomeStatus, RunnerMessage, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{sleep, timeout, Instant};

#[derive(Parser)]
#[command(
    name = "rrq-bench",
    about = "Fixtures and the load generator of ./bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the canonical codec fixtures (request.frame, response.frame, fixtures.json) to DIR.
    Fixtures {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Drive runners with echo requests and measure them.
    Load(LoadArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Mode {
    /// One connection, one request at a time.
    Serial,
    /// 16 connections, one request at a time on each.
    Conns16,
    /// A new connection per request, one request at a time (what the RRQ orchestrator does).
    Fresh,
    /// One connection with `--window` requests in flight.
    Pipelined,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Serial => "serial",
            Mode::Conns16 => "conns16",
            Mode::Fresh => "fresh",
            Mode::Pipelined => "pipelined",
        }
    }
}

#[derive(Args)]
struct LoadArgs {
    /// `LABEL=COMMAND`: a runner command (repeatable).
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Modes to run (repeatable; default: all).
    #[arg(long = "mode", value_enum)]
    modes: Vec<Mode>,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Length of one (mode, target) slice in a round, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    slice_ms: u64,
    /// Warm-up per (mode, target) before the first round, in milliseconds (not counted).
    #[arg(long, default_value_t = 500)]
    warmup_ms: u64,
    /// Requests in flight in `pipelined` mode.
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// How long a runner may take to start listening, in seconds.
    #[arg(long, default_value_t = 120.0)]
    ready_timeout: f64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Fixtures { out } => fixtures(&out),
        Cmd::Load(args) => {
            // One thread: the load generator should take at most one of the machine's cores.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(load(args))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("fixture timestamp")
        .with_timezone(&Utc)
}

/// The positional and keyword arguments of the typical request (and of every load request).
fn typical_args() -> (Vec<Value>, BTreeMap<String, Value>) {
    let args = vec![
        json!(184467),
        json!("customer-7781@example.com"),
        json!(249.99),
        json!(true),
    ];
    let kwargs = json!({
        "currency": "EUR",
        "items": [{"qty": 2, "sku": "SKU-10442"}],
        "priority": 5,
    });
    let Value::Object(map) = kwargs else {
        unreachable!()
    };
    (args, map.into_iter().collect())
}

fn typical_request(
    job_id: &str,
    request_id: &str,
    function: &str,
    enqueue: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> ExecutionRequest {
    let (args, kwargs) = typical_args();
    let trace: BTreeMap<String, String> = [(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    )]
    .into_iter()
    .collect();
    ExecutionRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        request_id: request_id.to_string(),
        job_id: job_id.to_string(),
        function_name: function.to_string(),
        args,
        kwargs,
        context: ExecutionContext {
            job_id: job_id.to_string(),
            attempt: 2,
            enqueue_time: enqueue,
            queue_name: "default".to_string(),
            deadline: Some(deadline),
            trace_context: Some(trace),
            worker_id: Some("worker-1".to_string()),
        },
    }
}

fn fixtures(out: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let request = RunnerMessage::Request {
        payload: typical_request(
            "job-8f3a2c91d7e4",
            "job-8f3a2c91d7e4:2",
            "process_order",
            ts("2025-03-14T09:26:53.589793238Z"),
            ts("2025-03-14T09:31:53.589793Z"),
        ),
    };
    let (args, kwargs) = typical_args();
    let response = RunnerMessage::Response {
        payload: ExecutionOutcome {
            job_id: Some("job-8f3a2c91d7e4".to_string()),
            request_id: Some("job-8f3a2c91d7e4:2".to_string()),
            status: OutcomeStatus::Success,
            result: Some(
                json!({"args": args, "kwargs": kwargs, "order_id": 184467, "state": "accepted"}),
            ),
            error: None,
            retry_after_seconds: None,
        },
    };
    let mut index = serde_json::Map::new();
    for (name, message) in [("request", &request), ("response", &response)] {
        let frame = encode_frame(message)?;
        // The fixture must read back as itself (canonical bytes are a fixed point).
        let body = &frame[4..];
        let back = decode_message(body)?;
        if encode_message(&back)? != body {
            bail!("{name} fixture is not a canonical fixed point");
        }
        std::fs::write(out.join(format!("{name}.frame")), &frame)?;
        index.insert(
            name.to_string(),
            json!({"frame_len": frame.len(), "body": String::from_utf8(body.to_vec())?}),
        );
    }
    std::fs::write(
        out.join("fixtures.json"),
        serde_json::to_vec_pretty(&Value::Object(index))?,
    )?;
    eprintln!("rrq-bench: fixtures written to {}", out.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Runners and their CPU time

struct Target {
    label: String,
    command: String,
    child: Child,
    pid: i32,
    addr: SocketAddr,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

async fn start_target(label: &str, command: &str, ready: Duration) -> Result<Target> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .env("RRQ_RUNNER_TCP_SOCKET", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("could not start `{command}`"))?;
    let pid = child.id().context("runner exited at once")? as i32;
    let mut target = Target {
        label: label.to_string(),
        command: command.to_string(),
        child,
        pid,
        addr,
    };
    let deadline = Instant::now() + ready;
    loop {
        if let Some(status) = target.child.try_wait()? {
            bail!("{label}: `{command}` exited ({status}) before listening");
        }
        if let Ok(Ok(s)) = timeout(Duration::from_secs(1), TcpStream::connect(addr)).await {
            drop(s);
            return Ok(target);
        }
        if Instant::now() > deadline {
            bail!("{label}: `{command}` did not listen on {addr} in time");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

async fn stop_target(t: &mut Target) {
    // SAFETY: plain syscalls on a process (group) we started.
    unsafe { libc::kill(t.pid, libc::SIGTERM) };
    let _ = timeout(Duration::from_secs(10), t.child.wait()).await;
    unsafe { libc::killpg(t.pid, libc::SIGKILL) };
    let _ = timeout(Duration::from_secs(5), t.child.wait()).await;
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime+stime (clock ticks) of a /proc/PID/stat line and its process group.
fn parse_stat(text: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may hold spaces: fields after the last ')' are fixed.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] = state (field 3), pgrp = field 5 -> f[2]; utime = field 14 -> f[11]; stime f[12].
    let pgrp = f.get(2)?.parse().ok()?;
    let cpu = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((pgrp, cpu))
}

/// CPU ticks used so far by every live process of the group `pgid`.
fn group_cpu_ticks(pgid: i32) -> u64 {
    let mut total = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(format!("/proc/{name}/stat")) {
                if let Some((pgrp, cpu)) = parse_stat(&text) {
                    if pgrp == pgid {
                        total += cpu;
                    }
                }
            }
        }
    }
    total
}

fn self_cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| parse_stat(&t))
        .map_or(0, |x| x.1)
}

// ---------------------------------------------------------------------------------------------
// Requests and verification

struct Gen {
    seq: u64,
    prefix: String,
}

impl Gen {
    fn next(&mut self) -> (String, String, Vec<u8>) {
        self.seq += 1;
        let job = format!("{}-{}", self.prefix, self.seq);
        let rid = format!("{job}:1");
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let req = typical_request(&job, &rid, "echo", now, now + chrono::Duration::hours(1));
        let frame =
            encode_frame(&RunnerMessage::Request { payload: req }).expect("request encodes");
        (job, rid, frame)
    }
}

fn expected_result() -> Value {
    let (args, kwargs) = typical_args();
    json!({"args": args, "kwargs": kwargs})
}

/// Checks one response body against the pending requests; returns the request's send time.
fn verify(
    body: &[u8],
    pending: &mut HashMap<String, (String, Instant)>,
    expected: &Value,
) -> Result<Instant> {
    let message = decode_message(body).map_err(|e| {
        anyhow::anyhow!(
            "undecodable response: {e}: {}",
            String::from_utf8_lossy(body)
        )
    })?;
    let RunnerMessage::Response { payload } = message else {
        bail!("not a response: {}", String::from_utf8_lossy(body))
    };
    let rid = payload
        .request_id
        .as_deref()
        .context("response without request_id")?;
    let Some((job, sent)) = pending.remove(rid) else {
        bail!("response to an unknown or already answered request_id {rid:?}")
    };
    if payload.job_id.as_deref() != Some(job.as_str()) {
        bail!("job_id {:?} does not match {job:?}", payload.job_id);
    }
    if payload.status != OutcomeStatus::Success {
        bail!(
            "status {:?}: {}",
            payload.status,
            String::from_utf8_lossy(body)
        );
    }
    if payload.result.as_ref() != Some(expected) {
        bail!("echo result differs: {}", String::from_utf8_lossy(body));
    }
    Ok(sent)
}

struct Conn {
    stream: TcpStream,
    decoder: FrameDecoder,
    buf: Vec<u8>,
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn> {
        let stream = timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .context("connect timed out")??;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            decoder: FrameDecoder::new(),
            buf: vec![0; 64 * 1024],
        })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        timeout(IO_TIMEOUT, self.stream.write_all(bytes))
            .await
            .context("write timed out")??;
        Ok(())
    }

    /// Reads until at least one whole frame is buffered; returns every buffered body.
    async fn recv_some(&mut self) -> Result<Vec<Vec<u8>>> {
        loop {
            let mut bodies = Vec::new();
            while let Some(b) = self.decoder.next_body() {
                bodies.push(b);
            }
            if !bodies.is_empty() {
                return Ok(bodies);
            }
            let n = timeout(IO_TIMEOUT, self.stream.read(&mut self.buf))
                .await
                .context("read timed out")??;
            if n == 0 {
                bail!(
                    "runner closed the connection ({} bytes of a partial frame)",
                    self.decoder.buffered()
                );
            }
            self.decoder
                .push(&self.buf[..n])
                .map_err(|e| anyhow::anyhow!("bad frame: {e}"))?;
        }
    }
}

#[derive(Default)]
struct Slice {
    requests: u64,
    latencies_us: Vec<u32>,
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// One request at a time on `conn` (or a fresh connection each time) until `until`.
async fn one_at_a_time(
    addr: SocketAddr,
    fresh: bool,
    until: Instant,
    mut gen: Gen,
    expected: &Value,
) -> Result<Slice> {
    let mut out = Slice::default();
    let mut pending = HashMap::new();
    let mut conn = if fresh {
        None
    } else {
        Some(Conn::open(addr).await?)
    };
    while Instant::now() < until {
        let (job, rid, frame) = gen.next();
        let start = Instant::now();
        let mut c = match conn.take() {
            Some(c) => c,
            None => Conn::open(addr).await?,
        };
        pending.insert(rid, (job, start));
        c.send(&frame).await?;
        let bodies = c.recv_some().await?;
        if bodies.len() != 1 {
            bail!("{} responses to one request", bodies.len());
        }
        verify(&bodies[0], &mut pending, expected)?;
        out.latencies_us.push(micros(start.elapsed()));
        out.requests += 1;
        if !fresh {
            conn = Some(c);
        }
    }
    if !pending.is_empty() {
        bail!("{} requests unanswered", pending.len());
    }
    Ok(out)
}

async fn pipelined(
    addr: SocketAddr,
    window: usize,
    until: Instant,
    mut gen: Gen,
    expected: &Value,
) -> Result<Slice> {
    let mut out = Slice::default();
    let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
    let mut conn = Conn::open(addr).await?;
    let mut batch = Vec::new();
    let fill = |n: usize,
                gen: &mut Gen,
                pending: &mut HashMap<String, (String, Instant)>,
                batch: &mut Vec<u8>| {
        batch.clear();
        let now = Instant::now();
        for _ in 0..n {
            let (job, rid, frame) = gen.next();
            pending.insert(rid, (job, now));
            batch.extend_from_slice(&frame);
        }
    };
    fill(window, &mut gen, &mut pending, &mut batch);
    conn.send(&batch).await?;
    while !pending.is_empty() {
        let bodies = conn.recv_some().await?;
        let now = Instant::now();
        for body in &bodies {
            let sent = verify(body, &mut pending, expected)?;
            out.latencies_us.push(micros(now - sent));
            out.requests += 1;
        }
        if now < until {
            fill(bodies.len(), &mut gen, &mut pending, &mut batch);
            conn.send(&batch).await?;
        }
    }
    Ok(out)
}

async fn run_slice(
    mode: Mode,
    addr: SocketAddr,
    dur: Duration,
    window: usize,
    tag: &str,
    expected: &Value,
) -> Result<Slice> {
    let until = Instant::now() + dur;
    let gen = |i: usize| Gen {
        seq: 0,
        prefix: format!("{tag}-c{i}"),
    };
    match mode {
        Mode::Serial => one_at_a_time(addr, false, until, gen(0), expected).await,
        Mode::Fresh => one_at_a_time(addr, true, until, gen(0), expected).await,
        Mode::Pipelined => pipelined(addr, window, until, gen(0), expected).await,
        Mode::Conns16 => {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..16 {
                let g = gen(i);
                let e = expected.clone();
                set.spawn(async move { one_at_a_time(addr, false, until, g, &e).await });
            }
            let mut total = Slice::default();
            while let Some(r) = set.join_next().await {
                let s = r??;
                total.requests += s.requests;
                total.latencies_us.extend(s.latencies_us);
            }
            Ok(total)
        }
    }
}

#[derive(Default)]
struct Acc {
    requests: u64,
    wall: Duration,
    cpu_ticks: u64,
    self_ticks: u64,
    latencies_us: Vec<u32>,
    rounds_rps: Vec<f64>,
    rounds_cpu_us: Vec<f64>,
    error: Option<String>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

async fn load(args: LoadArgs) -> Result<()> {
    let modes = if args.modes.is_empty() {
        vec![Mode::Serial, Mode::Conns16, Mode::Fresh, Mode::Pipelined]
    } else {
        args.modes.clone()
    };
    let ready = Duration::from_secs_f64(args.ready_timeout);
    let mut targets = Vec::new();
    for spec in &args.targets {
        let (label, command) = spec.split_once('=').context("--target is LABEL=COMMAND")?;
        eprintln!("rrq-bench: starting {label}: {command}");
        targets.push(start_target(label, command, ready).await?);
    }
    let expected = expected_result();
    let tick_us = 1e6 / clock_ticks();
    let mut acc: BTreeMap<(usize, usize), Acc> = BTreeMap::new();
    let started = Instant::now();

    // Warm-up (not counted): every mode against every target.
    for (mi, &mode) in modes.iter().enumerate() {
        for (ti, t) in targets.iter().enumerate() {
            let tag = format!("warm-{}-{}", mode.name(), t.label);
            if let Err(e) = run_slice(
                mode,
                t.addr,
                Duration::from_millis(args.warmup_ms),
                args.window,
                &tag,
                &expected,
            )
            .await
            {
                acc.entry((mi, ti)).or_default().error = Some(format!("warm-up: {e:#}"));
            }
        }
    }
    for round in 0..args.rounds {
        for (mi, &mode) in modes.iter().enumerate() {
            let n = targets.len();
            for k in 0..n {
                let ti = (k + round) % n;
                let t = &targets[ti];
                let a = acc.entry((mi, ti)).or_default();
                if a.error.is_some() {
                    continue;
                }
                let tag = format!("r{round}-{}-{}", mode.name(), t.label);
                let cpu0 = group_cpu_ticks(t.pid);
                let self0 = self_cpu_ticks();
                let w0 = Instant::now();
                let r = run_slice(
                    mode,
                    t.addr,
                    Duration::from_millis(args.slice_ms),
                    args.window,
                    &tag,
                    &expected,
                )
                .await;
                let wall = w0.elapsed();
                let cpu = group_cpu_ticks(t.pid).saturating_sub(cpu0);
                let own = self_cpu_ticks().saturating_sub(self0);
                match r {
                    Ok(s) => {
                        a.requests += s.requests;
                        a.wall += wall;
                        a.cpu_ticks += cpu;
                        a.self_ticks += own;
                        if s.requests > 0 {
                            a.rounds_rps.push(s.requests as f64 / wall.as_secs_f64());
                            a.rounds_cpu_us
                                .push(cpu as f64 * tick_us / s.requests as f64);
                        }
                        a.latencies_us.extend(s.latencies_us);
                    }
                    Err(e) => {
                        eprintln!("rrq-bench: {} {}: {e:#}", t.label, mode.name());
                        a.error = Some(format!("{e:#}"));
                    }
                }
            }
        }
        eprintln!(
            "rrq-bench: round {}/{} done ({:.0} s)",
            round + 1,
            args.rounds,
            started.elapsed().as_secs_f64()
        );
    }
    let mut results = Vec::new();
    for (mi, &mode) in modes.iter().enumerate() {
        for (ti, t) in targets.iter().enumerate() {
            let mut a = acc.remove(&(mi, ti)).unwrap_or_default();
            a.latencies_us.sort_unstable();
            let secs = a.wall.as_secs_f64();
            let reqs = a.requests.max(1) as f64;
            results.push(json!({
                "target": t.label,
                "command": t.command,
                "mode": mode.name(),
                "requests": a.requests,
                "seconds": secs,
                "rps": if secs > 0.0 { a.requests as f64 / secs } else { 0.0 },
                "rps_round_median": median(&a.rounds_rps),
                "p50_us": percentile(&a.latencies_us, 50.0),
                "p99_us": percentile(&a.latencies_us, 99.0),
                "cpu_us_per_req": a.cpu_ticks as f64 * tick_us / reqs,
                "cpu_us_per_req_round_median": median(&a.rounds_cpu_us),
                "runner_cpu_util": if secs > 0.0 { a.cpu_ticks as f64 * tick_us / 1e6 / secs } else { 0.0 },
                "loadgen_cpu_us_per_req": a.self_ticks as f64 * tick_us / reqs,
                "verified": a.error.is_none() && a.requests > 0,
                "error": a.error,
            }));
        }
    }
    for t in targets.iter_mut() {
        stop_target(t).await;
    }
    let doc = json!({
        "rounds": args.rounds,
        "slice_ms": args.slice_ms,
        "window": args.window,
        "clock_ticks_per_s": clock_ticks(),
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    let failed = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verified"] != Value::Bool(true))
        .count();
    if failed > 0 {
        bail!("{failed} (mode, target) pair(s) failed verification");
    }
    Ok(())
}
