//! Differential fuzzing driver: generates inputs from the IR and records the Rust reference's
//! verdict for each, one line per input, for the other languages to replay:
//!
//! ```text
//! <base64 frame> <TAB> accept <TAB> <base64 canonical frame> <TAB> -
//! <base64 frame> <TAB> reject <TAB> <error kind> <TAB> <error path, or - for length/json>
//! ```
//!
//! `rrq-differential --seed 1 --count 20000 > inputs.tsv`; see `tests/differential/`.
//!
//! Two more modes serve the version-skew test (`tests/diff/run.sh`, `docs/COMPATIBILITY.md`):
//! - `--from-golden generated/v<N>/golden` turns the golden corpus into a release's frozen record,
//!   `generated/v<N>/history/<version>.golden.tsv`: the same lines with the case name first;
//! - `--skew DIFF.json --old-schema OLD.schema.json --old-frames OLD.golden.tsv` predicts, from
//!   the `rrq-codegen diff OLD.schema.json --format json` report, what the current bindings do
//!   with every frame of the old release, checks the current Rust reference against that
//!   prediction (report on stderr, exit 1 on any frame that contradicts it), and prints the
//!   expected lines (in the format above) for Python and TypeScript to replay.

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use rrq_codegen::fuzz::{Generator, Rng};
use rrq_codegen::ir::{Ir, Type, TypeDef};
use rrq_codegen::schema::Builtin;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Generate differential-fuzzing inputs with the Rust reference's verdicts (or, with
/// `--from-golden` / `--skew`, record and check a release's golden frames).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The built-in protocol version whose reference judges (default: the latest; with --skew,
    /// the old schema's).
    #[arg(long, value_name = "VERSION")]
    protocol: Option<String>,
    /// Seed of the generator: the same seed gives the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of inputs.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Print the golden corpus in DIR (`generated/v<N>/golden`) as a release record:
    /// `name<TAB>frame<TAB>accept<TAB>canonical<TAB>-` or `name<TAB>frame<TAB>reject<TAB>kind<TAB>path`.
    #[arg(long, value_name = "DIR", conflicts_with = "skew")]
    from_golden: Option<PathBuf>,
    /// With --from-golden: leave out cases whose frame or canonical frame is larger (bytes).
    #[arg(long, default_value_t = 65_536)]
    max_case_bytes: usize,
    /// Version-skew check: the JSON report of `rrq-codegen diff OLD_SCHEMA --format json`.
    #[arg(long, value_name = "DIFF_JSON", requires_all = ["old_schema", "old_frames"])]
    skew: Option<PathBuf>,
    /// With --skew: the old release's schema (`generated/v<N>/history/<version>.schema.json`).
    #[arg(long, value_name = "FILE")]
    old_schema: Option<PathBuf>,
    /// With --skew: the old release's record (`generated/v<N>/history/<version>.golden.tsv`).
    #[arg(long, value_name = "FILE")]
    old_frames: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let builtins = rrq_codegen::schema::builtins();
    // The skew check speaks the old release's protocol version unless told otherwise.
    let skew_version = match (&args.protocol, &args.old_schema) {
        (None, Some(path)) if args.skew.is_some() => {
            read_json(path)?.pointer("/x-rrq/protocol_version").and_then(Value::as_str).map(str::to_string)
        }
        _ => None,
    };
    let builtin = match args.protocol.as_ref().or(skew_version.as_ref()) {
        None => *builtins.last().expect("a built-in version"),
        Some(v) => rrq_codegen::schema::builtin_version(v).ok_or_else(|| anyhow!("no built-in protocol version `{v}`"))?,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(dir) = &args.from_golden {
        from_golden(builtin, dir, args.max_case_bytes, &mut out)?;
    } else if let Some(diff) = &args.skew {
        let (old_schema, old_frames) = (args.old_schema.as_deref().unwrap(), args.old_frames.as_deref().unwrap());
        let report = skew(builtin, diff, old_schema, old_frames)?;
        eprint!("{}", report.text);
        for line in &report.expected {
            writeln!(out, "{line}")?;
        }
        out.flush()?;
        if report.violations > 0 {
            std::process::exit(1);
        }
    } else {
        fuzz(builtin, args.seed, args.count, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

fn fuzz(builtin: Builtin, seed: u64, count: usize, out: &mut impl Write) -> Result<()> {
    let ir = rrq_codegen::ir::lower(&builtin.schema())?;
    let mut generator = Generator { ir: &ir, rng: Rng::new(seed) };
    for _ in 0..count {
        let frame = generator.frame();
        writeln!(out, "{}\t{}", STANDARD.encode(&frame), rust_outcome(builtin, &frame)?.columns())?;
    }
    Ok(())
}

/// A verdict as the TSV lines carry it: `accept` with the canonical frame (base64) and `-`, or
/// `reject` with the error kind and path (`-` for length/json errors).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    verdict: String,
    detail: String,
    path: String,
}

impl Outcome {
    fn accepted(&self) -> bool {
        self.verdict == "accept"
    }

    fn columns(&self) -> String {
        format!("{}\t{}\t{}", self.verdict, self.detail, self.path)
    }

    /// For reports: `accept` or `reject kind at path`.
    fn short(&self) -> String {
        if self.accepted() {
            "accept".to_string()
        } else if self.path == "-" {
            format!("reject ({})", self.detail)
        } else {
            format!("reject ({} at {})", self.detail, self.path)
        }
    }
}

/// The current Rust reference's verdict on a frame.
fn rust_outcome(builtin: Builtin, frame: &[u8]) -> Result<Outcome> {
    Ok(match builtin.reencode(frame) {
        Ok(canonical) => Outcome { verdict: "accept".into(), detail: STANDARD.encode(canonical), path: "-".into() },
        Err(err) => {
            let path = match &err {
                rrq_protocol::FrameError::Invalid(e) => e.path(),
                _ => "-".to_string(),
            };
            Outcome { verdict: "reject".into(), detail: err.kind().as_str().to_string(), path }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The release record: --from-golden

#[derive(Deserialize)]
struct CorpusFile {
    cases: Vec<CorpusCase>,
}

#[derive(Deserialize)]
struct CorpusCase {
    name: String,
    frame: String,
    verdict: String,
    canonical: Option<String>,
    error: Option<CorpusError>,
}

#[derive(Deserialize)]
struct CorpusError {
    kind: String,
    path: Option<String>,
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // Corpus files embed frames nested 127 levels deep inside their own nesting.
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de).with_context(|| format!("parsing {}", path.display()))?;
    de.end().with_context(|| format!("parsing {}", path.display()))?;
    Ok(value)
}

/// Prints the corpus as a record, after checking that the current Rust reference still gives
/// every case the verdict the corpus recorded (a stale corpus must not be frozen).
fn from_golden(builtin: Builtin, dir: &Path, max_case_bytes: usize, out: &mut impl Write) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    if files.is_empty() {
        bail!("no golden corpus files (*.json) in {}", dir.display());
    }
    let meta = rrq_codegen::ir::lower(&builtin.schema())?.meta;
    let (mut lines, mut left_out) = (Vec::new(), Vec::new());
    for file in &files {
        let corpus: CorpusFile = serde_json::from_value(read_json(file)?).with_context(|| format!("reading {}", file.display()))?;
        for case in corpus.cases {
            let frame = STANDARD.decode(&case.frame).with_context(|| format!("{}: frame", case.name))?;
            let recorded = match (case.verdict.as_str(), case.canonical, case.error) {
                ("accept", Some(canonical), _) => Outcome { verdict: "accept".into(), detail: canonical, path: "-".into() },
                ("reject", _, Some(error)) => {
                    Outcome { verdict: "reject".into(), detail: error.kind, path: error.path.unwrap_or_else(|| "-".into()) }
                }
                _ => bail!("{}: a case is `accept` with `canonical` or `reject` with `error`", case.name),
            };
            let actual = rust_outcome(builtin, &frame)?;
            if actual != recorded {
                bail!(
                    "{}: the corpus says {}, the Rust reference {}: run `rrq-codegen generate` first",
                    case.name,
                    recorded.short(),
                    actual.short()
                );
            }
            let canonical_len = if recorded.accepted() { STANDARD.decode(&recorded.detail)?.len() } else { 0 };
            if frame.len().max(canonical_len) > max_case_bytes {
                left_out.push(format!("{} ({} bytes)", case.name, frame.len().max(canonical_len)));
                continue;
            }
            if case.name.contains(['\t', '\n']) {
                bail!("{}: a case name with a tab or newline", case.name);
            }
            lines.push(format!("{}\t{}\t{}", case.name, case.frame, recorded.columns()));
        }
    }
    writeln!(
        out,
        "# Golden frames of rrq-protocol {} (protocol {}), with the verdicts its Rust reference gave them.",
        meta.package_version, builtin.version
    )?;
    writeln!(out, "# Written by `rrq-differential --from-golden generated/v<N>/golden` at the release; never edited.")?;
    writeln!(out, "# Columns: name, frame (base64), accept, canonical frame (base64), - | name, frame, reject, error kind, error path (- for length/json).")?;
    writeln!(
        out,
        "# {} cases; left out (frame or canonical frame over {max_case_bytes} bytes): {}.",
        lines.len(),
        if left_out.is_empty() { "none".to_string() } else { left_out.join(", ") }
    )?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One line of a release record.
struct Recorded {
    name: String,
    frame_b64: String,
    outcome: Outcome,
}

fn read_record(path: &Path) -> Result<Vec<Recorded>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut cases = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [name, frame, verdict, detail, error_path] = columns[..] else {
            bail!("{}:{}: expected 5 tab-separated columns, found {}", path.display(), number + 1, columns.len());
        };
        if verdict != "accept" && verdict != "reject" {
            bail!("{}:{}: verdict `{verdict}` is neither accept nor reject", path.display(), number + 1);
        }
        let outcome = Outcome { verdict: verdict.into(), detail: detail.into(), path: error_path.into() };
        cases.push(Recorded { name: name.into(), frame_b64: frame.into(), outcome });
    }
    if cases.is_empty() {
        bail!("{}: no frames", path.display());
    }
    Ok(cases)
}

// ---------------------------------------------------------------------------------------------
// The version-skew check: --skew

/// Where in a frame a change of the diff can make a difference.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loc {
    /// Nowhere on the wire (package version, documented error types, a type added or removed:
    /// its uses are reported where they appear).
    Nowhere,
    /// Any frame (protocol version, or a pointer this check cannot place).
    Everywhere,
    /// Frames longer than the smaller of the two `max_frame_len`.
    FrameLen,
    /// Frames nested about as deep as the smaller of the two `max_nesting_depth`, or deeper.
    Depth,
    /// Any value of the named type (a change of the whole type, or of its field order).
    Type(String),
    /// Any value of the struct: the field's presence, absence or value.
    Field(String, String),
    /// Values of the struct where the field is present and not `null` (integer bounds).
    FieldPresent(String, String),
    /// The enum value, or the union's tag value, where it appears.
    Value(String, String),
}

/// A change of the diff report, with where it acts.
struct Predicted {
    category: String,
    pointer: String,
    affects: Vec<String>,
    /// Breaking in the old writer → new reader direction (an old release's frames reaching
    /// current readers).
    breaking: bool,
    loc: Loc,
}

impl Predicted {
    fn label(&self) -> String {
        format!("{} #{}", self.category, self.pointer)
    }
}

/// Categories whose old→new verdict "compatible" rests on what old *writers* write (rule 1/2 of
/// docs/COMPATIBILITY.md), not on what old readers accepted: a frame an old reader accepted but
/// no old writer would write (an omitted field writers always write, an explicit `null` writers
/// omit) can be rejected by new readers although the change is compatible.
const WRITER_DEPENDENT: [&str; 3] = ["field_made_required", "field_made_non_nullable", "type_changed"];

/// Categories after which a frame they touch cannot be accepted any more: it uses an enum value
/// or tag the current readers no longer know. (`field_added_required` too, for the canonical
/// frames of old writers, which never write the field; a hand-made frame may carry it.)
const SURELY_REJECTED: [&str; 2] = ["enum_value_removed", "tag_value_removed"];

/// What walking a frame along the old schema's IR met.
#[derive(Default)]
struct Touch {
    /// The body parsed as JSON (not too deep for this check).
    parsed: bool,
    /// The root union's tag value, when the body is an object with a string tag.
    message: Option<String>,
    types: BTreeSet<String>,
    present: BTreeSet<(String, String)>,
    values: BTreeSet<(String, String)>,
    /// The declared body length (or the body's, without a header).
    len: u64,
    /// The deepest nesting of arrays and objects in the body.
    depth: usize,
}


/// Parses a frame body with serde_json (duplicate keys: the last wins, as in the reference),
/// `None` when it is not JSON or nested too deep to bother.
fn parse_body(body: &[u8]) -> Option<Value> {
    if rrq_codegen::golden::json_depth(body) > 1_000 {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

fn touch(ir: &Ir, frame: &[u8]) -> Touch {
    let (header, body) = if frame.len() >= 4 { frame.split_at(4) } else { (&[][..], frame) };
    let declared = if header.len() == 4 { u32::from_be_bytes(header.try_into().unwrap()) as u64 } else { 0 };
    let mut t = Touch { len: declared.max(body.len() as u64), depth: rrq_codegen::golden::json_depth(body), ..Touch::default() };
    let Some(value) = parse_body(body) else { return t };
    t.parsed = true;
    if let Some(TypeDef::Union(root)) = ir.get(&ir.root) {
        t.message = value.get(&root.tag).and_then(Value::as_str).map(str::to_string);
    }
    walk_def(ir, &ir.root, &value, &mut t);
    t
}

fn walk_def(ir: &Ir, name: &str, value: &Value, t: &mut Touch) {
    t.types.insert(name.to_string());
    match ir.get(name) {
        Some(TypeDef::Struct(s)) => {
            let Value::Object(map) = value else { return };
            for field in &s.fields {
                if let Some(v) = map.get(&field.name).filter(|v| !v.is_null()) {
                    t.present.insert((name.to_string(), field.name.clone()));
                    walk_type(ir, &field.ty, v, t);
                }
            }
        }
        Some(TypeDef::Enum(_)) => {
            if let Value::String(v) = value {
                t.values.insert((name.to_string(), v.clone()));
            }
        }
        Some(TypeDef::Union(u)) => {
            let Value::Object(map) = value else { return };
            let Some(Value::String(tag)) = map.get(&u.tag) else { return };
            t.values.insert((name.to_string(), tag.clone()));
            if let (Some(variant), Some(content)) = (u.variants.iter().find(|v| &v.tag_value == tag), map.get(&u.content)) {
                walk_def(ir, &variant.ty, content, t);
            }
        }
        None => {}
    }
}

fn walk_type(ir: &Ir, ty: &Type, value: &Value, t: &mut Touch) {
    match (ty, value) {
        (Type::Named { name }, _) => walk_def(ir, name, value, t),
        (Type::Array { items }, Value::Array(values)) => values.iter().for_each(|v| walk_type(ir, items, v, t)),
        (Type::Map { values: ty }, Value::Object(map)) => map.values().for_each(|v| walk_type(ir, ty, v, t)),
        _ => {}
    }
}

/// The two schemas of a diff, for placing its pointers.
struct Schemas<'a> {
    old: &'a Value,
    new: &'a Value,
    old_ir: &'a Ir,
    new_ir: &'a Ir,
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

impl Schemas<'_> {
    /// Where a change acts, from its category and JSON pointer (into the old or new schema).
    /// Type names are the old schema's (the roots correspond whatever their names).
    fn place(&self, category: &str, pointer: &str, side: &str) -> Loc {
        match category {
            "package_version_changed" | "error_type_added" | "error_type_removed" | "type_added" | "type_removed" => {
                return Loc::Nowhere
            }
            "protocol_version_changed" => return Loc::Everywhere,
            _ => {}
        }
        let (schema, ir) = if side == "old" { (self.old, self.old_ir) } else { (self.new, self.new_ir) };
        let segments: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        let (name, rest) = match seg[..] {
            ["x-rrq", "max_frame_len"] => return Loc::FrameLen,
            ["x-rrq", "max_nesting_depth"] => return Loc::Depth,
            ["x-rrq", ..] => return Loc::Everywhere,
            ["$defs", name, ref rest @ ..] => (name, rest),
            ref rest => (ir.root.as_str(), rest),
        };
        let def_pointer = if name == ir.root { String::new() } else { format!("/$defs/{}", pointer.split('/').nth(2).unwrap_or("")) };
        let name = if name == ir.root { self.old_ir.root.clone() } else { name.to_string() };
        match rest {
            [] | ["properties"] => Loc::Type(name),
            ["properties", field, ..] if category.starts_with("bound_") => Loc::FieldPresent(name, field.to_string()),
            ["properties", field, ..] => Loc::Field(name, field.to_string()),
            [key @ ("oneOf" | "enum"), index, ..] => {
                let alternative = schema.pointer(&format!("{def_pointer}/{key}/{index}"));
                let value = match (ir.get(if name == self.old_ir.root { &ir.root } else { &name }), alternative) {
                    (Some(TypeDef::Enum(_)), Some(alt)) => {
                        alt.as_str().or_else(|| alt.get("const").and_then(Value::as_str)).map(str::to_string)
                    }
                    (Some(TypeDef::Union(u)), Some(alt)) => {
                        alt.pointer(&format!("/properties/{}/const", u.tag.replace('~', "~0").replace('/', "~1")))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    }
                    _ => None,
                };
                value.map_or(Loc::Type(name.clone()), |v| Loc::Value(name, v))
            }
            _ => Loc::Type(name),
        }
    }
}

impl Touch {
    fn meets(&self, loc: &Loc, limits: (u64, u64)) -> bool {
        match loc {
            Loc::Nowhere => false,
            Loc::Everywhere => true,
            Loc::FrameLen => self.len > limits.0,
            Loc::Depth => self.depth as u64 >= limits.1,
            Loc::Type(name) | Loc::Field(name, _) => self.types.contains(name),
            Loc::FieldPresent(name, field) => self.present.contains(&(name.clone(), field.clone())),
            Loc::Value(name, value) => self.values.contains(&(name.clone(), value.clone())),
        }
    }
}

/// The places where canonical bytes may differ: those of the changes that touch the frame.
struct Allowed<'a> {
    locs: Vec<&'a Loc>,
}

impl Allowed<'_> {
    fn everywhere(&self) -> bool {
        self.locs.iter().any(|l| matches!(l, Loc::Everywhere))
    }
    fn ty(&self, name: &str) -> bool {
        self.everywhere() || self.locs.iter().any(|l| matches!(l, Loc::Type(n) if n == name))
    }
    fn field(&self, name: &str, field: &str) -> bool {
        self.ty(name)
            || self.locs.iter().any(|l| match l {
                Loc::Field(n, f) | Loc::FieldPresent(n, f) => n == name && f == field,
                _ => false,
            })
    }
    fn value(&self, name: &str, value: &str) -> bool {
        self.ty(name) || self.locs.iter().any(|l| matches!(l, Loc::Value(n, v) if n == name && v == value))
    }
}

/// Compares the old release's canonical message with the current one along the old IR; every
/// difference outside `allowed` is reported with its path.
struct Compare<'a> {
    ir: &'a Ir,
    allowed: Allowed<'a>,
    differences: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Compare<'_> {
    fn differ(&mut self, path: &str, what: String) {
        let path = if path.is_empty() { "$" } else { path };
        self.differences.push(format!("{path}: {what}"));
    }

    fn def(&mut self, name: &str, old: &Value, new: &Value, path: &str) {
        if old == new || self.allowed.ty(name) {
            return;
        }
        match (self.ir.get(name), old, new) {
            (Some(TypeDef::Struct(s)), Value::Object(a), Value::Object(b)) => {
                let keys = |m: &serde_json::Map<String, Value>| -> Vec<String> {
                    m.keys().filter(|k| !self.allowed.field(name, k)).cloned().collect()
                };
                let (ka, kb) = (keys(a), keys(b));
                for key in &ka {
                    match (b.get(key), s.fields.iter().find(|f| &f.name == key)) {
                        (None, _) => self.differ(&join(path, key), "written by the old release, not by the current one".into()),
                        (Some(bv), Some(field)) => {
                            let ty = field.ty.clone();
                            self.ty(&ty, &a[key], bv, &join(path, key))
                        }
                        (Some(bv), None) => {
                            if &a[key] != bv {
                                self.differ(&join(path, key), format!("{} → {}", a[key], bv))
                            }
                        }
                    }
                }
                for key in kb.iter().filter(|k| !a.contains_key(*k)) {
                    self.differ(&join(path, key), "written by the current release, not by the old one".into());
                }
                let common = |ks: &[String], other: &serde_json::Map<String, Value>| -> Vec<String> {
                    ks.iter().filter(|k| other.contains_key(*k)).cloned().collect()
                };
                if common(&ka, b) != common(&kb, a) {
                    self.differ(path, format!("fields in another order: {} → {}", ka.join(", "), kb.join(", ")));
                }
            }
            (Some(TypeDef::Union(u)), Value::Object(a), Value::Object(b)) => {
                let (ta, tb) = (a.get(&u.tag).and_then(Value::as_str), b.get(&u.tag).and_then(Value::as_str));
                match (ta, tb) {
                    (Some(ta), Some(tb)) if ta == tb => {
                        if self.allowed.value(name, ta) {
                            return;
                        }
                        let variant = u.variants.iter().find(|v| v.tag_value == ta).map(|v| v.ty.clone());
                        match (variant, a.get(&u.content), b.get(&u.content)) {
                            (Some(ty), Some(ca), Some(cb)) => self.def(&ty, ca, cb, &join(path, &u.content)),
                            _ => self.differ(path, format!("{old} → {new}")),
                        }
                    }
                    _ => self.differ(&join(path, &u.tag), format!("{ta:?} → {tb:?}")),
                }
            }
            (Some(TypeDef::Enum(_)), Value::String(a), Value::String(b)) => {
                if !self.allowed.value(name, a) && !self.allowed.value(name, b) {
                    self.differ(path, format!("`{a}` → `{b}`"));
                }
            }
            _ => self.differ(path, format!("{old} → {new}")),
        }
    }

    fn ty(&mut self, ty: &Type, old: &Value, new: &Value, path: &str) {
        if old == new {
            return;
        }
        match (ty, old, new) {
            (Type::Named { name }, _, _) => self.def(name, old, new, path),
            (Type::Array { items }, Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.ty(items, x, y, &format!("{path}[{i}]"));
                }
            }
            (Type::Map { values }, Value::Object(a), Value::Object(b)) if a.keys().eq(b.keys()) => {
                for (key, x) in a {
                    self.ty(values, x, &b[key], &join(path, key));
                }
            }
            _ => self.differ(path, format!("{old} → {new}")),
        }
    }
}

