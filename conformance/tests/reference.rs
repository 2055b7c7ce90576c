//! The suite against the Rust reference runner: every case passes in both protocol versions,
//! outcomes are deterministic, and deliberately misbehaving variants fail exactly the cases
//! that check what they break (the suite tells runners apart), at the level they belong to.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SUITE: &str = env!("CARGO_BIN_EXE_rrq-conformance");
const RUNNER: &str = env!("CARGO_BIN_EXE_rrq-reference-runner");

fn conformance(args: &[&str]) -> Output {
    Command::new(SUITE)
        .args(args)
        .output()
        .expect("run rrq-conformance")
}

/// Case id -> its JSON line, from a `--json` run.
fn cases(output: &Output) -> BTreeMap<String, Value> {
    String::from_utf8(output.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
        .filter_map(|v| v["case"].as_str().map(|id| (id.to_string(), v.clone())))
        .collect()
}

/// The suites to run for `protocol`: the corpus only where the checkout has one (protocol 2's
/// arrives with the golden work).
fn suites(protocol: &str, rest: &str) -> String {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../generated/v{protocol}/golden"));
    if corpus.is_dir() {
        format!("{rest},corpus")
    } else {
        rest.to_string()
    }
}

fn has_corpus(protocol: &str) -> bool {
    suites(protocol, "").contains("corpus")
}

fn runner(protocol: &str, extra: &str) -> String {
    format!("'{RUNNER}' --protocol {protocol} {extra}")
}

fn failing(cases: &BTreeMap<String, Value>) -> Vec<String> {
    cases
        .iter()
        .filter(|(_, v)| v["result"] == "fail")
        .map(|(id, _)| id.clone())
        .collect()
}

/// Every case of the behaviour, framing, load and corpus suites passes in `protocol`.
fn every_case_passes(protocol: &str) {
    let suites = suites(protocol, "behaviour,framing,load");
    let out = conformance(&[
        "--runner",
        &runner(protocol, ""),
        "--protocol",
        protocol,
        "--suite",
        &suites,
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let results = cases(&out);
    assert!(results.len() > 40, "{} cases\n{stderr}", results.len());
    assert_eq!(
        failing(&results),
        Vec::<String>::new(),
        "protocol {protocol}\n{stderr}"
    );
    assert!(out.status.success(), "protocol {protocol}: {stderr}");
    assert!(
        !has_corpus(protocol) || results.keys().any(|id| id.starts_with("corpus/numbers/")),
        "the corpus ran"
    );
}

#[test]
fn every_case_passes_against_the_reference_runner_in_protocol_1() {
    every_case_passes("1");
}

#[test]
fn every_case_passes_against_the_reference_runner_in_protocol_2() {
    every_case_passes("2");
}

#[test]
fn outcomes_are_deterministic_and_compare_checks_them() {
    let dir = std::env::temp_dir().join(format!("rrq-conformance-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (i, extra) in ["", "", "--misbehave non-canonical"].iter().enumerate() {
        let out = conformance(&[
            "--runner",
            &runner("2", extra),
            "--suite",
            "behaviour",
            "--case",
            "behaviour/echo",
            "--case",
            "behaviour/canonical",
            "--json",
        ]);
        let path = dir.join(format!("run{i}.jsonl"));
        std::fs::write(&path, &out.stdout).unwrap();
        files.push(format!("run{i}={}", path.display()));
    }
    let same = conformance(&["compare", &files[0], &files[1]]);
    assert!(
        same.status.success(),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    // The outcomes are printed in canonical bytes: a non-canonical runner has the same outcomes,
    // but fails the canonical case.
    let differ = conformance(&["compare", &files[0], &files[2]]);
    let text = String::from_utf8_lossy(&differ.stdout);
    assert_eq!(differ.status.code(), Some(1), "{text}");
    assert!(
        text.contains("behaviour/canonical_bytes:") && !text.contains("behaviour/echo_text:"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `cases` against a misbehaving reference runner; the verdicts.
fn misbehaving(how: &str, protocol: &str, case_prefixes: &[&str]) -> BTreeMap<String, Value> {
    let runner = runner(protocol, &format!("--misbehave {how}"));
    let suites = suites(protocol, "behaviour,framing");
    let mut args = vec![
        "--runner",
        runner.as_str(),
        "--protocol",
        protocol,
        "--json",
        "--suite",
        suites.as_str(),
    ];
    for c in case_prefixes {
        args.push("--case");
        args.push(c);
    }
    let out = conformance(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{how}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    cases(&out)
}

fn assert_fails(results: &BTreeMap<String, Value>, id: &str, level: &str, reason: &str) {
    let v = results
        .get(id)
        .unwrap_or_else(|| panic!("{id} did not run: {results:?}"));
    assert_eq!(v["result"], "fail", "{id}: {v}");
    assert_eq!(v["level"], level, "{id}: {v}");
    assert!(
        v["problems"].to_string().contains(reason),
        "{id}: {reason:?} not in {v}"
    );
}

fn assert_passes(results: &BTreeMap<String, Value>, id: &str) {
    assert_eq!(
        results.get(id).map(|v| v["result"].clone()),
        Some(Value::from("pass")),
        "{id}: {results:?}"
    );
}

#[test]
fn mismatched_ids_fail_the_required_cases() {
    let r = misbehaving(
        "wrong-request-id",
        "1",
        &["behaviour/echo_text", "behaviour/concurrent"],
    );
    assert_fails(&r, "behaviour/echo_text", "required", "do not match");
    assert_fails(
        &r,
        "behaviour/concurrent_connections",
        "required",
        "do not match",
    );
}

#[test]
fn non_canonical_bytes_fail_only_the_recommended_cases() {
    let r = misbehaving(
        "non-canonical",
        "2",
        &[
            "behaviour/echo_nested",
            "behaviour/canonical",
            "corpus/numbers",
        ],
    );
    assert_passes(&r, "behaviour/echo_nested");
    assert_fails(
        &r,
        "behaviour/canonical_bytes",
        "recommended",
        "not in canonical bytes",
    );
    if has_corpus("2") {
        assert_fails(&r, "corpus/numbers.canonical", "recommended", "expected");
        assert!(
            r.iter().all(|(id, v)| v["result"] == "pass"
                || id.ends_with(".canonical")
                || id.ends_with("canonical_bytes")),
            "{r:?}"
        );
    }
}

#[test]
fn ignored_cancels_and_deadlines_fail() {
    let r = misbehaving("ignore-cancel", "1", &["behaviour/cancel_by_request_id"]);
    assert_fails(
        &r,
        "behaviour/cancel_by_request_id",
        "required",
        "timed out",
    );
    let r = misbehaving("ignore-deadline", "2", &["behaviour/deadline_past"]);
    assert_fails(&r, "behaviour/deadline_past", "required", "timeout");
}

#[test]
fn answered_cancels_fail() {
    let r = misbehaving(
        "answer-cancels",
        "1",
        &["behaviour/cancel_unknown", "corpus/messages/cancel"],
    );
    assert_fails(&r, "behaviour/cancel_unknown_ignored", "required", "");
    if has_corpus("1") {
        let failed = |id: &String, v: &Value| {
            id.starts_with("corpus/messages/cancel")
                && v["result"] == "fail"
                && v["level"] == "required"
        };
        assert!(r.iter().any(|(id, v)| failed(id, v)), "{r:?}");
    }
}

#[test]
fn numbers_through_f64_fail_the_required_echo_cases() {
    let r = misbehaving(
        "lossy-numbers",
        "1",
        &["behaviour/echo_numbers", "corpus/numbers"],
    );
    assert_fails(&r, "behaviour/echo_numbers", "required", "differs");
    if has_corpus("1") {
        assert!(
            r.values()
                .filter(|v| v["result"] == "fail" && v["level"] == "required")
                .count()
                > 3,
            "{r:?}"
        );
    }
}

#[test]
fn closing_on_bad_frames_survives_but_does_not_answer() {
    let r = misbehaving(
        "close-on-bad-frame",
        "1",
        &[
            "behaviour/invalid_frame",
            "behaviour/survival",
            "corpus/types",
            "corpus/survival",
        ],
    );
    assert_fails(&r, "behaviour/invalid_frame_answered", "recommended", "");
    assert_passes(&r, "behaviour/survival");
    if has_corpus("1") {
        assert_passes(&r, "corpus/survival");
        assert!(
            r.values()
                .all(|v| v["result"] == "pass" || v["level"] == "recommended"),
            "{r:?}"
        );
    }
}

#[test]
fn a_runner_that_does_not_watch_its_parent_fails() {
    let r = misbehaving("orphan", "2", &["behaviour/parent_death"]);
    assert_fails(
        &r,
        "behaviour/parent_death",
        "required",
        "does not watch its parent",
    );
}

#[test]
fn expected_failures_are_reported_and_a_stale_list_fails() {
    let dir = std::env::temp_dir().join(format!("rrq-conformance-xfail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("expected.txt");
    std::fs::write(
        &list,
        "# a runner without a parent watch\nbehaviour/parent_death\n",
    )
    .unwrap();
    let orphan = runner("1", "--misbehave orphan");
    let args = [
        "--runner",
        orphan.as_str(),
        "--protocol",
        "1",
        "--suite",
        "behaviour",
        "--case",
        "behaviour/parent_death",
        "--case",
        "behaviour/echo_text",
        "--expected-failures",
        list.to_str().unwrap(),
    ];
    let out = conformance(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("XFAIL  required     behaviour/parent_death"),
        "{text}"
    );
    assert!(
        text.contains("1 passed, 0 failed (1 expected failures)"),
        "{text}"
    );
    // Listed but passing: the list is stale.
    std::fs::write(&list, "behaviour/parent_death\nbehaviour/echo_text\n").unwrap();
    let out = conformance(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "XPASS  required     behaviour/echo_text  listed as an expected failure, but passed"
        ),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_runner_that_is_already_running_is_checked_by_address() {
    // A free port, then the runner on it: another test may take the port in between (its own
    // runner), so a runner that exits (it could not bind) is started again on a new port.
    let (addr, mut child) = (0..5)
        .find_map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = format!("127.0.0.1:{port}");
            let mut child = Command::new(RUNNER)
                .args(["--protocol", "1", "--tcp-socket", &addr])
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    return None;
                }
                if std::net::TcpStream::connect(&addr).is_ok() {
                    return Some((addr, child));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            None
        })
        .expect("the reference runner did not start listening on a free port in 5 tries");
    let out = conformance(&[
        "--address",
        &addr,
        "--protocol",
        "1",
        "--suite",
        "behaviour,framing",
        "--json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let results = cases(&out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(results["behaviour/parent_death"]["result"], "skip");
    assert_eq!(results["behaviour/quiet_start"]["result"], "skip");
    assert_eq!(results["behaviour/echo_numbers"]["result"], "pass");
    assert_eq!(results["framing/length_zero.memory"]["result"], "skip");
    assert_eq!(results["framing/length_zero"]["result"], "pass");
}

#[test]
fn levels_select_cases_and_a_dead_command_fails_fast() {
    let out = conformance(&["--list", "--protocol", "1", "--level", "required"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.lines().all(|l| l.starts_with("required")), "{text}");
    assert!(
        text.contains("behaviour/parent_death") && text.contains("corpus/numbers/"),
        "{text}"
    );
    let started = Instant::now();
    let out = conformance(&[
        "--runner",
        "exit 3",
        "--protocol",
        "2",
        "--suite",
        "behaviour",
        "--case",
        "behaviour/echo_text",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL   required     behaviour/echo_text  the runner is unavailable"),
        "{text}"
    );
    let out = conformance(&[
        "--runner",
        "sleep 30",
        "--protocol",
        "1",
        "--ready-timeout",
        "1",
        "--suite",
        "behaviour",
        "--case",
        "behaviour/echo_text",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("did not listen"));
    assert!(started.elapsed() < Duration::from_secs(15));
}
