//! Runs the golden corpus (`generated/golden/*.json`) against this crate alone.
//!
//! `test.sh` runs this file twice: in `cargo test --workspace`, where Cargo unifies serde_json's
//! `preserve_order` feature in (codegen needs it), and in `cargo test -p rrq-protocol`, where
//! serde_json's maps are sorted `BTreeMap`s. Both runs pass only if the canonical bytes and the
//! verdicts do not depend on which map type the build ends up with.

use rrq_protocol::frame::{decode_frame, encode_frame, Message};
use rrq_protocol::{v1, v2, FrameError};
use serde_json::Value;
use std::fmt::Debug;
use std::path::PathBuf;

/// The corpus of protocol `version`: `generated/v<version>/golden`.
fn corpus_dir(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../generated/v{version}/golden"))
}

/// Which map type serde_json was built with in this test binary.
fn serde_json_map_mode() -> &'static str {
    let mut map = serde_json::Map::new();
    map.insert("b".into(), Value::Null);
    map.insert("a".into(), Value::Null);
    match map.keys().next().map(String::as_str) {
        Some("b") => "preserve_order (insertion-ordered IndexMap)",
        Some("a") => "sorted (BTreeMap, no preserve_order)",
        other => panic!("unexpected first key {other:?}"),
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("corpus frames are base64")
}

/// Reads one corpus file. Its deepest cases hold messages 127 levels deep inside the file's own
/// nesting, beyond serde_json's default recursion limit, so the limit is lifted for this read.
fn read_group(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut de = serde_json::Deserializer::from_str(&text);
    de.disable_recursion_limit();
    let value: Value = serde::Deserialize::deserialize(&mut de)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    de.end().unwrap();
    value
}

fn field<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or_else(|| panic!("case {} lacks {key}", case["name"]))
}

/// Checks one case; returns a description of every disagreement.
fn check_case<M: Message + PartialEq + Debug>(case: &Value) -> Vec<String> {
    let name = field(case, "name");
    let frame = base64_decode(field(case, "frame"));
    let mut problems = Vec::new();
    let decoded = decode_frame::<M>(&frame);
    match (field(case, "verdict"), decoded) {
        ("accept", Ok(message)) => {
            let canonical = base64_decode(field(case, "canonical"));
            let encoded = encode_frame(&message).expect("an accepted message encodes");
            if encoded != canonical {
                problems.push(format!(
                    "{name}: canonical bytes differ\n  expected {}\n  actual   {}",
                    String::from_utf8_lossy(&canonical[4..]),
                    String::from_utf8_lossy(&encoded[4..])
                ));
            }
            match decode_frame::<M>(&canonical) {
                Ok(again) => {
                    let again_bytes = encode_frame(&again).unwrap();
                    if again_bytes != canonical || again != message {
                        problems.push(format!("{name}: the canonical frame does not decode to itself"));
                    }
                }
                Err(e) => problems.push(format!("{name}: the canonical frame is rejected: {e}")),
            }
            let body: Value = serde_json::from_slice(&canonical[4..]).unwrap();
            if body != case["message"] {
                problems.push(format!("{name}: `message` is not the canonical body"));
            }
        }
        ("reject", Err(error)) => {
            let expected = &case["error"];
            if error.kind().as_str() != field(expected, "kind") {
                problems.push(format!("{name}: kind {} (expected {}): {error}", error.kind().as_str(), expected["kind"]));
            }
            let path = match &error {
                FrameError::Invalid(e) => Some(e.path()),
                _ => None,
            };
            if path.as_deref() != expected.get("path").and_then(Value::as_str) {
                problems.push(format!("{name}: path {path:?} (expected {})", expected["path"]));
            }
        }
        ("accept", Err(error)) => problems.push(format!("{name}: rejected ({error}), corpus says accept")),
        ("reject", Ok(message)) => problems.push(format!("{name}: accepted as {message:?}, corpus says reject")),
        (other, _) => problems.push(format!("{name}: unknown verdict {other}")),
    }
    problems
}

/// Every case of one version's corpus, judged by that version's types.
fn check_corpus<M: Message + PartialEq + Debug>(version: &str) {
    let mode = serde_json_map_mode();
    eprintln!("golden corpus of protocol {version} under serde_json map mode: {mode}");
    let dir = corpus_dir(version);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo run -p rrq-codegen -- generate`)", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());

    let (mut total, mut problems) = (0, Vec::new());
    for path in &files {
        let group = read_group(path);
        let name = group["group"].as_str().expect("a group name");
        assert_eq!(path.file_stem().unwrap().to_str(), Some(name), "{}", path.display());
        let cases = group["cases"].as_array().expect("a cases array");
        assert!(!cases.is_empty(), "{name} has no cases");
        for case in cases {
            assert_eq!(case["group"].as_str(), Some(name));
            total += 1;
            problems.extend(check_case::<M>(case));
        }
    }
    eprintln!("{total} golden cases checked in {} groups", files.len());
    assert!(total >= 150, "only {total} golden cases");
    assert!(
        problems.is_empty(),
        "{} of {total} golden cases of protocol {version} disagree with rrq-protocol built with serde_json map mode {mode}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_v1_golden_case_holds_whichever_serde_json_map_mode_feature_unification_picks() {
    check_corpus::<v1::RunnerMessage>(v1::PROTOCOL_VERSION);
}

#[test]
fn every_v2_golden_case_holds_whichever_serde_json_map_mode_feature_unification_picks() {
    check_corpus::<v2::RunnerMessage>(v2::PROTOCOL_VERSION);
}
