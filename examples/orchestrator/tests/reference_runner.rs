//! The orchestrator against the Rust reference runner: every scenario passes and the output is
//! deterministic; misbehaving runners are caught, and nothing hangs.

use serde_json::Value;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_rrq-orchestrator");
const RUNNER: &str = env!("CARGO_BIN_EXE_rrq-reference-runner");

fn orchestrate(args: &[&str]) -> Output {
    Command::new(ORCHESTRATOR).args(args).output().expect("run rrq-orchestrator")
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

fn scenario_names() -> Vec<String> {
    let out = orchestrate(&["--list"]);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn every_scenario_passes_against_the_reference_runner_and_output_is_deterministic() {
    let runner = format!("'{RUNNER}'");
    let first = orchestrate(&["--runner", &runner]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    let results = lines(&first);
    let names: Vec<String> = results.iter().map(|l| l["scenario"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, scenario_names(), "one line per scenario, in list order");
    for line in &results {
        assert_eq!(line["passed"], Value::Bool(true), "{line}\n{stderr}");
    }
    assert!(first.status.success(), "{stderr}");

    let second = orchestrate(&["--runner", &runner]);
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout),
        "two runs against the same runner print the same bytes"
    );
}

#[test]
fn mismatched_ids_are_a_transport_error() {
    let runner = format!("'{RUNNER}' --misbehave wrong-request-id");
    let started = Instant::now();
    let out = orchestrate(&["--runner", &runner, "--scenario", "echo_text", "--scenario", "concurrent_connections"]);
    assert_eq!(out.status.code(), Some(1));
    let results = lines(&out);
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["passed"], Value::Bool(false));
    assert_eq!(results[0]["outcome"]["transport_error"], "mismatched_ids");
    assert!(results[0]["problems"][0].as_str().unwrap().contains("do not match"));
    assert_eq!(results[1]["outcome"]["statuses"]["transport_error:mismatched_ids"], 50);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn non_canonical_responses_fail_the_scenario() {
    let runner = format!("'{RUNNER}' --misbehave non-canonical");
    let out = orchestrate(&["--runner", &runner, "--scenario", "echo_nested"]);
    assert_eq!(out.status.code(), Some(1));
    let results = lines(&out);
    assert_eq!(results[0]["passed"], Value::Bool(false));
    // The outcome is still printed canonically; the problem names the difference.
    assert_eq!(results[0]["outcome"]["status"], "success");
    assert!(results[0]["problems"][0].as_str().unwrap().contains("not canonical"), "{}", results[0]);
}

#[test]
fn a_runner_that_never_listens_or_dies_fails_fast() {
    let started = Instant::now();
    let out = orchestrate(&["--runner", "sleep 30", "--ready-timeout", "1", "--scenario", "echo_text", "--scenario", "fail_with_message"]);
    assert_eq!(out.status.code(), Some(1));
    let results = lines(&out);
    assert_eq!(results.len(), 2);
    for line in &results {
        assert_eq!(line["outcome"]["not_run"], "runner unavailable");
        assert!(line["problems"][0].as_str().unwrap().contains("did not listen"), "{line}");
    }
    let out = orchestrate(&["--runner", "exit 3", "--scenario", "sigterm_idle"]);
    let results = lines(&out);
    assert!(results[0]["problems"][0].as_str().unwrap().contains("exited"), "{}", results[0]);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn send_prints_the_response_frame() {
    let runner = format!("'{RUNNER}'");
    let out = orchestrate(&["send", "--runner", &runner, "--function", "echo", "--args", "[1,2]", "--kwargs", r#"{"b":1,"a":[1.0]}"#]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"type\":\"response\",\"payload\":{\"job_id\":\"job-1\",\"request_id\":\"job-1-request-1\",\"status\":\"success\",\"result\":{\"args\":[1,2],\"kwargs\":{\"a\":[1.0],\"b\":1}}}}\n"
    );
    let out = orchestrate(&["send", "--runner", &runner, "--function", "fail", "--kwargs", r#"{"message":"no"}"#]);
    assert_eq!(out.status.code(), Some(1));
    let out = orchestrate(&["send", "--address", "127.0.0.1:1", "--function", "echo", "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(2));
}
