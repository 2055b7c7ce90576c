//! Compatibility between two versions of the protocol schema: `rrq-codegen diff`.
//!
//! Both schemas are lowered to the IR ([`crate::ir::lower`]), so the comparison sees exactly
//! what the generators see (required, nullable, default, always-written, types, bounds, enum
//! values, union tags) and works for any schema the generator supports.
//!
//! Every message is written by one side and read by the other, and in a rolling upgrade either
//! side can be the newer one, so each change gets two verdicts:
//! - **new writer → old reader**: a message written by the new version, read by the old one;
//! - **old writer → new reader**: a message written by the old version, read by the new one.
//!
//! The verdicts come from a few rules about what a writer may put on the wire and what a reader
//! accepts, applied to the field as the writer's schema and the reader's schema describe it:
//! - a writer may omit a field iff it is not always-written; a reader rejects an absent field
//!   iff it is required;
//! - a writer may write `null` iff the field is nullable and always-written (otherwise it omits
//!   an empty field); a reader rejects `null` iff the field is not nullable;
//! - a reader fills an absent field with its default (or "no value"); when a writer may omit a
//!   field, the reader must give its absence the meaning the writer gave it;
//! - readers ignore fields they do not know;
//! - every value a writer may write must be in the set of values the reader accepts (types,
//!   integer bounds, enum values, union tags, frame limits).
//!
//! A change is breaking in a direction when one of these rules fails there because of it. A
//! change in a type that no message uses is compatible both ways. `docs/COMPATIBILITY.md`
//! explains the rules with examples.

use crate::ir::{self, Field, Ir, Type, TypeDef};
use anyhow::{Context, Result};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The integers a 64-bit float holds exactly: ±2^53.
const FLOAT_EXACT: i128 = 1 << 53;

/// What kind of change a [`Change`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A new field that readers may find absent and that has no default.
    FieldAddedOptional,
    /// A new field that readers require.
    FieldAddedRequired,
    /// A new optional field whose absence means its default value.
    FieldAddedWithDefault,
    FieldRemoved,
    FieldMadeRequired,
    FieldMadeOptional,
    FieldMadeNullable,
    FieldMadeNonNullable,
    /// Writers start or stop omitting a field when it has no value.
    AlwaysWrittenChanged,
    /// The value an absent field stands for.
    DefaultChanged,
    TypeChanged,
    BoundNarrowed,
    BoundWidened,
    EnumValueAdded,
    EnumValueRemoved,
    TagValueAdded,
    TagValueRemoved,
    TypeAdded,
    TypeRemoved,
    /// The fields of a struct are declared in another order (the canonical bytes change).
    FieldOrderChanged,
    ProtocolVersionChanged,
    PackageVersionChanged,
    /// A documented `error.type` value (the schema's `x-rrq.error_types`).
    ErrorTypeAdded,
    ErrorTypeRemoved,
}

impl Category {
    /// Every category, in the order the documentation lists them.
    pub const ALL: [Category; 24] = [
        Category::FieldAddedOptional,
        Category::FieldAddedRequired,
        Category::FieldAddedWithDefault,
        Category::FieldRemoved,
        Category::FieldMadeRequired,
        Category::FieldMadeOptional,
        Category::FieldMadeNullable,
        Category::FieldMadeNonNullable,
        Category::AlwaysWrittenChanged,
        Category::DefaultChanged,
        Category::TypeChanged,
        Category::BoundNarrowed,
        Category::BoundWidened,
        Category::EnumValueAdded,
        Category::EnumValueRemoved,
        Category::TagValueAdded,
        Category::TagValueRemoved,
        Category::TypeAdded,
        Category::TypeRemoved,
        Category::FieldOrderChanged,
        Category::ProtocolVersionChanged,
        Category::PackageVersionChanged,
        Category::ErrorTypeAdded,
        Category::ErrorTypeRemoved,
    ];

    /// The name used in `--format json` (snake case).
    pub fn id(self) -> &'static str {
        match self {
            Category::FieldAddedOptional => "field_added_optional",
            Category::FieldAddedRequired => "field_added_required",
            Category::FieldAddedWithDefault => "field_added_with_default",
            Category::FieldRemoved => "field_removed",
            Category::FieldMadeRequired => "field_made_required",
            Category::FieldMadeOptional => "field_made_optional",
            Category::FieldMadeNullable => "field_made_nullable",
            Category::FieldMadeNonNullable => "field_made_non_nullable",
            Category::AlwaysWrittenChanged => "always_written_changed",
            Category::DefaultChanged => "default_changed",
            Category::TypeChanged => "type_changed",
            Category::BoundNarrowed => "bound_narrowed",
            Category::BoundWidened => "bound_widened",
            Category::EnumValueAdded => "enum_value_added",
            Category::EnumValueRemoved => "enum_value_removed",
            Category::TagValueAdded => "tag_value_added",
            Category::TagValueRemoved => "tag_value_removed",
            Category::TypeAdded => "type_added",
            Category::TypeRemoved => "type_removed",
            Category::FieldOrderChanged => "field_order_changed",
            Category::ProtocolVersionChanged => "protocol_version_changed",
            Category::PackageVersionChanged => "package_version_changed",
            Category::ErrorTypeAdded => "error_type_added",
            Category::ErrorTypeRemoved => "error_type_removed",
        }
    }

    /// The name used in the human-readable report.
    pub fn label(self) -> &'static str {
        match self {
            Category::FieldAddedOptional => "field added (optional)",
            Category::FieldAddedRequired => "field added (required)",
            Category::FieldAddedWithDefault => "field added (with default)",
            Category::FieldRemoved => "field removed",
            Category::FieldMadeRequired => "field made required",
            Category::FieldMadeOptional => "field made optional",
            Category::FieldMadeNullable => "field made nullable",
            Category::FieldMadeNonNullable => "field made non-nullable",
            Category::AlwaysWrittenChanged => "always-written changed",
            Category::DefaultChanged => "default changed",
            Category::TypeChanged => "type changed",
            Category::BoundNarrowed => "bound narrowed",
            Category::BoundWidened => "bound widened",
            Category::EnumValueAdded => "enum value added",
            Category::EnumValueRemoved => "enum value removed",
            Category::TagValueAdded => "tag value added",
            Category::TagValueRemoved => "tag value removed",
            Category::TypeAdded => "type added",
            Category::TypeRemoved => "type removed",
            Category::FieldOrderChanged => "field order changed",
            Category::ProtocolVersionChanged => "protocol version changed",
            Category::PackageVersionChanged => "package version changed",
            Category::ErrorTypeAdded => "error type added",
            Category::ErrorTypeRemoved => "error type removed",
        }
    }
}

