//! `rrq-conformance`: the RRQ runner conformance suite (docs/CONFORMANCE.md).
//!
//! ```text
//! rrq-conformance --runner 'examples/python/run.sh --protocol 1' --protocol 1
//! rrq-conformance --runner './my-runner' --protocol 2 --suite behaviour,corpus --level required
//! rrq-conformance --address 127.0.0.1:9000 --protocol 2 --json
//! rrq-conformance --list [--markdown] [--protocol N] [--suite ...]
//! rrq-conformance compare python=py.jsonl typescript=ts.jsonl     # outputs of --json runs
//! rrq-conformance table python=py.jsonl typescript=ts.jsonl
//! ```
//!
//! Prints one line per case, `STATUS  LEVEL  CASE  REASON` (STATUS: PASS, FAIL, XFAIL for a
//! listed expected failure, XPASS for a listed one that passed, SKIP), and a closing line
//! `N passed, M failed`. Exit status: 0 when every case that ran passed (expected failures
//! aside), 1 otherwise, 2 when the suite could not run (bad options, no corpus).

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use rrq_conformance::case::{ExpectedFailures, Level, Suite};
use rrq_conformance::driver::{self, Run};
use rrq_conformance::env::{LoadOptions, Settings, Target};
use rrq_conformance::version::Version;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "rrq-conformance",
    version,
    about = "The RRQ runner conformance suite: checks a runner, in any language, over its TCP socket",
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
    /// Compare `--json` outputs of several runners: exit 0 only if every case ran in every
    /// output, passed (or was skipped, or is a listed expected failure) everywhere, and every
    /// case that passed everywhere with an outcome has the same outcome bytes (apart from the
    /// listed known differences).
    Compare(CompareArgs),
    /// A case x runner table from `--json` outputs (standing and note of each case).
    Table(Files),
}

#[derive(Args)]
struct CompareArgs {
    #[command(flatten)]
    files: Files,
    /// Cases whose outcomes are known to differ across the runners: one case id per line, `#`
    /// comments. A listed case whose outcomes are identical fails the comparison (the list is
    /// stale).
    #[arg(long, value_name = "FILE")]
    known_differences: Option<PathBuf>,
}

#[derive(Args)]
struct Files {
    /// `LABEL=FILE`: the stdout of one `--json` run.
    #[arg(required = true, value_name = "LABEL=FILE")]
    runs: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// Shell command that starts the runner under test. The suite runs it as
    /// `sh -c 'exec COMMAND'` in a process group of its own, stdin from /dev/null, and gives it
    /// the address the way the RRQ orchestrator of the protocol version does: protocol 1 in
    /// RRQ_RUNNER_TCP_SOCKET=127.0.0.1:PORT, protocol 2 as `--tcp-socket 127.0.0.1:PORT`
    /// appended to the command.
    #[arg(long, value_name = "COMMAND", conflicts_with = "address", required_unless_present_any = ["address", "list"])]
    runner: Option<String>,
    /// A runner that is already listening (cases that start, signal or measure the runner
    /// process are skipped).
    #[arg(long, value_name = "HOST:PORT")]
    address: Option<SocketAddr>,
    /// Protocol version to speak: 1 (RRQ 0.9.x) or 2 (RRQ 0.10 onward).
    #[arg(long, default_value = "2", value_parser = ["1", "2"])]
    protocol: String,
    /// Suites to run, in this order: behaviour, framing, corpus, hostile, load (default all).
    #[arg(long, value_delimiter = ',', value_name = "SUITE,...")]
    suite: Vec<String>,
    /// `required` runs only the required cases; `recommended` (the default) runs every case.
    #[arg(long, default_value = "recommended", value_parser = ["required", "recommended"])]
    level: String,
    /// Only the cases whose id starts with PREFIX (repeatable), e.g. `behaviour/cancel`.
    #[arg(long = "case", value_name = "PREFIX")]
    cases: Vec<String>,
    /// Cases the runner is known to fail: one case id per line, `#` comments. They are reported
    /// XFAIL and do not fail the run; one that passes is reported XPASS and does.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,
    /// The golden corpus of the protocol version (its `*.json` files). Default:
    /// generated/v<N>/golden of the repository (searched from the current directory upwards).
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// One JSON object per case and a closing summary object, instead of text lines.
    #[arg(long)]
    json: bool,
    /// List the cases (with their level, what they check and why) instead of running them.
    #[arg(long)]
    list: bool,
    /// With --list: the documentation's Markdown tables.
    #[arg(long, requires = "list")]
    markdown: bool,
    /// How long the runner may take to start listening (it may build first).
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    ready_timeout: f64,
    /// Copy the runner's stdout and stderr to this process's stderr, prefixed.
    #[arg(long)]
    runner_output: bool,
    /// Run the framing and hostile scenarios on one runner instead of a fresh runner each
    /// (faster; the memory of a scenario is then measured on a heap earlier ones grew).
    #[arg(long)]
    shared_runner: bool,
    /// Seconds each load mode is measured (after a short warm-up); the default is a quick check.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.6)]
    load_seconds: f64,
}