/// One frame to check: a recorded case, or the canonical frame of a recorded accept (what an old
/// writer writes, which is what the diff's verdicts are about).
struct Case {
    name: String,
    frame_b64: String,
    old: Outcome,
    canonical: bool,
}

/// How the diff says the current bindings treat a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    /// No change touches it: the same verdict, error kind and path, canonical bytes.
    Same,
    /// Only compatible (old→new) changes touch it and the old release accepted it: accepted,
    /// canonical bytes different only where those changes act.
    StillAccepted,
    /// Only changes that leave the current readers no way to accept it touch it: rejected (the
    /// error kind and path are not predicted).
    Rejected,
    /// A breaking change touches it (or a compatible one whose verdict rests on what old
    /// writers write, for a frame no old writer writes, or it was a reject): its verdict may
    /// change; if both releases accept it, canonical bytes may differ only where changes act.
    MayChange,
}

/// What `--skew` found.
struct SkewReport {
    text: String,
    expected: Vec<String>,
    violations: usize,
}

#[derive(Deserialize)]
struct DiffJson {
    old: DiffSide,
    new: DiffSide,
    messages: serde_json::Map<String, Value>,
    changes: Vec<DiffChange>,
}

#[derive(Deserialize)]
struct DiffSide {
    package_version: String,
    protocol_version: String,
}

