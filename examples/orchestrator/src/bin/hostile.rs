//! `rrq-hostile`: hostile clients against an RRQ runner (see `rrq_example_orchestrator::hostile`).
//!
//! ```text
//! rrq-hostile --runner examples/python/run.sh                        # every scenario
//! rrq-hostile --runner examples/python/run.sh --scenario slowloris   # some of them
//! rrq-hostile --list
//! rrq-hostile table python=out/python.jsonl typescript=out/typescript.jsonl
//! ```
//!
//! Runs the scenarios one after another against one runner (started again if a scenario killed
//! it) and prints one JSON line per scenario on stdout: `scenario`, `passed`, `seconds`,
//! `rss_kib` (`before`, `peak`, `after`, `growth`, `budget`), `facts`, `problems`. Progress and the
//! runner's own output go to stderr, each scenario preceded by a line `rrq-hostile: == NAME`.
//! Exit status: 0 when every scenario passed, 1 when one failed, 2 when nothing could run.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rrq_example_orchestrator::hostile::{self, SCENARIOS};
use rrq_example_orchestrator::process::Runner;
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "rrq-hostile",
    version,
    about = "Hostile clients against an RRQ runner: bad frames, slow and flooding clients; checks it survives, answers and stays bounded",
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
    /// Print a scenario x runner table from the outputs of several runs; exit 0 only if every
    /// run has every scenario and all passed.
    Table(TableArgs),
}

#[derive(Args)]
struct TableArgs {
    /// `LABEL=FILE`: the stdout of one run (e.g. `python=out/python.jsonl`).
    #[arg(required = true, value_name = "LABEL=FILE")]
    runs: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Shell command that starts the runner; it gets RRQ_RUNNER_TCP_SOCKET=127.0.0.1:PORT.
    #[arg(long, value_name = "COMMAND", required_unless_present = "list")]
    runner: Option<String>,
    /// Run only this scenario (repeatable). Default: all.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// List the scenarios with their memory budgets and exit.
    #[arg(long)]
    list: bool,
    /// How long the runner may take to start listening (it may build first).
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    ready_timeout: f64,
    /// Run every scenario against one runner (started again only if one killed it), instead of
    /// a fresh runner per scenario. Faster, but the memory growth of a scenario is then measured
    /// on a heap that earlier scenarios already grew (interpreters keep freed memory).
    #[arg(long)]
    shared_runner: bool,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Table(args)) => table(args),
        None => run(cli.run).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rrq-hostile: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    if args.list {
        for s in SCENARIOS {
            say(&format!(
                "{:<28} budget {:>4} MiB  {}",
                s.name,
                s.budget >> 20,
                s.description
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let command = args.runner.context("--runner is required")?;
    let mut selected = Vec::new();
    if args.scenarios.is_empty() {
        selected.extend(SCENARIOS.iter());
    } else {
        for name in &args.scenarios {
            match hostile::find(name) {
                Some(s) => selected.push(s),
                None => bail!("unknown scenario {name:?} (see --list)"),
            }
        }
    }
    let ready = Duration::try_from_secs_f64(args.ready_timeout).unwrap_or(Duration::from_secs(120));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupted = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    tokio::pin!(interrupted);
    let mut runner: Option<Runner> = None;
    let mut failed = 0;
    for scenario in selected {
        if runner.is_none() {
            runner = Some(
                Runner::start(&command, ready)
                    .await
                    .context("could not start the runner")?,
            );
        }
        let r = runner.as_mut().expect("just started");
        eprintln!("rrq-hostile: == {}", scenario.name);
        let outcome = tokio::select! {
            o = hostile::run(scenario, r) => o,
            _ = &mut interrupted => bail!("interrupted"),
        };
        eprintln!(
            "rrq-hostile: {} {} ({:.1} s, RSS {} -> peak {} KiB)",
            scenario.name,
            if outcome.passed() { "passed" } else { "FAILED" },
            outcome.seconds,
            outcome.rss_before_kib,
            outcome.rss_peak_kib
        );
        for problem in &outcome.problems {
            eprintln!("rrq-hostile:   {problem}");
        }
        if !outcome.passed() {
            failed += 1;
        }
        say(&outcome.line(scenario));
        // A runner that died is started again for the next scenario.
        if let Some(status) = r.wait(Duration::from_millis(1)).await {
            eprintln!("rrq-hostile: the runner exited ({status}); starting a new one");
            runner = None;
        } else if !args.shared_runner {
            stop(runner.take());
        }
    }
    stop(runner);
    if failed > 0 {
        eprintln!("rrq-hostile: {failed} scenario(s) failed");
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Stops a runner without waiting for it: SIGKILL to its process group (a runner's shutdown is
/// not what these tests are about; the end-to-end test checks it).
fn stop(runner: Option<Runner>) {
    if let Some(r) = runner {
        r.kill_group();
    }
}

fn table(args: TableArgs) -> Result<ExitCode> {
    let mut runs = Vec::new();
    for spec in &args.runs {
        let (label, path) = spec.split_once('=').context("each run is LABEL=FILE")?;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let mut lines = std::collections::HashMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{path}: not a result line: {line}"))?;
            let name = value["scenario"]
                .as_str()
                .context("a line without a scenario")?
                .to_string();
            lines.insert(name, value);
        }
        runs.push((label.to_string(), lines));
    }
    let width = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut header = format!("{:<width$}", "scenario");
    for (label, _) in &runs {
        header.push_str(&format!(
            "  {:<34}",
            format!("{label} (RSS growth / budget, time)")
        ));
    }
    say(&header);
    let mut bad = 0;
    for scenario in SCENARIOS {
        let mut row = format!("{:<width$}", scenario.name);
        for (_, lines) in &runs {
            let cell = match lines.get(scenario.name) {
                None => {
                    bad += 1;
                    "missing".to_string()
                }
                Some(v) => {
                    let passed = v["passed"] == Value::Bool(true);
                    if !passed {
                        bad += 1;
                    }
                    let rss = &v["rss_kib"];
                    format!(
                        "{} {:>6} / {:>6} KiB, {:>5.1} s",
                        if passed { "pass" } else { "FAIL" },
                        rss["growth"].as_u64().unwrap_or(0),
                        rss["budget"].as_u64().unwrap_or(0),
                        v["seconds"].as_f64().unwrap_or(0.0)
                    )
                }
            };
            row.push_str(&format!("  {cell:<34}"));
        }
        say(&row);
    }
    if bad == 0 {
        say(&format!(
            "all {} hostile scenarios passed against {} runners",
            SCENARIOS.len(),
            runs.len()
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        say(&format!("{bad} scenario run(s) failed or missing"));
        Ok(ExitCode::from(1))
    }
}