/// Whether messages still get through in one direction, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Compatible,
    /// Some message the writer may send is rejected or misread by the reader; the reason.
    Breaking(String),
}

impl Verdict {
    pub fn is_breaking(&self) -> bool {
        matches!(self, Verdict::Breaking(_))
    }

    pub fn why(&self) -> Option<&str> {
        match self {
            Verdict::Compatible => None,
            Verdict::Breaking(why) => Some(why),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Verdict::Compatible => map.serialize_entry("verdict", "compatible")?,
            Verdict::Breaking(why) => {
                map.serialize_entry("verdict", "breaking")?;
                map.serialize_entry("why", why)?;
            }
        }
        map.end()
    }
}

/// Which of the two schemas a pointer points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Old,
    New,
}

/// One change between the two schemas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    #[serde(serialize_with = "category_id")]
    pub category: Category,
    /// JSON pointer (RFC 6901) of the changed construct: into the new schema, or into the old
    /// one for what the new schema no longer has (see `schema`).
    pub pointer: String,
    pub schema: Side,
    /// What changed, in words.
    pub detail: String,
    /// The messages (tag values of the root union) in which the change can appear.
    pub affects: Vec<String>,
    /// A message written by the new version, read by the old one.
    pub new_writer_old_reader: Verdict,
    /// A message written by the old version, read by the new one.
    pub old_writer_new_reader: Verdict,
}

fn category_id<S: Serializer>(category: &Category, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(category.id())
}

impl Change {
    pub fn is_breaking(&self) -> bool {
        self.new_writer_old_reader.is_breaking() || self.old_writer_new_reader.is_breaking()
    }
}

/// The versions a schema declares in its `x-rrq` metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    pub package_version: String,
    pub protocol_version: String,
}

/// Everything that changed from one schema to the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub old: Versions,
    pub new: Versions,
    pub changes: Vec<Change>,
    /// The messages of both schemas (root union tag values, the new schema's first) with the
    /// first line of their description.
    pub messages: Vec<(String, String)>,
}

impl Report {
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(Change::is_breaking)
    }

    /// How many changes break (new writer → old reader, old writer → new reader).
    pub fn breaking_counts(&self) -> (usize, usize) {
        let count = |f: fn(&Change) -> &Verdict| self.changes.iter().filter(|c| f(c).is_breaking()).count();
        (count(|c| &c.new_writer_old_reader), count(|c| &c.old_writer_new_reader))
    }

    /// The report as JSON (`--format json`); `old_label`/`new_label` say where each schema came from.
    pub fn to_json(&self, old_label: &str, new_label: &str) -> Value {
        let (new_to_old, old_to_new) = self.breaking_counts();
        let side = |label: &str, v: &Versions| {
            json!({"schema": label, "package_version": v.package_version, "protocol_version": v.protocol_version})
        };
        json!({
            "old": side(old_label, &self.old),
            "new": side(new_label, &self.new),
            "breaking": self.is_breaking(),
            "breaking_new_writer_old_reader": new_to_old,
            "breaking_old_writer_new_reader": old_to_new,
            "messages": self.messages.iter().map(|(m, d)| (m.clone(), Value::from(d.as_str()))).collect::<serde_json::Map<_, _>>(),
            "changes": self.changes,
        })
    }

    /// The report for a person: a line per change (both verdicts, category, pointer, the
    /// messages it affects, what changed), the reason under each breaking verdict, a summary.
    pub fn to_text(&self, old_label: &str, new_label: &str) -> String {
        let mut out = String::new();
        let versions = |v: &Versions| format!("package {}, protocol {}", v.package_version, v.protocol_version);
        let _ = writeln!(out, "old: {old_label} ({})", versions(&self.old));
        let _ = writeln!(out, "new: {new_label} ({})", versions(&self.new));
        if self.changes.is_empty() {
            let _ = writeln!(out, "no changes on the wire (descriptions are not compared)");
            return out;
        }
        let _ = writeln!(out, "\nnew→old = written by the new version, read by the old one; old→new = the reverse.");
        for (message, doc) in &self.messages {
            let _ = writeln!(out, "  {message}: {doc}");
        }
        let _ = writeln!(out, "\nnew→old  old→new   change");
        let mark = |v: &Verdict| if v.is_breaking() { "BREAKING" } else { "ok" };
        for change in &self.changes {
            let side = match change.schema {
                Side::Old => " (old schema)",
                Side::New => "",
            };
            let affects = if change.affects.is_empty() { "no message".to_string() } else { change.affects.join(", ") };
            let _ = writeln!(
                out,
                "{:<8} {:<8}  {}  #{}{side}  [{affects}]  {}",
                mark(&change.new_writer_old_reader),
                mark(&change.old_writer_new_reader),
                change.category.label(),
                change.pointer,
                change.detail
            );
            if let Some(why) = change.new_writer_old_reader.why() {
                let _ = writeln!(out, "{:19}new writer → old reader: {why}", "");
            }
            if let Some(why) = change.old_writer_new_reader.why() {
                let _ = writeln!(out, "{:19}old writer → new reader: {why}", "");
            }
        }
        let (new_to_old, old_to_new) = self.breaking_counts();
        let breaking = self.changes.iter().filter(|c| c.is_breaking()).count();
        let _ = writeln!(
            out,
            "\n{} change{}, {breaking} breaking (new writer → old reader: {new_to_old}, old writer → new reader: {old_to_new})",
            self.changes.len(),
            if self.changes.len() == 1 { "" } else { "s" }
        );
        out
    }
}

