//! The golden frame corpus (`generated/v<N>/golden/<group>.json`): frames built here as inputs
//! only, from the IR of each protocol version, with verdicts, canonical bytes and errors
//! obtained by running that version's Rust reference (`decode_frame` / `encode_frame`) on them.
//!
//! Building ([`build`]) reads only the IR: every case finds its target by type and role
//! ([`targets`]), with field paths and values computed from the IR ([`fixtures`]), so no
//! protocol field name is written in this module. Judging ([`corpus`]) needs the reference.
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
//! depends on the order of keys in the input objects, when a case name repeats, when a case
//! family's only kind of target is missing from the schema, when an accepted case's canonical
//! frame no longer holds the value the case tests (or changed any field of its input), or when
//! a rejected case fails somewhere other than where it tests.

mod fixtures;
mod groups;
mod systematic;
pub mod targets;

pub use fixtures::depth as json_depth;
pub use fixtures::Path;

use crate::ir::{Ir, Type, TypeDef};
use crate::output::{GeneratedFile, Provenance};
use crate::schema::{Builtin, Reencoded};
use anyhow::{bail, ensure, Context, Result};
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

/// What an accepted case's canonical message must hold at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// This JSON value: numbers compared by value (`3` and `3.0` are the same), and `null`
    /// also matching a field the encoder omits.
    Json(Value),
    /// The value of this JSON text as the decoder reads it (the last of duplicate keys wins).
    Text(String),
    /// A timestamp: the same instant, whatever the offset it was written with.
    Instant(String),
}

/// A value a case tests, and where: an accepted case's canonical message must still hold it
/// there; a rejected case whose error has a path must fail at or under one of its paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub path: Path,
    pub value: Expected,
}

/// One input frame of the corpus, before the reference has judged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Unique within its group; the corpus name is `<group>/<slug>`.
    pub slug: String,
    pub description: String,
    /// The whole frame: header and body.
    pub frame: Vec<u8>,
    /// The values the case tests, where (see [`Expect`]).
    pub expects: Vec<Expect>,
    /// The case is about the message as a whole (its layout, its envelope, its bytes), not
    /// about one value: an accepted one is checked field by field against its input instead.
    pub whole: bool,
}

impl Case {
    /// A frame whose header is the length of `body`.
    pub fn body(slug: impl Into<String>, description: impl Into<String>, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        Case { slug: slug.into(), description: description.into(), frame, expects: Vec::new(), whole: false }
    }

    /// A frame holding `value` as compact JSON, keys in the order the value holds them.
    pub fn value(slug: impl Into<String>, description: impl Into<String>, value: &Value) -> Self {
        Self::body(slug, description, serde_json::to_vec(value).expect("a JSON value serializes"))
    }

    /// Raw frame bytes, header included (for cases about the header itself).
    pub fn frame(slug: impl Into<String>, description: impl Into<String>, frame: impl Into<Vec<u8>>) -> Self {
        Case { slug: slug.into(), description: description.into(), frame: frame.into(), expects: Vec::new(), whole: false }
    }

    /// The case tests `value` at `path`.
    pub fn holds(mut self, path: &[String], value: Expected) -> Self {
        self.expects.push(Expect { path: path.to_vec(), value });
        self
    }

    /// The case tests the JSON value `value` at `path`.
    pub fn holds_json(self, path: &[String], value: Value) -> Self {
        self.holds(path, Expected::Json(value))
    }

    /// The case tests the value of the JSON text `raw` at `path`.
    pub fn holds_text(self, path: &[String], raw: impl Into<String>) -> Self {
        self.holds(path, Expected::Text(raw.into()))
    }

    /// The case is about the message as a whole.
    pub fn whole(mut self) -> Self {
        self.whole = true;
        self
    }

    /// The paths of the values the case tests, as the decoder's errors write them.
    pub fn paths(&self) -> Vec<String> {
        self.expects.iter().map(|e| targets::error_path(&e.path)).collect()
    }
}

/// A named group of cases: one file of the corpus.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: &'static str,
    pub cases: Vec<Case>,
}

