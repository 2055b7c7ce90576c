//! The version-skew check (`rrq-differential --skew`, run by `tests/diff/run.sh`): the golden
//! frames of a release, decoded by the current Rust reference, must be what `rrq-codegen diff`
//! predicts. The real release must pass; edited copies of its schema and frames show that the
//! prediction follows the diff and that a frame contradicting it fails the check.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn history(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/v1/history").join(file)
}

fn release_schema() -> Value {
    serde_json::from_slice(&std::fs::read(history("0.1.0.schema.json")).unwrap()).unwrap()
}

fn release_record() -> String {
    std::fs::read_to_string(history("0.1.0.golden.tsv")).unwrap()
}

/// A frame (base64) with this JSON body.
fn frame(body: &str) -> String {
    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(body.as_bytes());
    STANDARD.encode(bytes)
}

/// A record line: an accept with the canonical body the old release wrote.
fn accepted(name: &str, body: &str, canonical: &str) -> String {
    format!("{name}\t{}\taccept\t{}\t-\n", frame(body), frame(canonical))
}

fn rejected(name: &str, body: &str, kind: &str, path: &str) -> String {
    format!("{name}\t{}\treject\t{kind}\t{path}\n", frame(body))
}

struct Skew {
    code: Option<i32>,
    /// The expected lines for Python and TypeScript.
    expected: String,
    /// The report.
    report: String,
}

/// `rrq-codegen diff OLD --rules wire --format json` (as `tests/diff/run.sh` runs it: the
/// prediction is about decoding), then `rrq-differential --skew` on the old frames.
fn skew(old_schema: &Value, old_frames: &str) -> Skew {
    skew_with(old_schema, old_frames, |_| {})
}

/// The same with the diff report edited before the check reads it (a wrong prediction).
fn skew_with(old_schema: &Value, old_frames: &str, edit_diff: impl FnOnce(&mut Value)) -> Skew {
    let dir = tempfile::tempdir().unwrap();
    let (schema, frames, diff) = (dir.path().join("old.schema.json"), dir.path().join("old.golden.tsv"), dir.path().join("diff.json"));
    std::fs::write(&schema, serde_json::to_string_pretty(old_schema).unwrap()).unwrap();
    std::fs::write(&frames, old_frames).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rrq-codegen")).arg("diff").arg(&schema).args(["--rules", "wire", "--format", "json"]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "diff: {}", String::from_utf8_lossy(&out.stderr));
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap();
    edit_diff(&mut report);
    std::fs::write(&diff, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rrq-differential"))
        .arg("--skew")
        .arg(&diff)
        .arg("--old-schema")
        .arg(&schema)
        .arg("--old-frames")
        .arg(&frames)
        .output()
        .unwrap();
    Skew {
        code: out.status.code(),
        expected: String::from_utf8(out.stdout).unwrap(),
        report: String::from_utf8(out.stderr).unwrap(),
    }
}

fn expected_line(skew: &Skew, body: &str) -> String {
    let prefix = format!("{}\t", frame(body));
    skew.expected.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no line for {body}")).to_string()
}

/// The old schema with `skipped` as a fifth `OutcomeStatus`: the current one has "removed" it.
fn with_skipped_status() -> Value {
    let mut schema = release_schema();
    schema.pointer_mut("/$defs/OutcomeStatus/oneOf").unwrap().as_array_mut().unwrap().push(json!({
        "type": "string", "const": "skipped", "description": "The runner skipped the job."
    }));
    schema
}

/// The old schema without `CancelRequest.hard_kill`: the current one has "added" it, with a default.
fn without_hard_kill() -> Value {
    let mut schema = release_schema();
    let cancel = schema.pointer_mut("/$defs/CancelRequest").unwrap().as_object_mut().unwrap();
    cancel["properties"].as_object_mut().unwrap().shift_remove("hard_kill");
    cancel["x-rrq-always-written"].as_array_mut().unwrap().retain(|v| v != "hard_kill");
    schema
}

const SKIPPED: &str = r#"{"type":"response","payload":{"status":"skipped"}}"#;
const SUCCESS: &str = r#"{"type":"response","payload":{"status":"success"}}"#;

#[test]
fn the_release_frames_get_exactly_their_recorded_verdicts() {
    let record = release_record();
    let run = skew(&release_schema(), &record);
    assert_eq!(run.code, Some(0), "{}", run.report);
    for message in ["request", "response", "cancel"] {
        assert!(
            run.report.contains(&format!("prediction for {message}: no changes: every frame keeps its verdict")),
            "{}",
            run.report
        );
    }
    assert!(run.report.contains("0 must stay accepted, 0 must be rejected, 0 may change"), "{}", run.report);
    // Every recorded case is expected with its recorded verdict, unchanged.
    let expected: Vec<&str> = run.expected.lines().collect();
    let recorded: Vec<String> = record
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_once('\t').unwrap().1.to_string())
        .collect();
    assert!(recorded.len() > 500);
    for line in &recorded {
        assert!(expected.contains(&line.as_str()), "not expected as recorded: {line}");
    }
}

