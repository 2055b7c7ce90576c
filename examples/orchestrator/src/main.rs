//! `rrq-orchestrator`: drives an RRQ runner over TCP like the RRQ orchestrator does.
//!
//! ```text
//! rrq-orchestrator --runner 'examples/python/run.sh'                 # every scenario
//! rrq-orchestrator --runner 'examples/python/run.sh' --scenario echo_text --scenario fail_with_message
//! rrq-orchestrator --list
//! rrq-orchestrator send --runner 'examples/python/run.sh' --function echo --args '[1,2]' --kwargs '{"a":1}'
//! rrq-orchestrator send --address 127.0.0.1:9000 --function sleep --kwargs '{"seconds":1}'
//! ```
//!
//! Scenario mode prints one JSON line per scenario on stdout (`{"scenario", "passed", "outcome"}`
//! and `problems` when it failed) and exits 1 if any failed, 2 if it could not run at all. The
//! runner's own output goes to stderr.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rrq_example_orchestrator::process::Runner;
use rrq_example_orchestrator::scenarios::{self, Report, SCENARIOS};
use rrq_example_orchestrator::wire;
use rrq_protocol::v1::{ExecutionContext, ExecutionRequest, OutcomeStatus, PROTOCOL_VERSION};
use serde_json::Value;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// `println!` that ignores a closed stdout (e.g. piped into `head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "rrq-orchestrator",
    version,
    about = "Drives an RRQ runner over TCP like the RRQ orchestrator does: runs the end-to-end scenarios, or sends one job",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Send one job and print the response frame's JSON (exit 0 on success, 1 on any other
    /// outcome, 2 on a transport error).
    Send(SendArgs),
    /// Compare the outputs of scenario runs against several runners: print a per-scenario
    /// table, and exit 0 only if every run has every scenario, all passed, and all lines are
    /// byte-identical across runs.
    Compare(CompareArgs),
}

#[derive(Args)]
struct CompareArgs {
    /// `LABEL=FILE`: the stdout of one scenario run (e.g. `python=out/python.jsonl`).
    #[arg(required = true, num_args = 2.., value_name = "LABEL=FILE")]
    runs: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Shell command that starts the runner; it gets RRQ_RUNNER_TCP_SOCKET=127.0.0.1:PORT
    /// (run as `sh -c 'exec COMMAND'`, stdin closed, output to stderr).
    #[arg(long, value_name = "COMMAND", required_unless_present = "list")]
    runner: Option<String>,
    /// Run only this scenario (repeatable; in the order given). Default: all.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// How long the runner may take to start listening (it may build first).
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    ready_timeout: f64,
}