/// Every group, in corpus order, built from the IR alone (no reference judges them yet): the
/// targets of every case are found in the IR by type and role, so a renamed field keeps its
/// cases and a family whose only kind of target is gone fails here, naming it.
pub fn build(ir: &Ir) -> Result<Vec<Group>> {
    let ctx = targets::Ctx::new(ir)?;
    let mut systematic = systematic::build(&ctx)?;
    let mut take = |name: &str| systematic.remove(name).unwrap_or_default();
    let groups = vec![
        Group { name: "messages", cases: groups::messages(&ctx)? },
        Group { name: "defaults", cases: [groups::defaults(&ctx)?, take("defaults")].concat() },
        Group { name: "noncanonical", cases: groups::noncanonical(&ctx)? },
        Group { name: "timestamps", cases: groups::timestamps(&ctx)? },
        Group { name: "strings", cases: groups::strings(&ctx)? },
        Group { name: "map_keys", cases: groups::map_keys(&ctx)? },
        Group { name: "numbers", cases: [take("numbers"), groups::numbers(&ctx)?].concat() },
        Group { name: "types", cases: [take("types"), groups::types(&ctx)?].concat() },
        Group { name: "missing", cases: [take("missing"), groups::missing(&ctx)?].concat() },
        Group { name: "envelope", cases: groups::envelope(&ctx)? },
        Group { name: "duplicates", cases: groups::duplicates(&ctx)? },
        Group { name: "frame", cases: groups::frame(&ctx)? },
        Group { name: "limits", cases: groups::limits(&ctx)? },
    ];
    ensure!(systematic.is_empty(), "systematic cases for unknown groups: {:?}", systematic.keys());
    let mut names = BTreeSet::new();
    for group in &groups {
        ensure!(!group.cases.is_empty(), "golden group {} has no cases", group.name);
        for case in &group.cases {
            let name = format!("{}/{}", group.name, case.slug);
            ensure!(
                !case.slug.is_empty() && case.slug.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "case slug {name:?} must be ASCII letters, digits, `-`, `_` or `.`"
            );
            ensure!(names.insert(name.clone()), "duplicate case name {name}");
        }
    }
    Ok(groups)
}

/// Every group of a built-in version (its schema lowered, then [`build`]).
pub fn groups(builtin: Builtin) -> Result<Vec<Group>> {
    build(&crate::ir::lower(&builtin.schema())?)
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

/// The verdict of a frame the reference decoder (or the encoder) refused.
fn rejected(error: FrameError) -> Verdict {
    let path = match &error {
        FrameError::Invalid(e) => Some(e.path()),
        FrameError::Length(_) | FrameError::Json(_) => None,
    };
    Verdict::Reject { kind: error.kind().as_str(), path, message: error.to_string() }
}

/// Runs the reference decoder (and, on success, the encoder) on one frame.
pub fn judge(builtin: Builtin, frame: &[u8]) -> Result<Verdict> {
    Ok(match builtin.reencode(frame) {
        Ok(canonical) => Verdict::Accept { canonical },
        Err(error) => rejected(error),
    })
}

/// Judges one frame and, when accepted, checks that its canonical encoding is a fixed point:
/// decoding it and encoding again gives the same bytes (and the same message).
fn judge_stable(builtin: Builtin, name: &str, frame: &[u8]) -> Result<Verdict> {
    let (canonical, again) = match builtin.reencode_twice(frame) {
        Ok(judged) => judged,
        Err(error) => return Ok(rejected(error)),
    };
    match again {
        Reencoded::Failed(e) => bail!("{name}: the canonical frame does not decode: {e}"),
        Reencoded::Done { bytes, same_message } => {
            ensure!(bytes == canonical, "{name}: decode→encode→decode→encode is not stable");
            ensure!(same_message, "{name}: the canonical frame decodes to a different message");
        }
    }
    Ok(Verdict::Accept { canonical })
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

/// A value serialized with the keys of every object rearranged by its order (at every depth):
/// the bytes of the value rebuilt in that order, without rebuilding it.
struct Reordered<'a>(&'a Value, KeyOrder);

impl serde::Serialize for Reordered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Reordered(item, self.1))?;
                }
                seq.end()
            }
            Value::Object(object) => {
                let mut entries: Vec<(&String, &Value)> = object.iter().collect();
                (self.1)(&mut entries);
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, &Reordered(value, self.1))?;
                }
                map.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// The body of a frame as JSON, parsed with serde_json's recursion limit (`None` for a frame
/// shorter than its header).
fn parse_body(frame: &[u8]) -> Option<serde_json::Result<Value>> {
    (frame.len() >= FRAME_HEADER_LEN).then(|| serde_json::from_slice::<Value>(&frame[FRAME_HEADER_LEN..]))
}