#[test]
fn a_removed_enum_value_predicts_a_change_for_exactly_the_frames_that_use_it() {
    let record = release_record() + &accepted("old/response-skipped", SKIPPED, SKIPPED) + &accepted("old/response-success", SUCCESS, SUCCESS);
    let run = skew(&with_skipped_status(), &record);
    assert_eq!(run.code, Some(0), "{}", run.report);
    // The prediction follows the diff: response now breaks old→new, the other messages do not.
    assert!(
        run.report.contains("prediction for response: BREAKING old→new (enum_value_removed #/$defs/OutcomeStatus/oneOf/4)"),
        "{}",
        run.report
    );
    assert!(run.report.contains("prediction for request: no changes"), "{}", run.report);
    assert!(run.report.contains("prediction for cancel: no changes"), "{}", run.report);
    // The frame that uses `skipped` changes (and only it, with its canonical form), as allowed.
    assert!(
        run.report.contains(
            "changed: old/response-skipped: accept → reject (value at payload.status) (must be rejected: touched by enum_value_removed #/$defs/OutcomeStatus/oneOf/4)"
        ),
        "{}",
        run.report
    );
    assert_eq!(run.report.matches("    changed: ").count(), 2, "{}", run.report);
    // Python and TypeScript are expected to reject it as the current Rust does, and to keep the rest.
    assert!(expected_line(&run, SKIPPED).ends_with("\treject\tvalue\tpayload.status"));
    assert!(expected_line(&run, SUCCESS).ends_with(&format!("\taccept\t{}\t-", frame(SUCCESS))));
}

#[test]
fn a_frame_whose_verdict_changes_away_from_the_changed_pointers_fails_the_check() {
    // `success` is untouched by the removal of `skipped`: a changed verdict there contradicts the
    // diff (here the record is tampered with, as a decoder regression would look).
    let record = release_record()
        + &accepted("old/response-skipped", SKIPPED, SKIPPED)
        + &rejected("old/response-success", SUCCESS, "value", "payload.status");
    let run = skew(&with_skipped_status(), &record);
    assert_eq!(run.code, Some(1), "{}", run.report);
    assert!(run.report.contains("rust: 1 frames contradict the diff's prediction:"), "{}", run.report);
    assert!(
        run.report.contains(
            "VIOLATION old/response-success: the diff predicts reject (value at payload.status), the current Rust gives accept (no change of the diff touches it)"
        ),
        "{}",
        run.report
    );
    // The same tampered frame without the schema edit fails too: the check does not need a change.
    let run = skew(&release_schema(), &(release_record() + &rejected("old/response-success", SUCCESS, "value", "payload.status")));
    assert_eq!(run.code, Some(1), "{}", run.report);
    assert!(run.report.contains("VIOLATION old/response-success"), "{}", run.report);
}