/// Compares two schemas (each any schema `ir::lower` accepts).
pub fn diff(old: &Value, new: &Value) -> Result<Report> {
    let old = Version::new(old).context("in the old schema")?;
    let new = Version::new(new).context("in the new schema")?;
    let mut messages: Vec<(String, String)> = new.messages.clone();
    for (message, doc) in &old.messages {
        if !messages.iter().any(|(m, _)| m == message) {
            messages.push((message.clone(), doc.clone()));
        }
    }
    let mut differ = Differ { old, new, changes: Vec::new() };
    differ.meta();
    differ.types();
    let versions = |v: &Version| Versions {
        package_version: v.ir.meta.package_version.clone(),
        protocol_version: v.ir.meta.protocol_version.clone().unwrap_or_default(),
    };
    Ok(Report { old: versions(&differ.old), new: versions(&differ.new), changes: differ.changes, messages })
}

// ---------------------------------------------------------------------------------------------
// The rules

/// Which side writes and which reads, for the wording of reasons.
#[derive(Debug, Clone, Copy)]
struct Dir {
    writer: &'static str,
    reader: &'static str,
}

const NEW_TO_OLD: Dir = Dir { writer: "new", reader: "old" };
const OLD_TO_NEW: Dir = Dir { writer: "old", reader: "new" };

/// The attributes of a field that a change can touch (besides its type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Required,
    Nullable,
    Default,
    AlwaysWritten,
}

/// The rules on a field's presence; each depends on some attributes of the writer's and the
/// reader's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The writer may omit the field and the reader requires it.
    Absence,
    /// The writer may write `null` and the reader rejects it.
    Null,
    /// The writer may omit the field and the reader gives the absence another meaning.
    Meaning,
}

impl Rule {
    fn depends_on(self) -> &'static [Attr] {
        match self {
            Rule::Absence => &[Attr::AlwaysWritten, Attr::Required],
            Rule::Null => &[Attr::Nullable, Attr::AlwaysWritten],
            Rule::Meaning => &[Attr::AlwaysWritten, Attr::Default],
        }
    }
}

#[derive(Debug, Clone)]
struct Failure {
    rule: Rule,
    why: String,
}

/// What an absent field stands for: its default, or no value (`None`).
fn absence_meaning(field: &Field) -> Option<&Value> {
    field.default.as_ref().filter(|v| !v.is_null())
}

fn show_meaning(meaning: Option<&Value>) -> String {
    match meaning {
        None => "no value".to_string(),
        Some(v) => format!("`{v}`"),
    }
}

/// The presence rules for field `name` as the writer's and the reader's schemas describe it
/// (`None`: that side does not have the field).
fn presence_failures(name: &str, writer: Option<&Field>, reader: Option<&Field>, dir: Dir) -> Vec<Failure> {
    let mut out = Vec::new();
    // Readers ignore fields they do not know.
    let Some(r) = reader else { return out };
    let Some(w) = writer else {
        if r.required {
            out.push(Failure {
                rule: Rule::Absence,
                why: format!("{} writers never write `{name}`; {} readers reject an object without it", dir.writer, dir.reader),
            });
        }
        return out;
    };
    let may_omit = !w.always_written;
    if may_omit && r.required {
        out.push(Failure {
            rule: Rule::Absence,
            why: format!(
                "{} writers omit `{name}` when it has no value; {} readers reject an object without it",
                dir.writer, dir.reader
            ),
        });
    }
    if w.nullable && w.always_written && !r.nullable {
        out.push(Failure {
            rule: Rule::Null,
            why: format!("{} writers write `null` for an empty `{name}`; {} readers reject `null`", dir.writer, dir.reader),
        });
    }
    if may_omit && !r.required && absence_meaning(w) != absence_meaning(r) {
        out.push(Failure {
            rule: Rule::Meaning,
            why: format!(
                "{} writers omit `{name}` to mean {}; {} readers read its absence as {}",
                dir.writer,
                show_meaning(absence_meaning(w)),
                dir.reader,
                show_meaning(absence_meaning(r))
            ),
        });
    }
    out
}

/// The verdict from the failures that depend on `attr` (all of them when `None`).
fn verdict(failures: &[Failure], attr: Option<Attr>) -> Verdict {
    let whys: Vec<&str> = failures
        .iter()
        .filter(|f| attr.map_or(true, |a| f.rule.depends_on().contains(&a)))
        .map(|f| f.why.as_str())
        .collect();
    if whys.is_empty() {
        Verdict::Compatible
    } else {
        Verdict::Breaking(whys.join("; "))
    }
}

fn describe_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Integer { min, max } => match (min, max) {
            (None, None) => "integer".into(),
            (Some(a), Some(b)) => format!("integer {a}..={b}"),
            (Some(a), None) => format!("integer ≥ {a}"),
            (None, Some(b)) => format!("integer ≤ {b}"),
        },
        Type::Float => "number".into(),
        Type::Timestamp => "timestamp".into(),
        Type::Any => "any JSON".into(),
        Type::Array { items } => format!("array of {}", describe_type(items)),
        Type::Map { values } => format!("map of {}", describe_type(values)),
        Type::Named { name } => format!("`{name}`"),
    }
}

fn describe_field(field: &Field) -> String {
    let mut parts = vec![describe_type(&field.ty)];
    if field.required {
        parts.push("required".into());
    } else if let Some(default) = absence_meaning(field) {
        parts.push(format!("default `{default}`"));
    } else {
        parts.push("optional".into());
    }
    if field.nullable {
        parts.push("nullable".into());
    }
    parts.push(if field.always_written { "always written".into() } else { "omitted when empty".into() });
    parts.join(", ")
}

