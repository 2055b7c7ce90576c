//! `rrq-bench`: the Rust side of `./bench.sh`.
//!
//! ```text
//! rrq-bench fixtures --out DIR [--protocol 1|2]   # canonical request/response frames for the codec benchmarks
//! rrq-bench load --target 'py=examples/python/run.sh --protocol 1' \
//!     --target 'up-0.11.1@2=conformance/peers/upstream.sh 0.11.1' [--protocol 1|2] \
//!     --mode serial --mode conns16 --mode fresh --mode pipelined --rounds 5 --slice-ms 2000
//! ```
//!
//! A target is `LABEL[@PROTOCOL]=COMMAND`: the protocol version it is spoken to in (default:
//! `--protocol`), so that runners of both versions take part in one interleaved run; a label may
//! appear once per version. `load` starts every target command the way the RRQ orchestrator of
//! its version does (`sh -c 'exec COMMAND'` in its own process group; protocol 1 as RRQ 0.9:
//! the address in `RRQ_RUNNER_TCP_SOCKET`; protocol 2 as RRQ 0.10+: `--tcp-socket HOST:PORT`
//! appended to the command line, the variable unset), then runs the modes against the targets
//! in interleaved rounds (round r: every mode, every target, the target order rotated each
//! round), each (mode, target) for one time slice per round. It verifies every response
//! (exactly one per request, job_id and request_id match, status success, the echo of the
//! request's inputs: v1 `{"args", "kwargs"}`, v2 `{"params"}`) and reports requests/s, latency
//! percentiles and the CPU time of the runner's process group per request (utime+stime from
//! /proc, before/after each slice). Output: one JSON document, one result per (mode, target),
//! each with its protocol. The load generator is `rrq_conformance::load`, which the
//! conformance suite's `load` suite runs briefly.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rrq_conformance::load::{self, median, percentile, Mode};
use rrq_conformance::process::{TCP_SOCKET_ENV, TCP_SOCKET_FLAG};
use rrq_conformance::version::{Message, Version};
use rrq_protocol::outcome::{ExecutionOutcome, OutcomeStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;
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
        /// Protocol version of the frames.
        #[arg(long, default_value = "1", value_parser = ["1", "2"])]
        protocol: String,
    },
    /// Drive runners with echo requests and measure them.
    Load(LoadArgs),
}