/// A frame's verdict must not depend on the order of the keys in its objects: every binding
/// reports the same error whatever order its JSON parser keeps (and whichever map type a Rust
/// build unifies serde_json to). Checked for every frame whose body is JSON (by
/// [`judge_case`], through [`check_order_independent_of`] with the body it already parsed).
#[cfg(test)]
fn check_order_independent(builtin: Builtin, name: &str, frame: &[u8], verdict: &Verdict) -> Result<()> {
    match parse_body(frame) {
        Some(Ok(parsed)) => check_order_independent_of(builtin, name, frame, &parsed, verdict),
        _ => Ok(()),
    }
}

/// [`check_order_independent`] with the frame's body already parsed.
fn check_order_independent_of(builtin: Builtin, name: &str, frame: &[u8], parsed: &Value, verdict: &Verdict) -> Result<()> {
    if !matches!(verdict, Verdict::Accept { .. } | Verdict::Reject { kind: "type" | "missing" | "value", .. }) {
        return Ok(());
    }
    let orders: [(&str, KeyOrder); 3] = [
        ("reversed", |e| e.reverse()),
        ("sorted", |e| e.sort_by(|a, b| a.0.cmp(b.0))),
        ("reverse-sorted", |e| e.sort_by(|a, b| b.0.cmp(a.0))),
    ];
    // The reference is deterministic: a frame with the bytes of one already judged (the frame
    // itself, or another order's) gets that verdict again.
    let mut judged: Vec<Vec<u8>> = Vec::new();
    for (label, order) in orders {
        // The frame of the reordered body (header first, filled in once the length is known).
        let mut reordered = vec![0; FRAME_HEADER_LEN];
        serde_json::to_writer(&mut reordered, &Reordered(parsed, order))?;
        let length = (reordered.len() - FRAME_HEADER_LEN) as u32;
        reordered[..FRAME_HEADER_LEN].copy_from_slice(&length.to_be_bytes());
        if reordered == frame || judged.contains(&reordered) {
            continue;
        }
        let other = judge(builtin, &reordered)?;
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
        judged.push(reordered);
    }
    Ok(())
}

/// One judged case as it is written to the corpus; `message` is an accepted case's canonical
/// body parsed with serde_json's recursion limit (parsed here when not given).
fn case_json(group: &str, case: &Case, verdict: &Verdict, message: Option<serde_json::Result<Value>>) -> Result<Value> {
    let name = format!("{group}/{}", case.slug);
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("group".into(), json!(group));
    out.insert("description".into(), json!(case.description));
    out.insert("frame".into(), json!(base64_encode(&case.frame)));
    match verdict {
        Verdict::Accept { canonical } => {
            let message: Value = message
                .unwrap_or_else(|| serde_json::from_slice(&canonical[FRAME_HEADER_LEN..]))
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
#[derive(Debug)]
pub struct JudgedGroup {
    pub name: &'static str,
    pub cases: Vec<(Case, Verdict)>,
}

/// Parses JSON text without serde_json's recursion limit (the limit cases are as deep as the
/// decoder allows, and a fragment of them sits deeper in the corpus files).
fn parse_unbounded(text: &[u8]) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    let value = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Whether `actual` (absent: `None`) is `expected`: numbers by value, and an expected `null`
/// also matching an omitted field (not an omitted key inside a dynamic object).
fn same_json(expected: &Value, actual: Option<&Value>) -> bool {
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
            }
            _ => a == b,
        }
    }
    match actual {
        None => expected.is_null(),
        Some(actual) => same(expected, actual),
    }
}

/// Whether `actual` is the instant `expected` (both strict RFC 3339).
fn same_instant(expected: &str, actual: Option<&Value>) -> bool {
    let Ok(expected) = rrq_protocol::timestamp::parse(expected) else { return false };
    actual.and_then(Value::as_str).and_then(|a| rrq_protocol::timestamp::parse(a).ok()) == Some(expected)
}