fn seconds(value: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{what}: not a duration: {value}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Table(files)) => table(&files),
        None => run(cli.run).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rrq-conformance: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let version = Version::parse(&args.protocol).context("--protocol is 1 or 2")?;
    let level = Level::parse(&args.level).context("--level is required or recommended")?;
    let mut suites = Vec::new();
    for name in &args.suite {
        match Suite::parse(name.trim()) {
            Some(s) => suites.push(s),
            None => {
                bail!("unknown suite {name:?} (suites: behaviour, framing, corpus, hostile, load)")
            }
        }
    }
    if suites.is_empty() {
        suites = Suite::ALL.to_vec();
    }
    let target = match (&args.runner, args.address) {
        (Some(command), _) => Target::Command(command.clone()),
        (None, Some(addr)) => Target::Address(addr),
        (None, None) => Target::Command(String::new()),
    };
    let load_slice = seconds(args.load_seconds, "--load-seconds")?;
    let settings = Settings {
        version,
        target,
        level,
        ready_timeout: seconds(args.ready_timeout, "--ready-timeout")?,
        echo_output: args.runner_output,
        corpus: args.corpus.clone(),
        load: LoadOptions {
            slice: load_slice,
            warmup: (load_slice / 4).min(Duration::from_secs(1)),
        },
        shared_runner: args.shared_runner,
        only: args.cases.clone(),
    };
    if args.list {
        let cases = driver::list(&settings, &suites).map_err(anyhow::Error::msg)?;
        if args.markdown {
            print!("{}", driver::markdown(&cases));
        } else {
            for c in &cases {
                say(&format!("{:<11}  {}  {}", c.level.name(), c.id, c.checks));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if suites.contains(&Suite::Corpus) {
        // Fail before starting anything when the corpus cannot be found.
        rrq_conformance::suites::corpus::locate(version, settings.corpus.as_deref())
            .map_err(anyhow::Error::msg)?;
    }
    let expected = match &args.expected_failures {
        Some(path) => ExpectedFailures::parse(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => ExpectedFailures::default(),
    };
    let run = Run {
        settings,
        suites,
        json: args.json,
        expected,
    };
    // On Ctrl-C / SIGTERM, stop: dropping the runners kills their process groups.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let report = tokio::select! {
        report = driver::run(run) => report,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = terminate.recv() => bail!("terminated"),
    };
    Ok(if report.tally.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The case lines of `--json` outputs, by label.
fn read_runs(files: &Files) -> Result<Vec<(String, BTreeMap<String, Value>)>> {
    let mut runs = Vec::new();
    for spec in &files.runs {
        let (label, path) = spec.split_once('=').context("each run is LABEL=FILE")?;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let mut cases = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("{path}: not a JSON line: {line}"))?;
            if let Some(id) = value["case"].as_str() {
                cases.insert(id.to_string(), value);
            }
        }
        runs.push((label.to_string(), cases));
    }
    Ok(runs)
}

fn all_ids(runs: &[(String, BTreeMap<String, Value>)]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (_, cases) in runs {
        for id in cases.keys() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

fn compare(args: &CompareArgs) -> Result<ExitCode> {
    let runs = read_runs(&args.files)?;
    let known = match &args.known_differences {
        Some(path) => ExpectedFailures::parse(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => ExpectedFailures::default(),
    };
    let mut bad = Vec::new();
    let mut xfail = Vec::new();
    let mut differ = Vec::new();
    let mut compared = 0;
    for id in all_ids(&runs) {
        let cells: Vec<Option<&Value>> = runs.iter().map(|(_, c)| c.get(&id)).collect();
        let mut why = Vec::new();
        let mut expected_failure = false;
        for ((label, _), cell) in runs.iter().zip(&cells) {
            match cell {
                None => why.push(format!("{label}: missing")),
                Some(v) if v["result"] == "expected_failure" => expected_failure = true,
                Some(v) if v["result"] != "pass" && v["result"] != "skip" => {
                    why.push(format!("{label}: {} {}", v["result"], v["problems"][0]))
                }
                _ => {}
            }
        }
        if expected_failure {
            xfail.push(id.clone());
        }
        let outcomes: Vec<String> = cells
            .iter()
            .flatten()
            .filter_map(|v| v.get("outcome"))
            .map(|o| o.to_string())
            .collect();
        if !expected_failure && outcomes.len() == cells.len() && outcomes.len() > 1 {
            let different = outcomes.windows(2).any(|w| w[0] != w[1]);
            if !different {
                compared += 1;
            }
            if different && known.contains(&id) {
                differ.push(id.clone());
            } else if different {
                why.push("outcomes differ".to_string());
                for ((label, _), o) in runs.iter().zip(&outcomes) {
                    why.push(format!("  {label}: {o}"));
                }
            } else if known.contains(&id) {
                why.push("listed as a known difference, but the outcomes are identical: remove it from the list".to_string());
            }
        }
        if !why.is_empty() {
            bad.push((id, why));
        }
    }
    for (id, why) in &bad {
        say(&format!("{id}:"));
        for w in why {
            say(&format!("  {w}"));
        }
    }
    let labels: Vec<&str> = runs.iter().map(|(l, _)| l.as_str()).collect();
    for id in &xfail {
        say(&format!(
            "{id}: an expected failure in at least one run (not compared)"
        ));
    }
    for id in &differ {
        say(&format!("{id}: outcomes differ, a listed known difference"));
    }
    if bad.is_empty() {
        say(&format!(
            "every case passed against {}; {compared} outcomes byte-identical across them",
            labels.join(", ")
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        say(&format!(
            "{} case(s) failed, missing or differ across {}",
            bad.len(),
            labels.join(", ")
        ));
        Ok(ExitCode::from(1))
    }
}

fn table(files: &Files) -> Result<ExitCode> {
    let runs = read_runs(files)?;
    let ids = all_ids(&runs);
    let width = ids.iter().map(String::len).max().unwrap_or(4);
    let mut header = format!("{:<width$}", "case");
    for (label, _) in &runs {
        header.push_str(&format!("  {label:<28}"));
    }
    say(&header);
    let mut failing = 0;
    for id in &ids {
        let mut row = format!("{id:<width$}");
        for (_, cases) in &runs {
            let cell = match cases.get(id) {
                None => {
                    failing += 1;
                    "missing".to_string()
                }
                Some(v) => {
                    let result = v["result"].as_str().unwrap_or("?");
                    if result == "fail" || result == "unexpected_pass" {
                        failing += 1;
                    }
                    let tag = match result {
                        "pass" => "pass",
                        "fail" => "FAIL",
                        "expected_failure" => "xfail",
                        "unexpected_pass" => "XPASS",
                        _ => "skip",
                    };
                    match v["note"].as_str() {
                        Some(note) => format!("{tag} {note}"),
                        None => tag.to_string(),
                    }
                }
            };
            row.push_str(&format!("  {cell:<28}"));
        }
        say(&row);
    }
    if failing == 0 {
        say(&format!(
            "all {} cases passed against {} runners",
            ids.len(),
            runs.len()
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        say(&format!("{failing} case run(s) failed or missing"));
        Ok(ExitCode::from(1))
    }
}