#[test]
fn a_field_added_with_default_lets_the_canonical_bytes_differ_only_there() {
    let body = r#"{"type":"cancel","payload":{"job_id":"j"}}"#;
    let old_canonical = r#"{"type":"cancel","payload":{"protocol_version":"1","job_id":"j"}}"#;
    let record = release_record() + &accepted("old/cancel", body, old_canonical);
    let run = skew(&without_hard_kill(), &record);
    assert_eq!(run.code, Some(0), "{}", run.report);
    assert!(
        run.report.contains("prediction for cancel: compatible old→new (field_added_with_default #/$defs/CancelRequest/properties/hard_kill)"),
        "{}",
        run.report
    );
    assert!(run.report.contains("prediction for response: no changes"), "{}", run.report);
    assert!(
        run.report.contains("changed: old/cancel: accept, other canonical bytes (must stay accepted: touched by field_added_with_default"),
        "{}",
        run.report
    );
    let current = frame(r#"{"type":"cancel","payload":{"protocol_version":"1","job_id":"j","hard_kill":false}}"#);
    assert!(expected_line(&run, body).ends_with(&format!("\taccept\t{current}\t-")), "{}", expected_line(&run, body));

    // A canonical difference elsewhere (the old release wrote another job_id) contradicts the diff.
    let tampered = r#"{"type":"cancel","payload":{"protocol_version":"1","job_id":"other"}}"#;
    let run = skew(&without_hard_kill(), &(release_record() + &accepted("old/cancel", body, tampered)));
    assert_eq!(run.code, Some(1), "{}", run.report);
    assert!(
        run.report.contains(
            "VIOLATION old/cancel: the canonical bytes differ where no touching change acts: payload.job_id: \"other\" → \"j\""
        ),
        "{}",
        run.report
    );
}

#[test]
fn a_narrowed_bound_touches_only_frames_that_carry_the_field() {
    // The old release accepted attempts up to 2^40; the current one stops at u32::MAX.
    let mut schema = release_schema();
    *schema.pointer_mut("/$defs/ExecutionContext/properties/attempt/maximum").unwrap() = json!(1u64 << 40);
    let big = r#"{"type":"request","payload":{"request_id":"r","job_id":"j","function_name":"f","context":{"job_id":"j","attempt":8589934592,"enqueue_time":"2024-05-01T12:00:00Z","queue_name":"q"}}}"#;
    let canonical = r#"{"type":"request","payload":{"protocol_version":"1","request_id":"r","job_id":"j","function_name":"f","args":[],"kwargs":{},"context":{"job_id":"j","attempt":8589934592,"enqueue_time":"2024-05-01T12:00:00Z","queue_name":"q","deadline":null,"trace_context":null,"worker_id":null}}}"#;
    let run = skew(&schema, &(release_record() + &accepted("old/request-big-attempt", big, canonical)));
    assert_eq!(run.code, Some(0), "{}", run.report);
    assert!(
        run.report.contains("prediction for request: BREAKING old→new (bound_narrowed #/$defs/ExecutionContext/properties/attempt/maximum)"),
        "{}",
        run.report
    );
    assert!(
        run.report.contains("changed: old/request-big-attempt: accept → reject (value at payload.context.attempt) (may change: touched by bound_narrowed"),
        "{}",
        run.report
    );
    // A request without a context never reaches the bound: it must keep its verdict exactly.
    assert!(run.report.contains("prediction for cancel: no changes"), "{}", run.report);
    assert_eq!(run.report.matches("    changed: ").count(), 2, "{}", run.report);
}

#[test]
fn the_check_follows_the_diff_report_not_the_decoder() {
    // The same schemas, but the diff report edited to claim `success` (not `skipped`) was
    // removed: the prediction now says every response using `success` must be rejected, and the
    // current Rust, which accepts them, contradicts it on each of those frames.
    let record = release_record() + &accepted("old/response-skipped", SKIPPED, SKIPPED) + &accepted("old/response-success", SUCCESS, SUCCESS);
    let run = skew_with(&with_skipped_status(), &record, |diff| {
        let change = &mut diff["changes"].as_array_mut().unwrap()[0];
        assert_eq!(change["category"], "enum_value_removed");
        change["pointer"] = json!("/$defs/OutcomeStatus/oneOf/0");
    });
    assert_eq!(run.code, Some(1), "{}", run.report);
    assert!(run.report.contains("prediction for response: BREAKING old→new (enum_value_removed #/$defs/OutcomeStatus/oneOf/0)"), "{}", run.report);
    assert!(
        run.report.contains(
            "VIOLATION old/response-success: the diff predicts it is rejected now, the current Rust accepts it (touched by enum_value_removed #/$defs/OutcomeStatus/oneOf/0)"
        ),
        "{}",
        run.report
    );
    // `skipped` is no longer in the prediction: its rejection is a change nothing allows.
    assert!(
        run.report.contains("VIOLATION old/response-skipped: the diff predicts accept, the current Rust gives reject (value at payload.status) (no change of the diff touches it)"),
        "{}",
        run.report
    );
}

#[test]
fn every_released_schema_keeps_its_golden_frames() {
    let dir = history("");
    let mut releases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(version) = name.strip_suffix(".schema.json") else { continue };
        releases += 1;
        let record = std::fs::read_to_string(dir.join(format!("{version}.golden.tsv")))
            .unwrap_or_else(|e| panic!("{version}: no golden frames next to the schema ({e}): see the history README"));
        let first = record.lines().next().unwrap();
        assert!(first.starts_with(&format!("# Golden frames of rrq-protocol {version} ")), "{version}: header {first}");
        for line in record.lines().filter(|l| !l.starts_with('#')) {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 5, "{version}: {line}");
            assert!(matches!(columns[2], "accept" | "reject"), "{version}: {line}");
            for b64 in [columns[1]].into_iter().chain((columns[2] == "accept").then_some(columns[3])) {
                assert!(STANDARD.decode(b64).unwrap().len() <= 65_536, "{version}: a case over 64 KiB: {}", columns[0]);
            }
        }
    }
    assert!(releases >= 1);
}