fn kind(def: &TypeDef) -> &'static str {
    match def {
        TypeDef::Struct(_) => "struct",
        TypeDef::Enum(_) => "enum",
        TypeDef::Union(_) => "tagged union",
    }
}

fn describe_def(def: &TypeDef) -> String {
    match def {
        TypeDef::Struct(s) => format!("struct `{}` ({} fields)", s.name, s.fields.len()),
        TypeDef::Enum(e) => format!("enum `{}` ({} values)", e.name, e.values.len()),
        TypeDef::Union(u) => format!("tagged union `{}` ({} variants)", u.name, u.variants.len()),
    }
}

/// Checks that every value a writer may write (type `w` of the writer's IR) is accepted by the
/// reader (type `r` of the reader's IR); `None` if so, else the reason.
struct Fit<'a> {
    writer: &'a Ir,
    reader: &'a Ir,
    dir: Dir,
}

impl Fit<'_> {
    fn types(&self, w: &Type, r: &Type) -> Option<String> {
        let Dir { writer, reader } = self.dir;
        let mismatch = || Some(format!("{writer} writers write {}; {reader} readers expect {}", describe_type(w), describe_type(r)));
        match (w, r) {
            (_, Type::Any) => None,
            (Type::Bool, Type::Bool)
            | (Type::String, Type::String)
            | (Type::Float, Type::Float)
            | (Type::Timestamp, Type::Timestamp)
            | (Type::Timestamp, Type::String) => None,
            (Type::Integer { min: wmin, max: wmax }, Type::Integer { min: rmin, max: rmax }) => {
                if below(*wmin, *rmin) {
                    Some(format!("{writer} writers may write integers below {reader} readers' minimum {}", rmin.unwrap_or_default()))
                } else if above(*wmax, *rmax) {
                    Some(format!("{writer} writers may write integers above {reader} readers' maximum {}", rmax.unwrap_or_default()))
                } else {
                    None
                }
            }
            (Type::Integer { min, max }, Type::Float) => {
                let exact = min.is_some_and(|m| m >= -FLOAT_EXACT) && max.is_some_and(|m| m <= FLOAT_EXACT);
                (!exact).then(|| {
                    format!("{writer} writers may write integers beyond ±2^53, which {reader} readers' 64-bit floats do not hold exactly")
                })
            }
            (Type::Array { items: a }, Type::Array { items: b }) => self.types(a, b).map(|why| format!("array items: {why}")),
            (Type::Map { values: a }, Type::Map { values: b }) => self.types(a, b).map(|why| format!("map values: {why}")),
            (Type::Named { name: a }, Type::Named { name: b }) => self.defs(a, b),
            _ => mismatch(),
        }
    }

    /// Whether what writers write as their type `w` is read by readers as their type `r`.
    fn defs(&self, w: &str, r: &str) -> Option<String> {
        let Dir { writer, reader } = self.dir;
        let (Some(wd), Some(rd)) = (self.writer.get(w), self.reader.get(r)) else {
            return Some(format!("unknown type `{w}` or `{r}`"));
        };
        match (wd, rd) {
            (TypeDef::Struct(a), TypeDef::Struct(b)) => {
                let mut whys = Vec::new();
                for name in a.fields.iter().map(|f| &f.name).chain(b.fields.iter().map(|f| &f.name).filter(|n| !a.fields.iter().any(|f| &f.name == *n))) {
                    let wf = a.fields.iter().find(|f| &f.name == name);
                    let rf = b.fields.iter().find(|f| &f.name == name);
                    whys.extend(presence_failures(name, wf, rf, self.dir).into_iter().map(|f| f.why));
                    if let (Some(wf), Some(rf)) = (wf, rf) {
                        whys.extend(self.types(&wf.ty, &rf.ty).map(|why| format!("`{name}`: {why}")));
                    }
                }
                (!whys.is_empty()).then(|| format!("in `{w}`: {}", whys.join("; ")))
            }
            (TypeDef::Enum(a), TypeDef::Enum(b)) => {
                let unknown: Vec<String> =
                    a.values.iter().filter(|v| !b.values.iter().any(|x| x.value == v.value)).map(|v| format!("`{}`", v.value)).collect();
                (!unknown.is_empty())
                    .then(|| format!("{writer} writers may write {} (`{w}`), which {reader} readers do not accept", unknown.join(", ")))
            }
            (TypeDef::Union(a), TypeDef::Union(b)) => {
                if a.tag != b.tag || a.content != b.content {
                    return Some(format!(
                        "{writer} writers tag `{w}` with `{}` and put it in `{}`; {reader} readers expect `{}` and `{}`",
                        a.tag, a.content, b.tag, b.content
                    ));
                }
                let mut whys = Vec::new();
                for variant in &a.variants {
                    match b.variants.iter().find(|v| v.tag_value == variant.tag_value) {
                        None => whys.push(format!(
                            "{writer} writers may send `{}` = `{}`, which {reader} readers do not accept",
                            a.tag, variant.tag_value
                        )),
                        Some(other) => whys.extend(self.defs(&variant.ty, &other.ty)),
                    }
                }
                (!whys.is_empty()).then(|| whys.join("; "))
            }
            _ => Some(format!("{writer} writers write `{w}` as a {}; {reader} readers expect a {}", kind(wd), kind(rd))),
        }
    }
}

/// `a < b` for lower bounds (`None` is unbounded).
fn below(a: Option<i128>, b: Option<i128>) -> bool {
    match (a, b) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a < b,
    }
}

/// `a > b` for upper bounds (`None` is unbounded).
fn above(a: Option<i128>, b: Option<i128>) -> bool {
    match (a, b) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
    }
}

// ---------------------------------------------------------------------------------------------
// Walking the two schemas

use crate::ir::escape_pointer as escape;

/// One schema: its JSON (for pointers), its IR and which messages reach each type.
struct Version<'a> {
    value: &'a Value,
    ir: Ir,
    /// Type name → messages (root tag values) whose content uses it, in message order.
    reach: BTreeMap<String, Vec<String>>,
    /// The root's messages with the first line of their description.
    messages: Vec<(String, String)>,
}

