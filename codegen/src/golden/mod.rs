//! The golden frame corpus (`generated/golden/<group>.json`): frames written here as inputs only,
//! with verdicts, canonical bytes and errors obtained by running the Rust reference
//! (`rrq_protocol::decode_frame` / `encode_frame`) on them.
//!
//! Layout of one file (see `docs/PROTOCOL.md`, "The golden corpus"):
//!
//! ```text
//! {"provenance": {...}, "group": "<group>", "cases": [
//!   {"name": "<group>/<slug>", "group": "<group>", "description": "...",
//!    "frame": "<base64 of the whole input frame>", "verdict": "accept",
//!    "canonical": "<base64 of encode_frame(decoded)>", "message": <canonical body as JSON>},
//!   {..., "verdict": "reject",
//!    "error": {"kind": "length|json|type|missing|value", "path": "<for type/missing/value>",
//!              "message": "<FrameError's Display>"}}
//! ]}
//! ```
//!
//! Generation fails (rather than writing a corpus that would mislead other languages) when an
//! accepted frame's canonical encoding does not decode back to the same bytes, when a verdict
//! depends on the order of keys in the input objects, when a case name repeats, or when a
//! fixture no longer covers every field of the schema.

mod fixtures;

pub use fixtures::depth as json_depth;
mod groups;
mod systematic;

use crate::output::{GeneratedFile, Provenance};
use anyhow::{anyhow, bail, ensure, Context, Result};
use crate::schema::Builtin;
use rrq_protocol::{FrameError, FRAME_HEADER_LEN};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

use base64::Engine as _;

/// Frames are stored as standard, padded base64.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    Ok(base64::engine::general_purpose::STANDARD.decode(text)?)
}

/// One input frame of the corpus, before the reference has judged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Unique within its group; the corpus name is `<group>/<slug>`.
    pub slug: String,
    pub description: String,
    /// The whole frame: header and body.
    pub frame: Vec<u8>,
}

impl Case {
    /// A frame whose header is the length of `body`.
    pub fn body(slug: impl Into<String>, description: impl Into<String>, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        Case { slug: slug.into(), description: description.into(), frame }
    }

    /// A frame holding `value` as compact JSON, keys in the order the value holds them.
    pub fn value(slug: impl Into<String>, description: impl Into<String>, value: &Value) -> Self {
        Self::body(slug, description, serde_json::to_vec(value).expect("a JSON value serializes"))
    }

    /// Raw frame bytes, header included (for cases about the header itself).
    pub fn frame(slug: impl Into<String>, description: impl Into<String>, frame: impl Into<Vec<u8>>) -> Self {
        Case { slug: slug.into(), description: description.into(), frame: frame.into() }
    }
}

/// A named group of cases: one file of the corpus.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: &'static str,
    /// What the group is about.
    pub cases: Vec<Case>,
}

/// Every group, in corpus order. The systematic groups walk the IR lowered from the built-in
/// schema, so a new field gets its wrong-type, `null` and missing cases without editing this.
pub fn groups(builtin: Builtin) -> Result<Vec<Group>> {
    let ir = crate::ir::lower(&builtin.schema())?;
    let mut systematic = systematic::build(&ir)?;
    let mut take = |name: &str| systematic.remove(name).unwrap_or_default();
    let groups = vec![
        Group { name: "messages", cases: groups::messages() },
        Group { name: "defaults", cases: [groups::defaults(), take("defaults")].concat() },
        Group { name: "noncanonical", cases: groups::noncanonical() },
        Group { name: "timestamps", cases: groups::timestamps() },
        Group { name: "strings", cases: groups::strings() },
        Group { name: "map_keys", cases: groups::map_keys() },
        Group { name: "numbers", cases: [take("numbers"), groups::numbers()].concat() },
        Group { name: "types", cases: [take("types"), groups::types()].concat() },
        Group { name: "missing", cases: [take("missing"), groups::missing()].concat() },
        Group { name: "envelope", cases: groups::envelope() },
        Group { name: "duplicates", cases: groups::duplicates() },
        Group { name: "frame", cases: groups::frame() },
        Group { name: "limits", cases: groups::limits() },
    ];
    ensure!(systematic.is_empty(), "systematic cases for unknown groups: {:?}", systematic.keys());
    Ok(groups)
}

/// What the reference decided about a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept {
        /// `encode_frame` of the decoded message.
        canonical: Vec<u8>,
    },
    Reject {
        kind: &'static str,
        /// `DecodeError::path()`, for errors found after the JSON parsed.
        path: Option<String>,
        /// `FrameError`'s Display.
        message: String,
    },
}

impl Verdict {
    pub fn is_accept(&self) -> bool {
        matches!(self, Verdict::Accept { .. })
    }
}

/// Runs the reference decoder (and, on success, the encoder) on one frame.
pub fn judge(builtin: Builtin, frame: &[u8]) -> Result<Verdict> {
    match builtin.reencode(frame) {
        Ok(canonical) => Ok(Verdict::Accept { canonical }),
        Err(error) => {
            let path = match &error {
                FrameError::Invalid(e) => Some(e.path()),
                FrameError::Length(_) | FrameError::Json(_) => None,
            };
            Ok(Verdict::Reject { kind: error.kind().as_str(), path, message: error.to_string() })
        }
    }
}

/// An accepted frame's canonical encoding must be a fixed point: decoding it and encoding again
/// gives the same bytes (and the same message).
fn check_stable(builtin: Builtin, name: &str, frame: &[u8], canonical: &[u8]) -> Result<()> {
    let re_encoded = builtin
        .reencode(canonical)
        .map_err(|e| anyhow!("{name}: the canonical frame does not decode: {e}"))?;
    ensure!(re_encoded == canonical, "{name}: decode→encode→decode→encode is not stable");
    ensure!(builtin.same_message(frame, canonical), "{name}: the canonical frame decodes to a different message");
    Ok(())
}