#[derive(Args)]
struct LoadArgs {
    /// `LABEL[@PROTOCOL]=COMMAND`: a runner command and the protocol version to speak to it
    /// (default: `--protocol`) (repeatable).
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// Protocol version of the targets that do not name one.
    #[arg(long, default_value = "1", value_parser = ["1", "2"])]
    protocol: String,
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

fn version(text: &str) -> Version {
    Version::parse(text).expect("clap checked it")
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Fixtures { out, protocol } => fixtures(&out, version(&protocol)),
        Cmd::Load(args) => {
            // One thread: the load generator should take at most one of the machine's cores.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(run_load(args))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn ts(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("fixture timestamp")
        .with_timezone(&chrono::Utc)
}

fn fixtures(out: &std::path::Path, version: Version) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let request = load::typical_request(
        version,
        "job-8f3a2c91d7e4",
        "job-8f3a2c91d7e4:2",
        "process_order",
        ts("2025-03-14T09:26:53.589793238Z"),
        ts("2025-03-14T09:31:53.589793Z"),
    );
    let mut result = version.echo_result(&request);
    result["order_id"] = json!(184467);
    result["state"] = json!("accepted");
    let response = ExecutionOutcome {
        job_id: Some("job-8f3a2c91d7e4".to_string()),
        request_id: Some("job-8f3a2c91d7e4:2".to_string()),
        status: OutcomeStatus::Success,
        result: Some(result),
        error: None,
        retry_after_seconds: None,
    };
    let mut index = serde_json::Map::new();
    for (name, message) in [
        ("request", Message::Request(request)),
        ("response", Message::Response(response)),
    ] {
        let body = version.encode(&message);
        // The fixture must read back as itself (canonical bytes are a fixed point).
        let back = version.decode(&body)?;
        if version.encode(&back) != body {
            bail!("{name} fixture is not a canonical fixed point");
        }
        let frame = rrq_conformance::version::frame_of(&body);
        std::fs::write(out.join(format!("{name}.frame")), &frame)?;
        index.insert(
            name.to_string(),
            json!({"frame_len": frame.len(), "body": String::from_utf8(body)?}),
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
// Runners

struct Target {
    label: String,
    command: String,
    version: Version,
    child: Child,
    pid: i32,
    addr: SocketAddr,
}

/// `LABEL[@PROTOCOL]=COMMAND` → (label, version, command).
fn parse_target(spec: &str, default: Version) -> Result<(String, Version, String)> {
    let (name, command) = spec
        .split_once('=')
        .context("--target is LABEL[@PROTOCOL]=COMMAND")?;
    let (label, version) = match name.rsplit_once('@') {
        Some((label, v)) => (
            label,
            Version::parse(v)
                .with_context(|| format!("--target {name}: protocol is 1 or 2, not {v:?}"))?,
        ),
        None => (name, default),
    };
    if label.is_empty() || command.trim().is_empty() {
        bail!("--target {spec:?}: LABEL and COMMAND must not be empty");
    }
    Ok((label.to_string(), version, command.to_string()))
}

/// The shell line and the environment variable (if any) that hand `addr` to a runner the way
/// the orchestrator of `version` does.
fn launch_line(command: &str, version: Version, addr: SocketAddr) -> (String, Option<String>) {
    match version {
        Version::V1 => (format!("exec {command}"), Some(addr.to_string())),
        Version::V2 => (format!("exec {command} {TCP_SOCKET_FLAG} {addr}"), None),
    }
}

async fn start_target(
    label: &str,
    version: Version,
    command: &str,
    ready: Duration,
) -> Result<Target> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, rrq_conformance::process::free_port()?));
    let (line, env) = launch_line(command, version, addr);
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&line);
    match env {
        Some(value) => cmd.env(TCP_SOCKET_ENV, value),
        None => cmd.env_remove(TCP_SOCKET_ENV),
    };
    let child = cmd
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
        version,
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

async fn run_load(args: LoadArgs) -> Result<()> {
    let default_version = version(&args.protocol);
    let modes = if args.modes.is_empty() {
        Mode::ALL.to_vec()
    } else {
        args.modes.clone()
    };
    let ready = Duration::from_secs_f64(args.ready_timeout);
    let mut targets = Vec::new();
    let mut specs = Vec::new();
    for spec in &args.targets {
        let (label, version, command) = parse_target(spec, default_version)?;
        if specs
            .iter()
            .any(|(l, v, _): &(String, Version, String)| *l == label && *v == version)
        {
            bail!("--target {label}@{version} is given twice");
        }
        specs.push((label, version, command));
    }
    for (label, version, command) in &specs {
        eprintln!("rrq-bench: starting {label} (protocol {version}): {command}");
        targets.push(start_target(label, *version, command, ready).await?);
    }
    let expected: BTreeMap<&'static str, Value> = Version::ALL
        .iter()
        .map(|v| (v.protocol_version(), load::expected_result(*v)))
        .collect();
    let expected_of = |v: Version| &expected[v.protocol_version()];
    let tick_us = 1e6 / load::clock_ticks();
    let mut acc: BTreeMap<(usize, usize), Acc> = BTreeMap::new();
    let started = Instant::now();

    // Warm-up (not counted): every mode against every target.
    for (mi, &mode) in modes.iter().enumerate() {
        for (ti, t) in targets.iter().enumerate() {
            let tag = format!("warm-{}-{}-v{}", mode.name(), t.label, t.version);
            let warm = Duration::from_millis(args.warmup_ms);
            let expected = expected_of(t.version);
            if let Err(e) =
                load::run_slice(t.version, mode, t.addr, warm, args.window, &tag, expected).await
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
                let tag = format!("r{round}-{}-{}-v{}", mode.name(), t.label, t.version);
                let slice = Duration::from_millis(args.slice_ms);
                match load::measure(
                    t.version,
                    mode,
                    t.addr,
                    Some(t.pid),
                    slice,
                    args.window,
                    &tag,
                    expected_of(t.version),
                )
                .await
                {
                    Ok(m) => {
                        let cpu = m.runner_ticks.unwrap_or(0);
                        a.requests += m.slice.requests;
                        a.wall += m.wall;
                        a.cpu_ticks += cpu;
                        a.self_ticks += m.self_ticks;
                        if m.slice.requests > 0 {
                            a.rounds_rps
                                .push(m.slice.requests as f64 / m.wall.as_secs_f64());
                            a.rounds_cpu_us
                                .push(cpu as f64 * tick_us / m.slice.requests as f64);
                        }
                        a.latencies_us.extend(m.slice.latencies_us);
                    }
                    Err(e) => {
                        eprintln!(
                            "rrq-bench: {} (protocol {}) {}: {e:#}",
                            t.label,
                            t.version,
                            mode.name()
                        );
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
                "protocol": t.version.protocol_version(),
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
    let mut protocols: Vec<&str> = targets
        .iter()
        .map(|t| t.version.protocol_version())
        .collect();
    protocols.sort_unstable();
    protocols.dedup();
    let doc = json!({
        "protocols": protocols,
        "rounds": args.rounds,
        "slice_ms": args.slice_ms,
        "window": args.window,
        "clock_ticks_per_s": load::clock_ticks(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_names_its_protocol_or_takes_the_default() {
        let (label, v, cmd) =
            parse_target("up-0.11.1@2=upstream.sh 0.11.1 --x=1", Version::V1).unwrap();
        assert_eq!(
            (label.as_str(), v, cmd.as_str()),
            ("up-0.11.1", Version::V2, "upstream.sh 0.11.1 --x=1")
        );
        let (label, v, cmd) = parse_target("py=run.sh --protocol 1", Version::V1).unwrap();
        assert_eq!(
            (label.as_str(), v, cmd.as_str()),
            ("py", Version::V1, "run.sh --protocol 1")
        );
        assert!(parse_target("py@3=run.sh", Version::V1).is_err());
        assert!(parse_target("py", Version::V1).is_err());
        assert!(parse_target("=run.sh", Version::V1).is_err());
        assert!(parse_target("@2=run.sh", Version::V1).is_err());
    }

    #[test]
    fn the_address_goes_where_each_orchestrator_puts_it() {
        let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            launch_line("run.sh", Version::V1, addr),
            (
                "exec run.sh".to_string(),
                Some("127.0.0.1:9000".to_string())
            )
        );
        assert_eq!(
            launch_line("run.sh", Version::V2, addr),
            ("exec run.sh --tcp-socket 127.0.0.1:9000".to_string(), None)
        );
    }
}