impl<'a> Version<'a> {
    fn new(value: &'a Value) -> Result<Self> {
        let ir = ir::lower(value)?;
        let first_line = |doc: &str| doc.lines().next().unwrap_or("").to_string();
        let starts: Vec<(String, String, String)> = match ir.get(&ir.root) {
            Some(TypeDef::Union(u)) => {
                u.variants.iter().map(|v| (v.tag_value.clone(), v.ty.clone(), first_line(&v.doc))).collect()
            }
            Some(def) => vec![(ir.root.clone(), ir.root.clone(), first_line(doc_of(def)))],
            None => Vec::new(),
        };
        let mut reach: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (message, start, _) in &starts {
            let mut stack = vec![start.clone()];
            while let Some(name) = stack.pop() {
                let seen = reach.entry(name.clone()).or_default();
                if seen.contains(message) {
                    continue;
                }
                seen.push(message.clone());
                if let Some(def) = ir.get(&name) {
                    stack.extend(def.dependencies());
                }
            }
        }
        reach.insert(ir.root.clone(), starts.iter().map(|(m, _, _)| m.clone()).collect());
        let messages = starts.into_iter().map(|(m, _, doc)| (m, doc)).collect();
        Ok(Version { value, ir, reach, messages })
    }

    fn def_pointer(&self, name: &str) -> String {
        if name == self.ir.root {
            String::new()
        } else {
            format!("/$defs/{}", escape(name))
        }
    }

    /// The pointer of a field's type: the field itself, or its non-null `anyOf` alternative.
    fn type_pointer(&self, field_pointer: &str) -> String {
        let alternatives = self.value.pointer(field_pointer).and_then(|s| s.get("anyOf")).and_then(Value::as_array);
        let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
        match alternatives.and_then(|alts| alts.iter().position(|a| !is_null(a))) {
            Some(index) => format!("{field_pointer}/anyOf/{index}"),
            None => field_pointer.to_string(),
        }
    }

    /// The pointer of an enum value or union variant under a type's `oneOf` (or `enum`).
    fn alternative_pointer(&self, def_pointer: &str, matches: impl Fn(&Value) -> bool) -> String {
        let Some(def) = self.value.pointer(def_pointer) else { return def_pointer.to_string() };
        for key in ["oneOf", "enum"] {
            if let Some(index) = def.get(key).and_then(Value::as_array).and_then(|alts| alts.iter().position(&matches)) {
                return format!("{def_pointer}/{key}/{index}");
            }
        }
        def_pointer.to_string()
    }

    fn pointer_exists(&self, pointer: &str) -> bool {
        self.value.pointer(pointer).is_some()
    }
}

fn doc_of(def: &TypeDef) -> &str {
    match def {
        TypeDef::Struct(s) => &s.doc,
        TypeDef::Enum(e) => &e.doc,
        TypeDef::Union(u) => &u.doc,
    }
}

struct Differ<'a> {
    old: Version<'a>,
    new: Version<'a>,
    changes: Vec<Change>,
}

/// Where a change is and what it reaches.
#[derive(Clone)]
struct At {
    pointer: String,
    schema: Side,
    affects: Vec<String>,
}