#[derive(Args)]
struct SendArgs {
    /// Shell command that starts the runner (stopped again after the job).
    #[arg(long, value_name = "COMMAND", conflicts_with = "address", required_unless_present = "address")]
    runner: Option<String>,
    /// Address of a runner that is already listening, e.g. 127.0.0.1:9000.
    #[arg(long, value_name = "HOST:PORT")]
    address: Option<SocketAddr>,
    /// Handler to call.
    #[arg(long)]
    function: String,
    /// Positional arguments: a JSON array.
    #[arg(long, default_value = "[]")]
    args: String,
    /// Keyword arguments: a JSON object.
    #[arg(long, default_value = "{}")]
    kwargs: String,
    /// Job id (the request id is derived from it).
    #[arg(long, default_value = "job-1")]
    job_id: String,
    /// Seconds to wait for the response.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
    /// How long the runner may take to start listening.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    ready_timeout: f64,
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::from_secs(60))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Send(args)) => send(args).await,
        Some(Command::Compare(args)) => compare(args),
        None => run(cli.run).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rrq-orchestrator: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn emit(line: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    if args.list {
        for s in SCENARIOS {
            let runner = if s.own_runner { " [own runner]" } else { "" };
            say!("{:<32} {}{runner}", s.name, s.description);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let command = args.runner.context("--runner is required")?;
    let names: Vec<&str> = if args.scenarios.is_empty() {
        SCENARIOS.iter().map(|s| s.name).collect()
    } else {
        args.scenarios.iter().map(String::as_str).collect()
    };
    let mut selected = Vec::new();
    for name in names {
        match scenarios::find(name) {
            Some(s) => selected.push(s),
            None => bail!("unknown scenario {name:?} (see --list)"),
        }
    }
    let ready = seconds(args.ready_timeout);
    // On Ctrl-C / SIGTERM of the orchestrator itself, stop and drop everything we started
    // (dropping a Runner kills its process group): runners live in their own process groups and
    // would not see the terminal's signal.
    let mut shared: Option<Result<Runner, String>> = None;
    let mut failed = 0;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupted = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    tokio::pin!(interrupted);
    for scenario in selected {
        let report = if scenario.own_runner {
            match Runner::start(&command, ready).await {
                Ok(mut runner) => {
                    let addr = runner.addr();
                    let report = tokio::select! {
                        r = scenarios::run(scenario.name, addr, Some(&mut runner)) => r,
                        _ = &mut interrupted => bail!("interrupted"),
                    };
                    runner.stop(Duration::from_secs(5)).await;
                    report
                }
                Err(e) => Report::not_run(format!("{e:#}")),
            }
        } else {
            if shared.is_none() {
                shared = Some(Runner::start(&command, ready).await.map_err(|e| format!("{e:#}")));
            }
            match shared.as_ref().expect("just set") {
                Ok(runner) => {
                    let addr = runner.addr();
                    tokio::select! {
                        r = scenarios::run(scenario.name, addr, None) => r,
                        _ = &mut interrupted => bail!("interrupted"),
                    }
                }
                Err(e) => Report::not_run(e.clone()),
            }
        };
        if !report.passed() {
            failed += 1;
        }
        emit(&report.line(scenario.name));
    }
    if let Some(Ok(mut runner)) = shared {
        let status = runner.stop(Duration::from_secs(10)).await;
        if !status.is_some_and(|s| s.success()) {
            eprintln!("rrq-orchestrator: the shared runner did not exit cleanly on SIGTERM: {status:?}");
        }
    }
    if failed > 0 {
        eprintln!("rrq-orchestrator: {failed} scenario(s) failed");
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

async fn send(args: SendArgs) -> Result<ExitCode> {
    let parsed_args: Value = serde_json::from_str(&args.args).context("--args is not JSON")?;
    let Value::Array(positional) = parsed_args else { bail!("--args must be a JSON array") };
    let parsed_kwargs: Value = serde_json::from_str(&args.kwargs).context("--kwargs is not JSON")?;
    let Value::Object(keyword) = parsed_kwargs else { bail!("--kwargs must be a JSON object") };
    let request = ExecutionRequest {
        protocol_version: PROTOCOL_VERSION.to_string(),
        request_id: format!("{}-request-1", args.job_id),
        job_id: args.job_id.clone(),
        function_name: args.function.clone(),
        args: positional,
        kwargs: keyword.into_iter().collect(),
        context: ExecutionContext {
            job_id: args.job_id.clone(),
            attempt: 1,
            enqueue_time: chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()),
            queue_name: "default".to_string(),
            deadline: None,
            trace_context: None,
            worker_id: Some("rrq-orchestrator".to_string()),
        },
    };
    let mut runner = None;
    let addr = match (&args.address, &args.runner) {
        (Some(addr), _) => *addr,
        (None, Some(command)) => {
            let started = Runner::start(command, seconds(args.ready_timeout)).await?;
            let addr = started.addr();
            runner = Some(started);
            addr
        }
        (None, None) => bail!("give --runner or --address"),
    };
    let result = wire::call(addr, &request, seconds(args.timeout)).await;
    if let Some(mut runner) = runner {
        runner.stop(Duration::from_secs(10)).await;
    }
    match result {
        Ok(received) => {
            // The response exactly as the runner wrote it.
            emit(&received.body);
            if !received.is_canonical() {
                eprintln!(
                    "rrq-orchestrator: warning: the response is not in canonical form; canonical: {}",
                    String::from_utf8_lossy(&received.canonical)
                );
            }
            Ok(if received.outcome.status == OutcomeStatus::Success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => {
            eprintln!("rrq-orchestrator: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn compare(args: CompareArgs) -> Result<ExitCode> {
    let mut runs = Vec::new();
    for spec in &args.runs {
        let (label, path) = spec.split_once('=').context("each run is LABEL=FILE")?;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let mut lines = std::collections::HashMap::new();
        for line in text.lines() {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{path}: not a scenario line: {line}"))?;
            let name = value["scenario"].as_str().context("line without a scenario")?.to_string();
            let passed = value["passed"] == Value::Bool(true);
            lines.insert(name, (passed, line.to_string()));
        }
        runs.push((label.to_string(), lines));
    }
    let width = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut header = format!("{:<width$}", "scenario");
    for (label, _) in &runs {
        header.push_str(&format!("  {label:<10}"));
    }
    header.push_str("  identical");
    say!("{header}");
    let mut bad = Vec::new();
    for scenario in SCENARIOS {
        let mut row = format!("{:<width$}", scenario.name);
        let cells: Vec<Option<&(bool, String)>> = runs.iter().map(|(_, l)| l.get(scenario.name)).collect();
        for cell in &cells {
            let text = match cell {
                None => "missing",
                Some((true, _)) => "pass",
                Some((false, _)) => "FAIL",
            };
            row.push_str(&format!("  {text:<10}"));
        }
        let all_present = cells.iter().all(Option::is_some);
        let identical = all_present && cells.windows(2).all(|w| w[0].map(|c| &c.1) == w[1].map(|c| &c.1));
        let all_passed = all_present && cells.iter().all(|c| c.is_some_and(|c| c.0));
        row.push_str(if identical { "  yes" } else { "  NO" });
        say!("{row}");
        if !identical || !all_passed {
            bad.push((scenario.name, cells));
        }
    }
    for (name, cells) in &bad {
        eprintln!("\n{name}:");
        for ((label, _), cell) in runs.iter().zip(cells) {
            eprintln!("  {label}: {}", cell.map_or("(missing)", |c| c.1.as_str()));
        }
    }
    if bad.is_empty() {
        say!("all {} scenarios passed with byte-identical outcomes across {} runners", SCENARIOS.len(), runs.len());
        Ok(ExitCode::SUCCESS)
    } else {
        say!("{} scenario(s) failed or differ", bad.len());
        Ok(ExitCode::from(1))
    }
}