#[derive(Deserialize)]
struct DiffChange {
    category: String,
    pointer: String,
    schema: String,
    affects: Vec<String>,
    old_writer_new_reader: DiffVerdict,
}

#[derive(Deserialize)]
struct DiffVerdict {
    verdict: String,
}

/// The label of the frames that carry no message tag (envelope and framing errors).
const NO_MESSAGE: &str = "(no message)";

fn skew(builtin: Builtin, diff_path: &Path, old_schema_path: &Path, old_frames_path: &Path) -> Result<SkewReport> {
    let diff: DiffJson = serde_json::from_value(read_json(diff_path)?)
        .with_context(|| format!("{}: not a `rrq-codegen diff --format json` report", diff_path.display()))?;
    let old_schema = read_json(old_schema_path)?;
    let new_schema = builtin.schema();
    let old_ir = rrq_codegen::ir::lower(&old_schema).with_context(|| format!("in {}", old_schema_path.display()))?;
    let new_ir = rrq_codegen::ir::lower(&new_schema)?;
    if (diff.new.package_version.as_str(), diff.new.protocol_version.as_str())
        != (new_ir.meta.package_version.as_str(), new_ir.meta.version.as_deref().unwrap_or_default())
    {
        bail!(
            "{}: the diff's new side is {} (protocol {}), not these bindings' {} (protocol {}): diff against the built-in schema",
            diff_path.display(),
            diff.new.package_version,
            diff.new.protocol_version,
            new_ir.meta.package_version,
            new_ir.meta.version.as_deref().unwrap_or_default()
        );
    }
    if diff.old.package_version != old_ir.meta.package_version {
        bail!(
            "{}: the diff's old side is {}, {} is {}",
            diff_path.display(),
            diff.old.package_version,
            old_schema_path.display(),
            old_ir.meta.package_version
        );
    }
    let schemas = Schemas { old: &old_schema, new: &new_schema, old_ir: &old_ir, new_ir: &new_ir };
    let changes: Vec<Predicted> = diff
        .changes
        .iter()
        .map(|c| Predicted {
            category: c.category.clone(),
            pointer: c.pointer.clone(),
            affects: c.affects.clone(),
            breaking: c.old_writer_new_reader.verdict == "breaking",
            loc: schemas.place(&c.category, &c.pointer, &c.schema),
        })
        .collect();
    let limits = (
        old_ir.meta.max_frame_len.min(new_ir.meta.max_frame_len),
        old_ir.meta.max_nesting_depth.min(new_ir.meta.max_nesting_depth),
    );

    // The frames: every recorded case, and the canonical frame of every recorded accept.
    let mut cases = Vec::new();
    let mut canonical_seen = BTreeSet::new();
    let recorded = read_record(old_frames_path)?;
    for r in &recorded {
        if r.outcome.accepted() && canonical_seen.insert(r.outcome.detail.clone()) {
            cases.push(Case {
                name: format!("{} (canonical)", r.name),
                frame_b64: r.outcome.detail.clone(),
                old: Outcome { verdict: "accept".into(), detail: r.outcome.detail.clone(), path: "-".into() },
                canonical: true,
            });
        }
    }
    let canonical_cases = std::mem::take(&mut cases);
    for r in recorded {
        cases.push(Case { name: r.name, frame_b64: r.frame_b64, old: r.outcome, canonical: false });
    }
    cases.extend(canonical_cases);

    // Per message: the prediction from the diff alone.
    let mut text = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        text,
        "version skew: frames of {} (protocol {}) read by the current bindings {} (protocol {})",
        diff.old.package_version, diff.old.protocol_version, diff.new.package_version, diff.new.protocol_version
    );
    let mut messages: Vec<String> = diff.messages.keys().cloned().collect();
    messages.push(NO_MESSAGE.to_string());
    let frame_wide = |c: &Predicted| matches!(c.loc, Loc::Everywhere | Loc::FrameLen | Loc::Depth);
    for message in &messages {
        let relevant: Vec<&Predicted> = changes
            .iter()
            .filter(|c| c.loc != Loc::Nowhere && (c.affects.contains(message) || frame_wide(c)))
            .collect();
        let breaking: Vec<String> = relevant.iter().filter(|c| c.breaking).map(|c| c.label()).collect();
        let prediction = if relevant.is_empty() {
            "no changes: every frame keeps its verdict, error kind and path, and canonical bytes".to_string()
        } else if breaking.is_empty() {
            format!(
                "compatible old→new ({}): frames old writers write stay accepted; frames that touch no change keep their verdict exactly; canonical bytes differ only where changes act",
                relevant.iter().map(|c| c.label()).collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "BREAKING old→new ({}): frames that touch these may change their verdict; every other frame keeps it exactly",
                breaking.join(", ")
            )
        };
        let _ = writeln!(text, "  prediction for {message}: {prediction}");
    }

    // Per frame: which changes touch it, what that predicts, what the current Rust does.
    struct Tally {
        frames: usize,
        same: usize,
        changed: Vec<String>,
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut expected = Vec::new();
    let mut by_expect: BTreeMap<Expect, usize> = BTreeMap::new();
    for case in &cases {
        let frame = STANDARD.decode(&case.frame_b64).with_context(|| format!("{}: frame is not base64", case.name))?;
        let t = touch(&old_ir, &frame);
        let touching: Vec<&Predicted> = changes.iter().filter(|c| t.meets(&c.loc, limits)).collect();
        let writer_dependent = touching.iter().any(|c| WRITER_DEPENDENT.contains(&c.category.as_str()));
        let surely_rejected = |c: &&Predicted| {
            SURELY_REJECTED.contains(&c.category.as_str()) || (case.canonical && c.category == "field_added_required")
        };
        let expect = if touching.is_empty() {
            Expect::Same
        } else if touching.iter().all(surely_rejected) {
            Expect::Rejected
        } else if touching.iter().all(|c| !c.breaking) && case.old.accepted() && (case.canonical || !writer_dependent) {
            Expect::StillAccepted
        } else {
            Expect::MayChange
        };
        *by_expect.entry(expect).or_default() += 1;
        let current = rust_outcome(builtin, &frame)?;
        let because = || {
            if touching.is_empty() {
                "no change of the diff touches it".to_string()
            } else {
                format!("touched by {}", touching.iter().map(|c| c.label()).collect::<Vec<_>>().join(", "))
            }
        };
        let mut wrong = Vec::new();
        match expect {
            Expect::Same if current != case.old => wrong.push(if current.verdict == case.old.verdict && current.accepted() {
                "the diff predicts the same canonical bytes, the current Rust writes others".to_string()
            } else {
                format!("the diff predicts {}, the current Rust gives {}", case.old.short(), current.short())
            }),
            Expect::Rejected if current.accepted() => {
                wrong.push("the diff predicts it is rejected now, the current Rust accepts it".to_string())
            }
            Expect::StillAccepted if !current.accepted() => {
                wrong.push(format!("the diff predicts it stays accepted, the current Rust gives {}", current.short()))
            }
            _ => {}
        }
        if case.old.accepted() && current.accepted() && current != case.old {
            let body = |b64: &str| -> Result<Value> {
                let bytes = STANDARD.decode(b64)?;
                parse_body(bytes.get(4..).unwrap_or_default()).ok_or_else(|| anyhow!("a canonical frame that is not JSON"))
            };
            let (old_message, new_message) = (body(&case.old.detail)?, body(&current.detail)?);
            let allowed = Allowed { locs: touching.iter().map(|c| &c.loc).collect() };
            let mut compare = Compare { ir: &old_ir, allowed, differences: Vec::new() };
            compare.def(&old_ir.root, &old_message, &new_message, "");
            if !compare.differences.is_empty() && expect != Expect::Same {
                wrong.push(format!(
                    "the canonical bytes differ where no touching change acts: {}",
                    compare.differences.join("; ")
                ));
            }
        }
        let message = match &t.message {
            Some(m) if messages.contains(m) => m.clone(),
            _ => NO_MESSAGE.to_string(),
        };
        let tally = tallies.entry(message).or_insert(Tally { frames: 0, same: 0, changed: Vec::new() });
        tally.frames += 1;
        if current == case.old {
            tally.same += 1;
        } else if wrong.is_empty() {
            let what = if current.verdict == case.old.verdict && current.accepted() {
                "accept, other canonical bytes".to_string()
            } else {
                format!("{} → {}", case.old.short(), current.short())
            };
            let expectation = match expect {
                Expect::Same => "must stay identical",
                Expect::StillAccepted => "must stay accepted",
                Expect::Rejected => "must be rejected",
                Expect::MayChange => "may change",
            };
            tally.changed.push(format!("{}: {what} ({expectation}: {})", case.name, because()));
        }
        if !wrong.is_empty() {
            violations.push(format!("{}: {} ({})", case.name, wrong.join("; "), because()));
        }
        let line = if expect == Expect::Same { &case.old } else { &current };
        expected.push(format!("{}\t{}", case.frame_b64, line.columns()));
    }

    for (message, tally) in messages.iter().filter_map(|m| tallies.get(m).map(|t| (m, t))) {
        let _ = writeln!(
            text,
            "  {message}: {} frames, {} unchanged, {} changed as the diff allows",
            tally.frames,
            tally.same,
            tally.changed.len()
        );
        for changed in &tally.changed {
            let _ = writeln!(text, "    changed: {changed}");
        }
    }
    let _ = writeln!(
        text,
        "  {} frames ({} recorded, {} canonical frames of recorded accepts): {} untouched by the diff (must stay identical), {} must stay accepted, {} must be rejected, {} may change",
        cases.len(),
        cases.iter().filter(|c| !c.canonical).count(),
        cases.iter().filter(|c| c.canonical).count(),
        by_expect.get(&Expect::Same).unwrap_or(&0),
        by_expect.get(&Expect::StillAccepted).unwrap_or(&0),
        by_expect.get(&Expect::Rejected).unwrap_or(&0),
        by_expect.get(&Expect::MayChange).unwrap_or(&0)
    );
    if violations.is_empty() {
        let _ = writeln!(text, "rust: every frame is what the diff predicted");
    } else {
        let _ = writeln!(text, "rust: {} frames contradict the diff's prediction:", violations.len());
        for v in &violations {
            let _ = writeln!(text, "  VIOLATION {v}");
        }
    }
    Ok(SkewReport { text, expected, violations: violations.len() })
}