/// Short text of a value for error messages.
fn brief(value: Option<&Value>) -> String {
    let text = value.map_or_else(|| "nothing (absent)".to_string(), |v| v.to_string());
    match text.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Where `actual` (absent: `None`) differs from `expected`, read as a value of type `ty`:
/// timestamps compared as instants, structs field by field (a field `expected` lacks is not
/// compared, one it gives as `null` may be omitted), anything else by [`same_json`]. `None`
/// when they agree.
fn differs(ir: &Ir, ty: Option<&Type>, expected: &Value, actual: Option<&Value>, path: &mut Path) -> Option<String> {
    let strukt = match ty {
        Some(Type::Named { name }) => match ir.get(name) {
            Some(TypeDef::Struct(st)) => Some(st),
            _ => None,
        },
        _ => None,
    };
    let same = match (ty, expected, strukt) {
        (Some(Type::Timestamp), Value::String(text), _) => same_instant(text, actual),
        (_, Value::Object(fields), Some(st)) => match actual {
            Some(Value::Object(actual)) => {
                for field in &st.fields {
                    let Some(value) = fields.get(&field.name) else { continue };
                    path.push(field.name.clone());
                    let found = differs(ir, Some(&field.ty), value, actual.get(&field.name), path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                true
            }
            _ => false,
        },
        _ => same_json(expected, actual),
    };
    (!same).then(|| format!("at `{}` expected {}, found {}", targets::error_path(path), brief(Some(expected)), brief(actual)))
}

/// The IR type of the value at `path` in `message` (a path through struct fields from the
/// envelope's content), if the path stays within the IR.
fn type_at(ir: &Ir, message: &Value, path: &[String]) -> Option<Type> {
    let Some(TypeDef::Union(root)) = ir.get(&ir.root) else { return None };
    let tag = message.get(&root.tag)?.as_str()?;
    let variant = root.variants.iter().find(|v| v.tag_value == tag)?;
    let (first, rest) = path.split_first()?;
    if *first != root.content {
        return None;
    }
    let mut ty = Type::Named { name: variant.ty.clone() };
    for key in rest {
        let Type::Named { name } = &ty else { return None };
        let Some(TypeDef::Struct(st)) = ir.get(name) else { return None };
        ty = st.fields.iter().find(|f| &f.name == key)?.ty.clone();
    }
    Some(ty)
}

/// The checks that tie a judged case to what it means to test (see [`Expect`]).
///
/// `input` is the frame's body and `message` an accepted case's canonical body, each as
/// [`parse_body`] parsed it: a value that parsed is not parsed again.
fn check_expectations(
    ir: &Ir,
    name: &str,
    case: &Case,
    verdict: &Verdict,
    input: Option<serde_json::Result<Value>>,
    message: Option<&serde_json::Result<Value>>,
) -> Result<()> {
    match verdict {
        Verdict::Accept { canonical } => {
            ensure!(
                case.whole || !case.expects.is_empty(),
                "{name}: accepted, but the case records no value it tests (a case builder bug: give it `holds`, or mark it `whole`)"
            );
            let unbounded;
            let message = match message {
                Some(Ok(message)) => message,
                _ => {
                    unbounded = parse_unbounded(&canonical[FRAME_HEADER_LEN..])?;
                    &unbounded
                }
            };
            for expect in &case.expects {
                let ty = type_at(ir, message, &expect.path);
                let actual = fixtures::get(message, &expect.path);
                let mut path = expect.path.clone();
                let found = match &expect.value {
                    Expected::Json(value) => differs(ir, ty.as_ref(), value, actual, &mut path),
                    Expected::Text(text) => {
                        let value = parse_unbounded(text.as_bytes())
                            .with_context(|| format!("{name}: the value it tests, {text:?}, is not JSON"))?;
                        differs(ir, ty.as_ref(), &value, actual, &mut path)
                    }
                    Expected::Instant(text) => (!same_instant(text, actual))
                        .then(|| format!("expected the instant {text}, found {}", brief(actual))),
                };
                if let Some(found) = found {
                    bail!(
                        "{name}: the canonical frame does not hold the value the case tests at `{}` ({found}): the target moved or the decoder ignores it, so the case no longer tests what it says",
                        targets::error_path(&expect.path)
                    );
                }
            }
            // Nothing the decoder read may be lost or changed by the encoder.
            let Some(TypeDef::Union(root)) = ir.get(&ir.root) else { bail!("the root of the IR is not a union") };
            let input = match input {
                Some(Ok(input)) => Some(input),
                _ => parse_unbounded(&case.frame[FRAME_HEADER_LEN..]).ok(),
            };
            if let Some(input) = input {
                if let Some(payload) = input.get(&root.content) {
                    let mut path = vec![root.content.clone()];
                    let ty = type_at(ir, &input, &path);
                    if let Some(found) = differs(ir, ty.as_ref(), payload, message.get(&root.content), &mut path) {
                        bail!("{name}: the canonical frame changed a value of the input: {found}");
                    }
                }
            }
        }
        Verdict::Reject { path: Some(path), .. } if !case.expects.is_empty() => {
            let within = |p: &str| p == "$" || path == p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["));
            let paths = case.paths();
            ensure!(
                paths.iter().any(|p| within(p)),
                "{name}: rejected at `{path}`, outside what the case tests ({}): the case does not test what it says",
                paths.join(", ")
            );
        }
        Verdict::Reject { .. } => {}
    }
    Ok(())
}

/// One case judged by the reference, with the corpus-wide checks: stable re-encoding, a
/// verdict independent of key order, and the case's expectations (see [`Expect`]). An accepted
/// case's canonical body comes with it, parsed as the corpus file holds it.
fn judge_case(builtin: Builtin, ir: &Ir, group: &str, case: &Case) -> Result<(Verdict, Option<serde_json::Result<Value>>)> {
    let name = format!("{group}/{}", case.slug);
    let verdict = judge_stable(builtin, &name, &case.frame)?;
    let input = parse_body(&case.frame);
    if let Some(Ok(parsed)) = &input {
        check_order_independent_of(builtin, &name, &case.frame, parsed, &verdict)?;
    }
    let message = match &verdict {
        Verdict::Accept { canonical } => parse_body(canonical),
        Verdict::Reject { .. } => None,
    };
    check_expectations(ir, &name, case, &verdict, input, message.as_ref())?;
    Ok((verdict, message))
}

/// One version's cases to judge: its reference, its IR and the groups built from it.
struct ToJudge<'a> {
    builtin: Builtin,
    ir: &'a Ir,
    groups: &'a [Group],
}

/// A case's entry in the corpus file (when asked for), or why it could not be written.
type Entry = Option<Result<Value>>;

/// What judging one case gave: its verdict and its entry in the corpus file.
type JudgedCase = Result<(Verdict, Entry)>;

/// Judges every case of every version ([`judge_case`]) on the machine's threads (the cases
/// are independent); the results in corpus order (version, group, case), each case's entry of
/// the corpus file with it when `entries`.
fn judge_all(versions: &[ToJudge], entries: bool) -> Vec<Vec<Vec<JudgedCase>>> {
    let tasks: Vec<(usize, usize, usize)> = versions
        .iter()
        .enumerate()
        .flat_map(|(v, version)| {
            version.groups.iter().enumerate().flat_map(move |(g, group)| (0..group.cases.len()).map(move |c| (v, g, c)))
        })
        .collect();
    let case = |&(v, g, c): &(usize, usize, usize)| &versions[v].groups[g].cases[c];
    let mut results = crate::parallel::map(&tasks, |task| case(task).frame.len(), |task| {
        let version = &versions[task.0];
        let group = &version.groups[task.1];
        let case = case(task);
        let (verdict, message) = judge_case(version.builtin, version.ir, group.name, case)?;
        let entry = entries.then(|| case_json(group.name, case, &verdict, message));
        Ok((verdict, entry))
    })
    .into_iter();
    versions
        .iter()
        .map(|version| version.groups.iter().map(|group| results.by_ref().take(group.cases.len()).collect()).collect())
        .collect()
}

/// The verdicts of one version's judged cases, or the first failure in corpus order.
fn verdicts(groups: Vec<Group>, judged: Vec<Vec<JudgedCase>>) -> Result<(Vec<JudgedGroup>, Vec<Vec<Entry>>)> {
    let mut out = Vec::new();
    let mut entries = Vec::new();
    for (group, judged) in groups.into_iter().zip(judged) {
        let mut cases = Vec::new();
        let mut group_entries = Vec::new();
        for (case, judged) in group.cases.into_iter().zip(judged) {
            let (verdict, entry) = judged?;
            cases.push((case, verdict));
            group_entries.push(entry);
        }
        out.push(JudgedGroup { name: group.name, cases });
        entries.push(group_entries);
    }
    Ok((out, entries))
}

/// Judges cases built from `ir` (the schema of `builtin`) with the reference, with the
/// corpus-wide checks: stable re-encoding, verdicts independent of key order, and every case's
/// expectations (see [`Expect`]).
pub fn judge_groups(builtin: Builtin, ir: &Ir, groups: Vec<Group>) -> Result<Vec<JudgedGroup>> {
    let judged = judge_all(&[ToJudge { builtin, ir, groups: &groups }], false).pop().expect("one version judged");
    Ok(verdicts(groups, judged)?.0)
}

/// Builds every group of a built-in version and judges every case, with the corpus-wide checks.
pub fn corpus(builtin: Builtin) -> Result<Vec<JudgedGroup>> {
    let ir = crate::ir::lower(&builtin.schema())?;
    let groups = build(&ir).with_context(|| format!("building the golden corpus of protocol {}", builtin.version))?;
    judge_groups(builtin, &ir, groups).with_context(|| format!("judging the golden corpus of protocol {}", builtin.version))
}

/// The corpus of one built-in version to render.
pub struct Corpus<'a> {
    pub builtin: Builtin,
    /// The IR of the version's schema.
    pub ir: &'a Ir,
    /// Where its files go: `<folder>golden/<group>.json`.
    pub folder: String,
    pub provenance: Provenance,
}

/// The corpus files of built-in versions, each version's `<folder>golden/<group>.json`: every
/// case built and judged with the corpus-wide checks (the versions' cases together, on the
/// machine's threads). The first failure is the one a version-by-version run meets first.
pub fn render_corpora(corpora: &[Corpus]) -> Result<Vec<Vec<GeneratedFile>>> {
    let built = crate::parallel::map(corpora, |_| 1, |c| {
        build(c.ir).with_context(|| format!("building the golden corpus of protocol {}", c.builtin.version))
    });
    // The versions after one that fails to build are not judged: its failure comes first.
    let buildable = built.iter().take_while(|b| b.is_ok()).count();
    let versions: Vec<ToJudge> = corpora
        .iter()
        .zip(&built)
        .take(buildable)
        .map(|(c, groups)| ToJudge { builtin: c.builtin, ir: c.ir, groups: groups.as_ref().expect("built") })
        .collect();
    let judged = judge_all(&versions, true);
    drop(versions);
    let mut files: Vec<(String, Value)> = Vec::new();
    let mut per_version = Vec::new();
    for ((c, groups), judged) in corpora.iter().zip(built).zip(judged.into_iter().map(Some).chain(std::iter::repeat_with(|| None))) {
        let groups = groups?;
        let judged = judged.expect("a version that built was judged");
        let (groups, entries) =
            verdicts(groups, judged).with_context(|| format!("judging the golden corpus of protocol {}", c.builtin.version))?;
        for (group, entries) in groups.iter().zip(entries) {
            let cases = entries.into_iter().map(|e| e.expect("entries were asked for")).collect::<Result<Vec<_>>>()?;
            let mut file = Map::new();
            file.insert("provenance".into(), c.provenance.json());
            file.insert("group".into(), json!(group.name));
            file.insert("cases".into(), Value::Array(cases));
            files.push((format!("{}golden/{}.json", c.folder, group.name), Value::Object(file)));
        }
        per_version.push(groups.len());
    }
    // Pretty-printing the files (megabytes, for the large frames) is independent work too.
    let mut texts = crate::parallel::map(&files, |(_, file)| approximate_size(file), |(path, file)| {
        let mut text = serde_json::to_string_pretty(file)?;
        text.push('\n');
        Ok(GeneratedFile::new(path.clone(), text))
    })
    .into_iter();
    per_version.into_iter().map(|n| texts.by_ref().take(n).collect::<Result<Vec<_>>>()).collect()
}

/// The corpus files of one built-in version, `<folder>golden/<group>.json` (its schema
/// lowered, then [`render_corpora`]).
pub fn render(builtin: Builtin, folder: &str, provenance: &Provenance) -> Result<Vec<GeneratedFile>> {
    let ir = crate::ir::lower(&builtin.schema())?;
    let corpus = Corpus { builtin, ir: &ir, folder: folder.to_string(), provenance: provenance.clone() };
    Ok(render_corpora(std::slice::from_ref(&corpus))?.pop().expect("one corpus rendered"))
}

/// A rough size of a value's JSON text, to start on the largest files first.
fn approximate_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(approximate_size).sum(),
        Value::Object(object) => object.values().map(approximate_size).sum(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests;