impl Differ<'_> {
    fn push(&mut self, category: Category, at: &At, detail: String, new_to_old: Verdict, old_to_new: Verdict) {
        let (detail, new_to_old, old_to_new) = if at.affects.is_empty() {
            // No message carries the type: nothing on the wire changes.
            (format!("{detail} (no message uses it)"), Verdict::Compatible, Verdict::Compatible)
        } else {
            (detail, new_to_old, old_to_new)
        };
        self.changes.push(Change {
            category,
            pointer: at.pointer.clone(),
            schema: at.schema,
            detail,
            affects: at.affects.clone(),
            new_writer_old_reader: new_to_old,
            old_writer_new_reader: old_to_new,
        });
    }

    /// The messages that reach type `old` of the old schema or type `new` of the new one.
    fn affects(&self, old: Option<&str>, new: Option<&str>) -> Vec<String> {
        let empty = Vec::new();
        let from_new = new.and_then(|n| self.new.reach.get(n)).unwrap_or(&empty);
        let from_old = old.and_then(|o| self.old.reach.get(o)).unwrap_or(&empty);
        let mut out = Vec::new();
        for (message, _) in self.new.messages.iter().chain(&self.old.messages) {
            if (from_new.contains(message) || from_old.contains(message)) && !out.contains(message) {
                out.push(message.clone());
            }
        }
        out
    }

    fn all_messages(&self) -> Vec<String> {
        self.affects(Some(&self.old.ir.root.clone()), Some(&self.new.ir.root.clone()))
    }

    fn meta(&mut self) {
        let (old, new) = (self.old.ir.meta.clone(), self.new.ir.meta.clone());
        let all = self.all_messages();
        let at = |key: &str, schema: Side| At { pointer: format!("/x-rrq/{key}"), schema, affects: all.clone() };
        if old.protocol_version != new.protocol_version {
            let reject = |dir: Dir, writes: &str, speaks: &str| {
                Verdict::Breaking(format!(
                    "{} readers speak protocol `{speaks}` and reject messages of protocol `{writes}` from {} writers",
                    dir.reader, dir.writer
                ))
            };
            self.push(
                Category::ProtocolVersionChanged,
                &at("protocol_version", Side::New),
                format!("`{}` → `{}`", old.protocol_version.as_deref().unwrap_or(""), new.protocol_version.as_deref().unwrap_or("")),
                reject(NEW_TO_OLD, new.protocol_version.as_deref().unwrap_or(""), old.protocol_version.as_deref().unwrap_or("")),
                reject(OLD_TO_NEW, old.protocol_version.as_deref().unwrap_or(""), new.protocol_version.as_deref().unwrap_or("")),
            );
        }
        if old.package_version != new.package_version {
            self.push(
                Category::PackageVersionChanged,
                &at("package_version", Side::New),
                format!("`{}` → `{}`", old.package_version, new.package_version),
                Verdict::Compatible,
                Verdict::Compatible,
            );
        }
        for (key, what, o, n) in [
            ("max_frame_len", "frames of", old.max_frame_len, new.max_frame_len),
            ("max_nesting_depth", "nesting of", old.max_nesting_depth, new.max_nesting_depth),
        ] {
            if o == n {
                continue;
            }
            let unit = if key == "max_frame_len" { " bytes" } else { " levels" };
            let reject = |dir: Dir, writes: u64, reads: u64| {
                Verdict::Breaking(format!(
                    "{} writers may send {what} up to {writes}{unit}; {} readers reject more than {reads}",
                    dir.writer, dir.reader
                ))
            };
            let (category, new_to_old, old_to_new) = if n > o {
                (Category::BoundWidened, reject(NEW_TO_OLD, n, o), Verdict::Compatible)
            } else {
                (Category::BoundNarrowed, Verdict::Compatible, reject(OLD_TO_NEW, o, n))
            };
            self.push(category, &at(key, Side::New), format!("{key} {o} → {n}"), new_to_old, old_to_new);
        }
        let note = "error types are documented values of a free-form string, so readers accept any";
        for value in &new.error_types {
            if !old.error_types.iter().any(|o| o.value == value.value) {
                let at = at(&format!("error_types/{}", escape(&value.value)), Side::New);
                self.push(Category::ErrorTypeAdded, &at, format!("`{}` ({note})", value.value), Verdict::Compatible, Verdict::Compatible);
            }
        }
        for value in &old.error_types {
            if !new.error_types.iter().any(|n| n.value == value.value) {
                let at = at(&format!("error_types/{}", escape(&value.value)), Side::Old);
                self.push(Category::ErrorTypeRemoved, &at, format!("`{}` ({note})", value.value), Verdict::Compatible, Verdict::Compatible);
            }
        }
    }

    /// The new schema's name for old type `name` (the roots correspond whatever their names).
    fn counterpart(name: &str, from: &Ir, to: &Ir) -> String {
        if name == from.root {
            to.root.clone()
        } else {
            name.to_string()
        }
    }

    fn types(&mut self) {
        // Root first, then the types it uses (the IR lists dependencies first).
        let new_types: Vec<TypeDef> = self.new.ir.types.iter().rev().cloned().collect();
        for new_def in &new_types {
            let old_name = Self::counterpart(new_def.name(), &self.new.ir, &self.old.ir);
            match self.old.ir.get(&old_name).cloned() {
                Some(old_def) => self.def(&old_def, new_def),
                None => {
                    let at = At {
                        pointer: self.new.def_pointer(new_def.name()),
                        schema: Side::New,
                        affects: self.affects(None, Some(new_def.name())),
                    };
                    let detail = format!("{} (its uses are reported where they appear)", describe_def(new_def));
                    self.push(Category::TypeAdded, &at, detail, Verdict::Compatible, Verdict::Compatible);
                }
            }
        }
        let old_types: Vec<TypeDef> = self.old.ir.types.iter().rev().cloned().collect();
        for old_def in &old_types {
            let new_name = Self::counterpart(old_def.name(), &self.old.ir, &self.new.ir);
            if self.new.ir.get(&new_name).is_none() {
                let at = At {
                    pointer: self.old.def_pointer(old_def.name()),
                    schema: Side::Old,
                    affects: self.affects(Some(old_def.name()), None),
                };
                let detail = format!("{} (its uses are reported where they appear)", describe_def(old_def));
                self.push(Category::TypeRemoved, &at, detail, Verdict::Compatible, Verdict::Compatible);
            }
        }
    }

    fn fit<'s>(&'s self, dir: Dir) -> Fit<'s> {
        match dir.writer {
            "new" => Fit { writer: &self.new.ir, reader: &self.old.ir, dir },
            _ => Fit { writer: &self.old.ir, reader: &self.new.ir, dir },
        }
    }

    fn def(&mut self, old: &TypeDef, new: &TypeDef) {
        let affects = self.affects(Some(old.name()), Some(new.name()));
        let (old_pointer, new_pointer) = (self.old.def_pointer(old.name()), self.new.def_pointer(new.name()));
        match (old, new) {
            (TypeDef::Struct(a), TypeDef::Struct(b)) => self.strukt(a, b, &old_pointer, &new_pointer, &affects),
            (TypeDef::Enum(a), TypeDef::Enum(b)) => {
                for value in &b.values {
                    if !a.values.iter().any(|v| v.value == value.value) {
                        let pointer = self.new.alternative_pointer(&new_pointer, |alt| enum_value_is(alt, &value.value));
                        let at = At { pointer, schema: Side::New, affects: affects.clone() };
                        let why = format!("new writers may write `{}`, which old readers do not accept", value.value);
                        let detail = format!("`{}` in `{}`", value.value, b.name);
                        self.push(Category::EnumValueAdded, &at, detail, Verdict::Breaking(why), Verdict::Compatible);
                    }
                }
                for value in &a.values {
                    if !b.values.iter().any(|v| v.value == value.value) {
                        let pointer = self.old.alternative_pointer(&old_pointer, |alt| enum_value_is(alt, &value.value));
                        let at = At { pointer, schema: Side::Old, affects: affects.clone() };
                        let why = format!("old writers may write `{}`, which new readers no longer accept", value.value);
                        let detail = format!("`{}` in `{}`", value.value, a.name);
                        self.push(Category::EnumValueRemoved, &at, detail, Verdict::Compatible, Verdict::Breaking(why));
                    }
                }
            }
            (TypeDef::Union(a), TypeDef::Union(b)) => {
                if a.tag != b.tag || a.content != b.content {
                    let at = At { pointer: new_pointer, schema: Side::New, affects };
                    let detail = format!(
                        "`{}`: tag/content fields `{}`/`{}` → `{}`/`{}`",
                        b.name, a.tag, a.content, b.tag, b.content
                    );
                    let new_to_old = self.fit(NEW_TO_OLD).defs(&b.name, &a.name);
                    let old_to_new = self.fit(OLD_TO_NEW).defs(&a.name, &b.name);
                    self.push(Category::TypeChanged, &at, detail, to_verdict(new_to_old), to_verdict(old_to_new));
                    return;
                }
                let is_root = new.name() == self.new.ir.root;
                let tag_affects = |tag: &str| if is_root { vec![tag.to_string()] } else { affects.clone() };
                let tag_is = |tag: &str, alt: &Value| {
                    alt.pointer(&format!("/properties/{}/const", escape(&a.tag))).and_then(Value::as_str) == Some(tag)
                };
                for variant in &b.variants {
                    match a.variants.iter().find(|v| v.tag_value == variant.tag_value) {
                        None => {
                            let pointer = self.new.alternative_pointer(&new_pointer, |alt| tag_is(&variant.tag_value, alt));
                            let at = At { pointer, schema: Side::New, affects: tag_affects(&variant.tag_value) };
                            let why = format!(
                                "new writers may send `{}` = `{}`, which old readers do not accept",
                                b.tag, variant.tag_value
                            );
                            let detail = format!("`{}` = `{}` carrying `{}`", b.tag, variant.tag_value, variant.ty);
                            self.push(Category::TagValueAdded, &at, detail, Verdict::Breaking(why), Verdict::Compatible);
                        }
                        Some(old_variant) if old_variant.ty != variant.ty => {
                            let pointer = self.new.alternative_pointer(&new_pointer, |alt| tag_is(&variant.tag_value, alt));
                            let pointer = format!("{pointer}/properties/{}", escape(&b.content));
                            let at = At { pointer, schema: Side::New, affects: tag_affects(&variant.tag_value) };
                            let detail = format!("`{}` of `{}`: `{}` → `{}`", b.content, variant.tag_value, old_variant.ty, variant.ty);
                            let new_to_old = self.fit(NEW_TO_OLD).defs(&variant.ty, &old_variant.ty);
                            let old_to_new = self.fit(OLD_TO_NEW).defs(&old_variant.ty, &variant.ty);
                            self.push(Category::TypeChanged, &at, detail, to_verdict(new_to_old), to_verdict(old_to_new));
                        }
                        Some(_) => {}
                    }
                }
                for variant in &a.variants {
                    if !b.variants.iter().any(|v| v.tag_value == variant.tag_value) {
                        let pointer = self.old.alternative_pointer(&old_pointer, |alt| tag_is(&variant.tag_value, alt));
                        let at = At { pointer, schema: Side::Old, affects: tag_affects(&variant.tag_value) };
                        let why = format!(
                            "old writers may send `{}` = `{}`, which new readers no longer accept",
                            a.tag, variant.tag_value
                        );
                        let detail = format!("`{}` = `{}` carrying `{}`", a.tag, variant.tag_value, variant.ty);
                        self.push(Category::TagValueRemoved, &at, detail, Verdict::Compatible, Verdict::Breaking(why));
                    }
                }
            }
            _ => {
                let at = At { pointer: new_pointer, schema: Side::New, affects };
                let detail = format!("`{}`: {} → {}", new.name(), kind(old), kind(new));
                let new_to_old = self.fit(NEW_TO_OLD).defs(new.name(), old.name());
                let old_to_new = self.fit(OLD_TO_NEW).defs(old.name(), new.name());
                self.push(Category::TypeChanged, &at, detail, to_verdict(new_to_old), to_verdict(old_to_new));
            }
        }
    }

    fn strukt(&mut self, a: &ir::Struct, b: &ir::Struct, old_pointer: &str, new_pointer: &str, affects: &[String]) {
        let field_at = |pointer: &str, name: &str| format!("{pointer}/properties/{}", escape(name));
        for field in &b.fields {
            let at_new = At { pointer: field_at(new_pointer, &field.name), schema: Side::New, affects: affects.to_vec() };
            match a.fields.iter().find(|f| f.name == field.name) {
                Some(old_field) => {
                    let at_old = At { pointer: field_at(old_pointer, &field.name), schema: Side::Old, affects: affects.to_vec() };
                    self.field(&b.name, old_field, field, &at_old, &at_new);
                }
                None => {
                    let category = if field.required {
                        Category::FieldAddedRequired
                    } else if absence_meaning(field).is_some() {
                        Category::FieldAddedWithDefault
                    } else {
                        Category::FieldAddedOptional
                    };
                    let new_to_old = verdict(&presence_failures(&field.name, Some(field), None, NEW_TO_OLD), None);
                    let old_to_new = verdict(&presence_failures(&field.name, None, Some(field), OLD_TO_NEW), None);
                    let detail = format!("`{}.{}`: {}", b.name, field.name, describe_field(field));
                    self.push(category, &at_new, detail, new_to_old, old_to_new);
                }
            }
        }
        for field in &a.fields {
            if !b.fields.iter().any(|f| f.name == field.name) {
                let at = At { pointer: field_at(old_pointer, &field.name), schema: Side::Old, affects: affects.to_vec() };
                let new_to_old = verdict(&presence_failures(&field.name, None, Some(field), NEW_TO_OLD), None);
                let old_to_new = verdict(&presence_failures(&field.name, Some(field), None, OLD_TO_NEW), None);
                let detail = format!("`{}.{}`: was {}", a.name, field.name, describe_field(field));
                self.push(Category::FieldRemoved, &at, detail, new_to_old, old_to_new);
            }
        }
        let common = |s: &ir::Struct, other: &ir::Struct| -> Vec<String> {
            s.fields.iter().filter(|f| other.fields.iter().any(|o| o.name == f.name)).map(|f| f.name.clone()).collect()
        };
        let (old_order, new_order) = (common(a, b), common(b, a));
        if old_order != new_order {
            let at = At { pointer: format!("{new_pointer}/properties"), schema: Side::New, affects: affects.to_vec() };
            let detail = format!(
                "`{}`: {} → {} (readers do not depend on the order; canonical bytes and golden frames change)",
                b.name,
                old_order.join(", "),
                new_order.join(", ")
            );
            self.push(Category::FieldOrderChanged, &at, detail, Verdict::Compatible, Verdict::Compatible);
        }
    }

    fn field(&mut self, owner: &str, old: &Field, new: &Field, at_old: &At, at_new: &At) {
        let name = new.name.as_str();
        let full = format!("{owner}.{name}");
        let new_to_old = presence_failures(name, Some(new), Some(old), NEW_TO_OLD);
        let old_to_new = presence_failures(name, Some(old), Some(new), OLD_TO_NEW);
        let verdicts = |attr: Attr| (verdict(&new_to_old, Some(attr)), verdict(&old_to_new, Some(attr)));
        if old.required != new.required {
            let (category, detail) = if new.required {
                (Category::FieldMadeRequired, format!("`{full}` is now required"))
            } else {
                let meaning = show_meaning(absence_meaning(new));
                (Category::FieldMadeOptional, format!("`{full}` is no longer required (absent means {meaning})"))
            };
            let (n, o) = verdicts(Attr::Required);
            self.push(category, at_new, detail, n, o);
        }
        if old.nullable != new.nullable {
            let (category, detail) = if new.nullable {
                (Category::FieldMadeNullable, format!("`{full}` now accepts `null` (no value)"))
            } else {
                (Category::FieldMadeNonNullable, format!("`{full}` no longer accepts `null`"))
            };
            let (n, o) = verdicts(Attr::Nullable);
            self.push(category, at_new, detail, n, o);
        }
        // A required field has no default: there the change is reported as made required/optional.
        if absence_meaning(old) != absence_meaning(new) && !old.required && !new.required {
            let detail = format!(
                "an absent `{full}` meant {}, now {}",
                show_meaning(absence_meaning(old)),
                show_meaning(absence_meaning(new))
            );
            let (n, o) = verdicts(Attr::Default);
            self.push(Category::DefaultChanged, at_new, detail, n, o);
        }
        if old.always_written != new.always_written {
            let detail = if new.always_written {
                format!("writers now always write `{full}`{}", if new.nullable { " (`null` when empty)" } else { "" })
            } else {
                format!("writers now omit `{full}` when it has no value")
            };
            let (n, o) = verdicts(Attr::AlwaysWritten);
            self.push(Category::AlwaysWrittenChanged, at_new, detail, n, o);
        }
        let old_type = At { pointer: self.old.type_pointer(&at_old.pointer), ..at_old.clone() };
        let new_type = At { pointer: self.new.type_pointer(&at_new.pointer), ..at_new.clone() };
        self.ty(&old.ty, &new.ty, &old_type, &new_type, &format!("`{full}`"));
    }

    /// Compares the types of the same position (a field, an array's items, a map's values).
    fn ty(&mut self, old: &Type, new: &Type, at_old: &At, at_new: &At, what: &str) {
        if old == new {
            return;
        }
        let inner = |at: &At, key: &str| At { pointer: format!("{}/{key}", at.pointer), ..at.clone() };
        match (old, new) {
            (Type::Array { items: a }, Type::Array { items: b }) => {
                self.ty(a, b, &inner(at_old, "items"), &inner(at_new, "items"), &format!("items of {what}"))
            }
            (Type::Map { values: a }, Type::Map { values: b }) => self.ty(
                a,
                b,
                &inner(at_old, "additionalProperties"),
                &inner(at_new, "additionalProperties"),
                &format!("values of {what}"),
            ),
            (Type::Integer { min: omin, max: omax }, Type::Integer { min: nmin, max: nmax }) => {
                self.bound("minimum", *omin, *nmin, below(*nmin, *omin), at_old, at_new, what);
                self.bound("maximum", *omax, *nmax, above(*nmax, *omax), at_old, at_new, what);
            }
            _ => {
                let new_to_old = self.fit(NEW_TO_OLD).types(new, old);
                let old_to_new = self.fit(OLD_TO_NEW).types(old, new);
                let shape = match (new_to_old.is_some(), old_to_new.is_some()) {
                    (true, false) => " (widened: new readers accept every old value)",
                    (false, true) => " (narrowed: old readers accept every new value)",
                    _ => "",
                };
                let detail = format!("{what}: {} → {}{shape}", describe_type(old), describe_type(new));
                self.push(Category::TypeChanged, at_new, detail, to_verdict(new_to_old), to_verdict(old_to_new));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bound(&mut self, key: &str, old: Option<i128>, new: Option<i128>, widened: bool, at_old: &At, at_new: &At, what: &str) {
        if old == new {
            return;
        }
        let new_pointer = format!("{}/{key}", at_new.pointer);
        let at = if self.new.pointer_exists(&new_pointer) {
            At { pointer: new_pointer, ..at_new.clone() }
        } else {
            At { pointer: format!("{}/{key}", at_old.pointer), ..at_old.clone() }
        };
        let show = |b: Option<i128>| b.map_or("none".to_string(), |b| b.to_string());
        let detail = format!("{what}: {key} {} → {}", show(old), show(new));
        let side = if key == "minimum" { "below" } else { "above" };
        let reject = |dir: Dir, limit: Option<i128>| {
            Verdict::Breaking(format!(
                "{} writers may write {what} {side} {}, which {} readers reject",
                dir.writer,
                show(limit),
                dir.reader
            ))
        };
        if widened {
            self.push(Category::BoundWidened, &at, detail, reject(NEW_TO_OLD, old), Verdict::Compatible);
        } else {
            self.push(Category::BoundNarrowed, &at, detail, Verdict::Compatible, reject(OLD_TO_NEW, new));
        }
    }
}

fn enum_value_is(alternative: &Value, value: &str) -> bool {
    alternative.as_str() == Some(value) || alternative.get("const").and_then(Value::as_str) == Some(value)
}

fn to_verdict(why: Option<String>) -> Verdict {
    why.map_or(Verdict::Compatible, Verdict::Breaking)
}