/// Rearranges the entries of one object.
type KeyOrder = fn(&mut Vec<(&String, &Value)>);

/// `value` with the keys of every object rearranged by `order` (at every depth).
fn reorder(value: &Value, order: KeyOrder) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| reorder(v, order)).collect()),
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            order(&mut entries);
            let mut out = Map::new();
            for (key, value) in entries {
                out.insert(key.clone(), reorder(value, order));
            }
            Value::Object(out)
        }
        scalar => scalar.clone(),
    }
}

/// A frame's verdict must not depend on the order of the keys in its objects: every binding
/// reports the same error whatever order its JSON parser keeps (and whichever map type a Rust
/// build unifies serde_json to). Checked for every frame whose body is JSON.
fn check_order_independent(builtin: Builtin, name: &str, frame: &[u8], verdict: &Verdict) -> Result<()> {
    if frame.len() < FRAME_HEADER_LEN {
        return Ok(());
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(&frame[FRAME_HEADER_LEN..]) else { return Ok(()) };
    if !matches!(verdict, Verdict::Accept { .. } | Verdict::Reject { kind: "type" | "missing" | "value", .. }) {
        return Ok(());
    }
    let orders: [(&str, KeyOrder); 3] = [
        ("reversed", |e| e.reverse()),
        ("sorted", |e| e.sort_by(|a, b| a.0.cmp(b.0))),
        ("reverse-sorted", |e| e.sort_by(|a, b| b.0.cmp(a.0))),
    ];
    for (label, order) in orders {
        let reordered = Case::value("", "", &reorder(&parsed, order));
        let other = judge(builtin, &reordered.frame)?;
        let same = match (verdict, &other) {
            (Verdict::Accept { canonical: a }, Verdict::Accept { canonical: b }) => a == b,
            (Verdict::Reject { kind: k1, path: p1, .. }, Verdict::Reject { kind: k2, path: p2, .. }) => {
                k1 == k2 && p1 == p2
            }
            _ => false,
        };
        ensure!(
            same,
            "{name}: the verdict depends on key order ({verdict:?} as written, {other:?} with keys {label})"
        );
    }
    Ok(())
}

/// One judged case as it is written to the corpus.
fn case_json(group: &str, case: &Case, verdict: &Verdict) -> Result<Value> {
    let name = format!("{group}/{}", case.slug);
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("group".into(), json!(group));
    out.insert("description".into(), json!(case.description));
    out.insert("frame".into(), json!(base64_encode(&case.frame)));
    match verdict {
        Verdict::Accept { canonical } => {
            let message: Value = serde_json::from_slice(&canonical[FRAME_HEADER_LEN..])
                .with_context(|| format!("{name}: canonical body is not JSON"))?;
            out.insert("verdict".into(), json!("accept"));
            out.insert("canonical".into(), json!(base64_encode(canonical)));
            out.insert("message".into(), message);
        }
        Verdict::Reject { kind, path, message } => {
            let mut error = Map::new();
            error.insert("kind".into(), json!(kind));
            if let Some(path) = path {
                error.insert("path".into(), json!(path));
            }
            error.insert("message".into(), json!(message));
            out.insert("verdict".into(), json!("reject"));
            out.insert("error".into(), Value::Object(error));
        }
    }
    Ok(Value::Object(out))
}

/// A judged group: its cases with the reference's verdicts.
pub struct JudgedGroup {
    pub name: &'static str,
    pub cases: Vec<(Case, Verdict)>,
}

/// Builds every group and judges every case, with the corpus-wide checks.
pub fn corpus(builtin: Builtin) -> Result<Vec<JudgedGroup>> {
    let mut names = BTreeSet::new();
    let mut judged = Vec::new();
    for group in groups(builtin)? {
        ensure!(!group.cases.is_empty(), "group {} has no cases", group.name);
        let mut cases = Vec::new();
        for case in group.cases {
            let name = format!("{}/{}", group.name, case.slug);
            if !names.insert(name.clone()) {
                bail!("duplicate case name {name}");
            }
            ensure!(
                !case.slug.is_empty() && case.slug.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "case slug {name:?} must be ASCII letters, digits, `-`, `_` or `.`"
            );
            let verdict = judge(builtin, &case.frame)?;
            if let Verdict::Accept { canonical } = &verdict {
                check_stable(builtin, &name, &case.frame, canonical)?;
            }
            check_order_independent(builtin, &name, &case.frame, &verdict)?;
            cases.push((case, verdict));
        }
        judged.push(JudgedGroup { name: group.name, cases });
    }
    Ok(judged)
}

/// The corpus files of one built-in version, `<folder>golden/<group>.json`.
pub fn render(builtin: Builtin, folder: &str, provenance: &Provenance) -> Result<Vec<GeneratedFile>> {
    let mut files = Vec::new();
    for group in corpus(builtin)? {
        let cases = group
            .cases
            .iter()
            .map(|(case, verdict)| case_json(group.name, case, verdict))
            .collect::<Result<Vec<_>>>()?;
        let mut file = Map::new();
        file.insert("provenance".into(), provenance.json());
        file.insert("group".into(), json!(group.name));
        file.insert("cases".into(), Value::Array(cases));
        let mut text = serde_json::to_string_pretty(&Value::Object(file))?;
        text.push('\n');
        files.push(GeneratedFile::new(format!("{folder}golden/{}.json", group.name), text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
