//! Compatibility between two versions of the protocol schema: `rrq-codegen diff`.
//!
//! Both schemas are lowered to the IR ([`crate::ir::lower`]), so the comparison sees exactly
//! what the generators see (required, nullable, default, always-written, types, bounds, enum
//! values, union tags) and works for any schema the generator supports, with or without the
//! `x-rrq` metadata (versions and frame limits are compared where both schemas declare them,
//! read from the schemas themselves).
//!
//! Every message is written by one side and read by the other, and in a rolling upgrade either
//! side can be the newer one, so each change gets two verdicts:
//! - **new writer → old reader**: a message written by the new version, read by the old one;
//! - **old writer → new reader**: a message written by the old version, read by the new one.
//!
//! The verdicts come from rules, grouped in two rule sets (like `buf breaking`'s categories):
//!
//! **wire** — will the reader decode what the writer sends, to the value the writer meant:
//! - a writer may omit a field iff it is not always-written; a reader rejects an absent field
//!   iff it is required;
//! - a writer may write `null` iff the field is nullable and always-written (otherwise it omits
//!   an empty field); a reader rejects `null` iff the field is not nullable;
//! - a reader fills an absent field with its default (or "no value"); when a writer may omit a
//!   field, the reader must give its absence the meaning the writer gave it;
//! - readers ignore fields they do not know;
//! - every value a writer may write must be in the set of values the reader accepts (types,
//!   integer bounds, enum values, union tags, frame limits);
//! - peers reject a protocol version they do not speak.
//!
//! **strict** (the default; the release check) — the wire rules, and:
//! - *data loss*: readers match fields by name and ignore the ones they do not know, so a field
//!   the writer sends with data and the reader no longer has (removed, or renamed) is silently
//!   dropped; and a field the reader has in place of ones the writer still writes is read as
//!   its default;
//! - *rename*: a removed and an added field of compatible types in one struct are reported
//!   together as a suspected rename;
//! - *narrowing*: new readers must accept every message old readers accepted, not only the
//!   ones the reference writers write.
//!
//! A change is breaking in a direction when one of the rules of the chosen set fails there
//! because of it. A change in a type that no message uses is compatible both ways.
//! `docs/COMPATIBILITY.md` explains the rules with examples.

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
    /// A removed and an added field of compatible types in the same struct (strict rules only).
    SuspectedRename,
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
    pub const ALL: [Category; 25] = [
        Category::FieldAddedOptional,
        Category::FieldAddedRequired,
        Category::FieldAddedWithDefault,
        Category::FieldRemoved,
        Category::SuspectedRename,
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
            Category::SuspectedRename => "suspected_rename",
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
            Category::SuspectedRename => "suspected rename",
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

/// A rule set (`--rules`): which rules can make a change breaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rules {
    /// Will the other side decode the message, to the value the writer meant.
    Wire,
    /// The wire rules, and no data loss, no suspected rename, no narrowing: the release check.
    #[default]
    Strict,
}

impl Rules {
    pub const ALL: [Rules; 2] = [Rules::Wire, Rules::Strict];

    /// The name used by `--rules` and in `--format json`.
    pub fn id(self) -> &'static str {
        match self {
            Rules::Wire => "wire",
            Rules::Strict => "strict",
        }
    }

    /// Whether a rule belongs to this set (strict contains wire).
    pub fn admits(self, rule: Rule) -> bool {
        self == Rules::Strict || rule.set() == Rules::Wire
    }

    fn describe(self) -> &'static str {
        match self {
            Rules::Wire => "will the other side decode it: absence, null, meaning of absence, values, frame limits, protocol version",
            Rules::Strict => "the wire rules, and no data loss, no suspected rename, no narrowing",
        }
    }
}

/// One rule of the comparison. Each breaking verdict names the rules that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// wire: the writer may omit the field and the reader requires it.
    Absence,
    /// wire: the writer may write `null` and the reader rejects it.
    Null,
    /// wire: the writer may omit the field and the reader gives the absence another meaning.
    Meaning,
    /// wire: the writer may write a value the reader does not accept (type, bound, enum value,
    /// union tag, shape of a named type).
    Values,
    /// wire: the writer may send a frame longer or deeper than the reader accepts.
    Frames,
    /// wire: the peers speak different protocol versions.
    ProtocolVersion,
    /// strict: data the writer sends is ignored by the reader (a field it does not have), or
    /// read as a default because the writer sends it in fields the reader does not have.
    DataLoss,
    /// strict: a removed and an added field of compatible types in one struct.
    Rename,
    /// strict: new readers reject a message old readers accepted, although the reference
    /// writers never write it.
    Narrowing,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::Absence,
        Rule::Null,
        Rule::Meaning,
        Rule::Values,
        Rule::Frames,
        Rule::ProtocolVersion,
        Rule::DataLoss,
        Rule::Rename,
        Rule::Narrowing,
    ];

    /// The name used in `--format json`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Absence => "absence",
            Rule::Null => "null",
            Rule::Meaning => "meaning",
            Rule::Values => "values",
            Rule::Frames => "frames",
            Rule::ProtocolVersion => "protocol_version",
            Rule::DataLoss => "data_loss",
            Rule::Rename => "rename",
            Rule::Narrowing => "narrowing",
        }
    }

    /// The name used in the human-readable report.
    pub fn label(self) -> &'static str {
        match self {
            Rule::Absence => "absence",
            Rule::Null => "null",
            Rule::Meaning => "meaning of absence",
            Rule::Values => "values",
            Rule::Frames => "frame limits",
            Rule::ProtocolVersion => "protocol version",
            Rule::DataLoss => "data loss",
            Rule::Rename => "suspected rename",
            Rule::Narrowing => "narrowing",
        }
    }

    /// The smallest rule set the rule belongs to.
    pub fn set(self) -> Rules {
        match self {
            Rule::DataLoss | Rule::Rename | Rule::Narrowing => Rules::Strict,
            _ => Rules::Wire,
        }
    }

    /// The attributes of a field the presence rules depend on (a change of one of them is
    /// blamed for the rule's failure).
    fn depends_on(self) -> &'static [Attr] {
        match self {
            Rule::Absence => &[Attr::AlwaysWritten, Attr::Required],
            Rule::Null => &[Attr::Nullable, Attr::AlwaysWritten],
            Rule::Meaning => &[Attr::AlwaysWritten, Attr::Default],
            _ => &[],
        }
    }
}

/// A failed rule and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub why: String,
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("rule", self.rule.id())?;
        map.serialize_entry("why", &self.why)?;
        map.end()
    }
}

fn finding(rule: Rule, why: impl Into<String>) -> Finding {
    Finding { rule, why: why.into() }
}

/// The same findings, each reason prefixed (the place inside a type they come from).
fn prefixed(findings: Vec<Finding>, prefix: &str) -> Vec<Finding> {
    findings.into_iter().map(|f| Finding { rule: f.rule, why: format!("{prefix}{}", f.why) }).collect()
}

/// Whether messages still get through in one direction, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Compatible,
    /// Some message the writer may send is rejected, misread or stripped of data by the
    /// reader: the rules that failed and why (never empty).
    Breaking(Vec<Finding>),
}

impl Verdict {
    fn of(findings: Vec<Finding>) -> Verdict {
        if findings.is_empty() {
            Verdict::Compatible
        } else {
            Verdict::Breaking(findings)
        }
    }

    pub fn is_breaking(&self) -> bool {
        matches!(self, Verdict::Breaking(_))
    }

    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Compatible => &[],
            Verdict::Breaking(findings) => findings,
        }
    }

    /// The reasons, joined by "; ".
    pub fn why(&self) -> Option<String> {
        match self {
            Verdict::Compatible => None,
            Verdict::Breaking(findings) => Some(findings.iter().map(|f| f.why.as_str()).collect::<Vec<_>>().join("; ")),
        }
    }

    /// The rules that failed, each once, in the order of the findings.
    pub fn rules(&self) -> Vec<Rule> {
        let mut out = Vec::new();
        for f in self.findings() {
            if !out.contains(&f.rule) {
                out.push(f.rule);
            }
        }
        out
    }

    /// Whether `rule` failed.
    pub fn fired(&self, rule: Rule) -> bool {
        self.findings().iter().any(|f| f.rule == rule)
    }

    /// Breaking by a rule of `rules`.
    fn breaks_under(&self, rules: Rules) -> bool {
        self.findings().iter().any(|f| rules.admits(f.rule))
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Verdict::Compatible => map.serialize_entry("verdict", "compatible")?,
            Verdict::Breaking(findings) => {
                map.serialize_entry("verdict", "breaking")?;
                map.serialize_entry("why", &self.why())?;
                map.serialize_entry("rules", &self.rules().iter().map(|r| r.id()).collect::<Vec<_>>())?;
                map.serialize_entry("findings", findings)?;
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

/// A second construct a change is about: the removed field of a suspected rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub schema: Side,
    pub pointer: String,
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
    /// The other construct of the change, if any (a suspected rename: the removed field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Related>,
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

    /// Whether `rule` failed in either direction.
    pub fn fired(&self, rule: Rule) -> bool {
        self.new_writer_old_reader.fired(rule) || self.old_writer_new_reader.fired(rule)
    }
}

/// The versions a schema declares in its `x-rrq` metadata (`None`: not declared).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versions {
    pub package_version: Option<String>,
    pub protocol_version: Option<String>,
}

/// Everything that changed from one schema to the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The rule set the verdicts apply.
    pub rules: Rules,
    pub old: Versions,
    pub new: Versions,
    pub changes: Vec<Change>,
    /// The messages of both schemas (root union tag values, the new schema's first) with the
    /// first line of their description.
    pub messages: Vec<(String, String)>,
    /// What could not be compared (metadata only one schema declares).
    pub notes: Vec<String>,
}

impl Report {
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(Change::is_breaking)
    }

    /// Breaking under the (smaller) rule set `rules`: for a strict report, whether the wire
    /// rules alone break.
    pub fn is_breaking_under(&self, rules: Rules) -> bool {
        self.changes
            .iter()
            .any(|c| c.new_writer_old_reader.breaks_under(rules) || c.old_writer_new_reader.breaks_under(rules))
    }

    /// How many changes break (new writer → old reader, old writer → new reader).
    pub fn breaking_counts(&self) -> (usize, usize) {
        count_breaking(self.changes.iter())
    }

    /// The old and the new `protocol_version`, when both schemas declare one and they differ.
    pub fn protocol_version_change(&self) -> Option<(&str, &str)> {
        match (&self.old.protocol_version, &self.new.protocol_version) {
            (Some(o), Some(n)) if o != n => Some((o, n)),
            _ => None,
        }
    }

    /// The changes other than the protocol version itself: what changed under it.
    fn field_level(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.category != Category::ProtocolVersionChanged)
    }

    /// The report as JSON (`--format json`); `old_label`/`new_label` say where each schema came from.
    pub fn to_json(&self, old_label: &str, new_label: &str) -> Value {
        let (new_to_old, old_to_new) = self.breaking_counts();
        let side = |label: &str, v: &Versions| {
            json!({"schema": label, "package_version": v.package_version, "protocol_version": v.protocol_version})
        };
        json!({
            "rules": self.rules.id(),
            "old": side(old_label, &self.old),
            "new": side(new_label, &self.new),
            "breaking": self.is_breaking(),
            "breaking_new_writer_old_reader": new_to_old,
            "breaking_old_writer_new_reader": old_to_new,
            "protocol_version_changed": self.protocol_version_change().is_some(),
            "notes": self.notes,
            "messages": self.messages.iter().map(|(m, d)| (m.clone(), Value::from(d.as_str()))).collect::<serde_json::Map<_, _>>(),
            "changes": self.changes,
        })
    }

    /// The report for a person: a line per change (both verdicts, category, pointer, the
    /// messages it affects, what changed), the failed rules under each breaking verdict, a
    /// summary.
    pub fn to_text(&self, old_label: &str, new_label: &str) -> String {
        let mut out = String::new();
        let versions = |v: &Versions| match (&v.package_version, &v.protocol_version) {
            (None, None) => "no x-rrq metadata".to_string(),
            (p, v) => format!("package {}, protocol {}", p.as_deref().unwrap_or("none"), v.as_deref().unwrap_or("none")),
        };
        let _ = writeln!(out, "old: {old_label} ({})", versions(&self.old));
        let _ = writeln!(out, "new: {new_label} ({})", versions(&self.new));
        let _ = writeln!(out, "rules: {} ({})", self.rules.id(), self.rules.describe());
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if self.changes.is_empty() {
            let _ = writeln!(out, "no changes on the wire (descriptions are not compared)");
            return out;
        }
        if let Some((old, new)) = self.protocol_version_change() {
            let _ = writeln!(
                out,
                "\nprotocol version `{old}` → `{new}`: breaking by definition (a peer rejects messages of a protocol it does \
                 not speak). Every change under it is still listed and judged on its own, as if both sides spoke one \
                 protocol: the list a release note is written from."
            );
        }
        let _ = writeln!(out, "\nnew→old = written by the new version, read by the old one; old→new = the reverse.");
        for (message, doc) in &self.messages {
            let _ = writeln!(out, "  {message}: {doc}");
        }
        let _ = writeln!(out, "\nnew→old  old→new   change");
        let mark = |v: &Verdict| if v.is_breaking() { "BREAKING" } else { "ok" };
        let in_old = |side: Side| match side {
            Side::Old => " (old schema)",
            Side::New => "",
        };
        for change in &self.changes {
            let affects = if change.affects.is_empty() { "no message".to_string() } else { change.affects.join(", ") };
            let related = match &change.related {
                Some(r) => format!("  ← #{}{}", r.pointer, in_old(r.schema)),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<8} {:<8}  {}  #{}{}{related}  [{affects}]  {}",
                mark(&change.new_writer_old_reader),
                mark(&change.old_writer_new_reader),
                change.category.label(),
                change.pointer,
                in_old(change.schema),
                change.detail
            );
            for (direction, verdict) in [
                ("new writer → old reader", &change.new_writer_old_reader),
                ("old writer → new reader", &change.old_writer_new_reader),
            ] {
                for f in verdict.findings() {
                    let _ = writeln!(out, "{:19}{direction}: {} [{}]", "", f.why, f.rule.label());
                }
            }
        }
        let counted: Vec<&Change> = match self.protocol_version_change() {
            Some(_) => self.field_level().collect(),
            None => self.changes.iter().collect(),
        };
        let (new_to_old, old_to_new) = count_breaking(counted.iter().copied());
        let breaking = counted.iter().filter(|c| c.is_breaking()).count();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let counts = format!("(new writer → old reader: {new_to_old}, old writer → new reader: {old_to_new})");
        match self.protocol_version_change() {
            Some((old, new)) => {
                let _ = writeln!(out, "\nbreaking by definition: protocol version `{old}` → `{new}`");
                let _ = writeln!(
                    out,
                    "under it: {} change{}, {breaking} breaking on {} own {counts}",
                    counted.len(),
                    plural(counted.len()),
                    if breaking == 1 { "its" } else { "their" }
                );
            }
            None => {
                let _ = writeln!(out, "\n{} change{}, {breaking} breaking {counts}", counted.len(), plural(counted.len()));
            }
        }
        if self.rules == Rules::Strict {
            let with = |rule: Rule| counted.iter().filter(|c| c.fired(rule)).count();
            let parts: Vec<String> = [Rule::DataLoss, Rule::Rename, Rule::Narrowing]
                .into_iter()
                .filter(|r| with(*r) > 0)
                .map(|r| format!("{} in {} change{}", r.label(), with(r), plural(with(r))))
                .collect();
            if !parts.is_empty() {
                let wire = if self.is_breaking_under(Rules::Wire) { "" } else { "; the wire rules alone find nothing breaking" };
                let _ = writeln!(out, "strict rules: {}{wire}", parts.join(", "));
            }
        }
        out
    }
}

fn count_breaking<'a>(changes: impl Iterator<Item = &'a Change> + Clone) -> (usize, usize) {
    let count = |f: fn(&Change) -> &Verdict| changes.clone().filter(|c| f(c).is_breaking()).count();
    (count(|c| &c.new_writer_old_reader), count(|c| &c.old_writer_new_reader))
}

/// Compares two schemas (each any schema `ir::lower` accepts) under a rule set.
pub fn diff(old: &Value, new: &Value, rules: Rules) -> Result<Report> {
    let old = Version::new(old).context("in the old schema")?;
    let new = Version::new(new).context("in the new schema")?;
    let mut messages: Vec<(String, String)> = new.messages.clone();
    for (message, doc) in &old.messages {
        if !messages.iter().any(|(m, _)| m == message) {
            messages.push((message.clone(), doc.clone()));
        }
    }
    let mut differ = Differ { old, new, rules, changes: Vec::new(), notes: Vec::new() };
    differ.meta();
    differ.types();
    let versions = |v: &Version| Versions {
        package_version: v.meta.package_version.clone(),
        protocol_version: v.meta.protocol_version.clone(),
    };
    Ok(Report {
        rules,
        old: versions(&differ.old),
        new: versions(&differ.new),
        changes: differ.changes,
        messages,
        notes: differ.notes,
    })
}

// ---------------------------------------------------------------------------------------------
// The rules

/// Which side writes and which reads, for the wording of reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The wire rules on the presence of field `name`, as the writer's and the reader's schemas
/// describe it (`None`: that side does not have the field).
fn presence_failures(name: &str, writer: Option<&Field>, reader: Option<&Field>, dir: Dir) -> Vec<Finding> {
    let mut out = Vec::new();
    // Readers ignore fields they do not know.
    let Some(r) = reader else { return out };
    let Some(w) = writer else {
        if r.required {
            out.push(finding(
                Rule::Absence,
                format!("{} writers never write `{name}`; {} readers reject an object without it", dir.writer, dir.reader),
            ));
        }
        return out;
    };
    let may_omit = !w.always_written;
    if may_omit && r.required {
        out.push(finding(
            Rule::Absence,
            format!("{} writers omit `{name}` when it has no value; {} readers reject an object without it", dir.writer, dir.reader),
        ));
    }
    if w.nullable && w.always_written && !r.nullable {
        out.push(finding(
            Rule::Null,
            format!("{} writers write `null` for an empty `{name}`; {} readers reject `null`", dir.writer, dir.reader),
        ));
    }
    if may_omit && !r.required && absence_meaning(w) != absence_meaning(r) {
        out.push(finding(
            Rule::Meaning,
            format!(
                "{} writers omit `{name}` to mean {}; {} readers read its absence as {}",
                dir.writer,
                show_meaning(absence_meaning(w)),
                dir.reader,
                show_meaning(absence_meaning(r))
            ),
        ));
    }
    out
}

/// The strict rule "narrowing" for a field both versions have (old writer → new reader only):
/// new readers must accept whatever old readers accepted, also what the reference writers never
/// write (a hand-written peer, an older encoder). `wire` are the wire findings already made for
/// the field in that direction: a narrowing they report is not reported twice.
fn narrowing(name: &str, old: &Field, new: &Field, dir: Dir, wire: &[Finding]) -> Vec<Finding> {
    let mut out = Vec::new();
    if dir != OLD_TO_NEW {
        return out;
    }
    if new.required && !old.required && !wire.iter().any(|f| f.rule == Rule::Absence) {
        out.push(finding(
            Rule::Narrowing,
            format!(
                "new readers reject an object without `{name}`, which old readers accepted (as {}); the old reference \
                 writers always write it, other writers may not",
                show_meaning(absence_meaning(old))
            ),
        ));
    }
    if old.nullable && !new.nullable && !wire.iter().any(|f| f.rule == Rule::Null) {
        out.push(finding(
            Rule::Narrowing,
            format!(
                "new readers reject `null` for `{name}`, which old readers accepted (as no value); the old reference \
                 writers omit it rather than write `null`, other writers may not"
            ),
        ));
    }
    out
}

/// The findings that depend on `attr` (all of them when `None`).
fn blamed(findings: &[Finding], attr: Option<Attr>) -> Vec<Finding> {
    findings.iter().filter(|f| attr.map_or(true, |a| f.rule.depends_on().contains(&a))).cloned().collect()
}

/// Only the findings of the wire rules.
fn wire_only(findings: &[Finding]) -> Vec<Finding> {
    findings.iter().filter(|f| f.rule.set() == Rules::Wire).cloned().collect()
}

/// Whether some value of `ty` exists (in `ir`): an enum without values has none.
fn inhabited(ir: &Ir, ty: &Type) -> bool {
    match ty {
        Type::Named { name } => match ir.get(name) {
            Some(TypeDef::Enum(e)) => !e.values.is_empty(),
            Some(TypeDef::Union(u)) => u.variants.iter().any(|v| inhabited(ir, &Type::Named { name: v.ty.clone() })),
            Some(TypeDef::Struct(s)) => s.fields.iter().filter(|f| f.required).all(|f| inhabited(ir, &f.ty)),
            None => true,
        },
        _ => true,
    }
}

/// Whether a field of type `ty` can carry data: some value of it is not empty (not `[]`, `{}`,
/// absent or `null`). Only a type whose every value is empty (an array or map of a type without
/// values, an enum without values) cannot; the IR types are acyclic, so this terminates.
fn carries_data(ir: &Ir, ty: &Type) -> bool {
    match ty {
        Type::Array { items: inner } | Type::Map { values: inner } => inhabited(ir, inner),
        Type::Named { name } => match ir.get(name) {
            Some(TypeDef::Struct(s)) => inhabited(ir, ty) && s.fields.iter().any(|f| carries_data(ir, &f.ty)),
            Some(_) => inhabited(ir, ty),
            None => true,
        },
        _ => true,
    }
}

fn names(fields: &[&Field]) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
    match names.len() {
        0 | 1 => names.concat(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// "`a` as `[]` and `b` as no value": what a reader reads for fields it finds absent.
fn read_as(fields: &[&Field]) -> String {
    let parts: Vec<String> = fields.iter().map(|f| format!("`{}` as {}", f.name, show_meaning(absence_meaning(f)))).collect();
    match parts.len() {
        0 | 1 => parts.concat(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
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
/// reader (type `r` of the reader's IR) with nothing lost; the findings (empty if so).
struct Fit<'a> {
    writer: &'a Ir,
    reader: &'a Ir,
    dir: Dir,
}

impl Fit<'_> {
    fn types(&self, w: &Type, r: &Type) -> Vec<Finding> {
        let Dir { writer, reader } = self.dir;
        let values = |why: String| vec![finding(Rule::Values, why)];
        match (w, r) {
            (_, Type::Any) => Vec::new(),
            (Type::Bool, Type::Bool)
            | (Type::String, Type::String)
            | (Type::Float, Type::Float)
            | (Type::Timestamp, Type::Timestamp)
            | (Type::Timestamp, Type::String) => Vec::new(),
            (Type::Integer { min: wmin, max: wmax }, Type::Integer { min: rmin, max: rmax }) => {
                if below(*wmin, *rmin) {
                    values(format!("{writer} writers may write integers below {reader} readers' minimum {}", rmin.unwrap_or_default()))
                } else if above(*wmax, *rmax) {
                    values(format!("{writer} writers may write integers above {reader} readers' maximum {}", rmax.unwrap_or_default()))
                } else {
                    Vec::new()
                }
            }
            (Type::Integer { min, max }, Type::Float) => {
                let exact = min.is_some_and(|m| m >= -FLOAT_EXACT) && max.is_some_and(|m| m <= FLOAT_EXACT);
                if exact {
                    Vec::new()
                } else {
                    values(format!(
                        "{writer} writers may write integers beyond ±2^53, which {reader} readers' 64-bit floats do not hold exactly"
                    ))
                }
            }
            (Type::Array { items: a }, Type::Array { items: b }) => prefixed(self.types(a, b), "array items: "),
            (Type::Map { values: a }, Type::Map { values: b }) => prefixed(self.types(a, b), "map values: "),
            (Type::Named { name: a }, Type::Named { name: b }) => self.defs(a, b),
            _ => values(format!("{writer} writers write {}; {reader} readers expect {}", describe_type(w), describe_type(r))),
        }
    }

    /// Whether what writers write as their type `w` is read by readers as their type `r`.
    fn defs(&self, w: &str, r: &str) -> Vec<Finding> {
        let Dir { writer, reader } = self.dir;
        let (Some(wd), Some(rd)) = (self.writer.get(w), self.reader.get(r)) else {
            return vec![finding(Rule::Values, format!("unknown type `{w}` or `{r}`"))];
        };
        match (wd, rd) {
            (TypeDef::Struct(a), TypeDef::Struct(b)) => {
                let mut out = Vec::new();
                let writer_only: Vec<&Field> = a.fields.iter().filter(|f| !b.fields.iter().any(|o| o.name == f.name)).collect();
                let reader_only: Vec<&Field> = b.fields.iter().filter(|f| !a.fields.iter().any(|o| o.name == f.name)).collect();
                for wf in &a.fields {
                    let rf = b.fields.iter().find(|f| f.name == wf.name);
                    let presence = presence_failures(&wf.name, Some(wf), rf, self.dir);
                    match rf {
                        Some(rf) => {
                            out.extend(narrowing(&wf.name, wf, rf, self.dir, &presence));
                            out.extend(presence);
                            out.extend(prefixed(self.types(&wf.ty, &rf.ty), &format!("`{}`: ", wf.name)));
                        }
                        None => out.extend(self.dropped(wf, &reader_only)),
                    }
                }
                for rf in &reader_only {
                    out.extend(presence_failures(&rf.name, None, Some(rf), self.dir));
                    out.extend(self.defaulted(rf, &writer_only));
                }
                prefixed(out, &format!("in `{w}`: "))
            }
            (TypeDef::Enum(a), TypeDef::Enum(b)) => {
                let unknown: Vec<String> =
                    a.values.iter().filter(|v| !b.values.iter().any(|x| x.value == v.value)).map(|v| format!("`{}`", v.value)).collect();
                if unknown.is_empty() {
                    Vec::new()
                } else {
                    vec![finding(
                        Rule::Values,
                        format!("{writer} writers may write {} (`{w}`), which {reader} readers do not accept", unknown.join(", ")),
                    )]
                }
            }
            (TypeDef::Union(a), TypeDef::Union(b)) => {
                if a.tag != b.tag || a.content != b.content {
                    return vec![finding(
                        Rule::Values,
                        format!(
                            "{writer} writers tag `{w}` with `{}` and put it in `{}`; {reader} readers expect `{}` and `{}`",
                            a.tag, a.content, b.tag, b.content
                        ),
                    )];
                }
                let mut out = Vec::new();
                for variant in &a.variants {
                    match b.variants.iter().find(|v| v.tag_value == variant.tag_value) {
                        None => out.push(finding(
                            Rule::Values,
                            format!("{writer} writers may send `{}` = `{}`, which {reader} readers do not accept", a.tag, variant.tag_value),
                        )),
                        Some(other) => out.extend(self.defs(&variant.ty, &other.ty)),
                    }
                }
                out
            }
            _ => vec![finding(Rule::Values, format!("{writer} writers write `{w}` as a {}; {reader} readers expect a {}", kind(wd), kind(rd)))],
        }
    }

    /// Data loss, the writer's side: the writer sends `w`, which the reader's struct does not
    /// have (`reader_only`: the reader's fields the writer's struct lacks), so the reader ignores
    /// it. Lost when `w` can carry data and either it was removed (old writer → new reader: the
    /// old contract carried it) or the reader has fields of its own in its place, which it reads
    /// as their defaults since the writer no longer writes them (new writer → old reader: a field
    /// that replaced removed ones). A plain addition, read by an old reader that never had the
    /// data, loses nothing.
    fn dropped(&self, w: &Field, reader_only: &[&Field]) -> Option<Finding> {
        let Dir { writer, reader } = self.dir;
        if !carries_data(self.writer, &w.ty) {
            return None;
        }
        let silent: Vec<&Field> = reader_only.iter().copied().filter(|f| !f.required && carries_data(self.reader, &f.ty)).collect();
        let what = describe_type(&w.ty);
        if self.dir == OLD_TO_NEW {
            let instead = if silent.is_empty() { String::new() } else { format!(", and read {}", read_as(&silent)) };
            Some(finding(
                Rule::DataLoss,
                format!("{writer} writers send `{}` ({what}) with data; {reader} readers ignore it{instead}: its data is lost", w.name),
            ))
        } else if !silent.is_empty() {
            Some(finding(
                Rule::DataLoss,
                format!(
                    "{writer} writers send `{}` ({what}) with data, in place of {} they no longer write; {reader} readers \
                     ignore it and read {}: its data is lost",
                    w.name,
                    names(&silent),
                    read_as(&silent)
                ),
            ))
        } else {
            None
        }
    }

    /// Data loss, the reader's side: the reader has `r`, which the writer's struct lacks, while
    /// the writer still writes fields the reader does not have (`writer_only`): an old writer's
    /// data travels in the removed fields, which new readers ignore, and the new field is read as
    /// its default (old writer → new reader). In the other direction the loss is reported on the
    /// new writer's field (see [`Fit::dropped`]).
    fn defaulted(&self, r: &Field, writer_only: &[&Field]) -> Option<Finding> {
        let Dir { writer, reader } = self.dir;
        let sent: Vec<&Field> = writer_only.iter().copied().filter(|f| carries_data(self.writer, &f.ty)).collect();
        if self.dir != OLD_TO_NEW || r.required || sent.is_empty() || !carries_data(self.reader, &r.ty) {
            return None;
        }
        Some(finding(
            Rule::DataLoss,
            format!(
                "{writer} writers still send {} in place of `{}`; {reader} readers ignore {} and read `{}` as {}: the data is lost",
                names(&sent),
                r.name,
                if sent.len() == 1 { "it" } else { "them" },
                r.name,
                show_meaning(absence_meaning(r))
            ),
        ))
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

/// The schema's `x-rrq` metadata as far as the comparison needs it, read from the schema itself
/// (lowering has checked it where present): `None` where the schema declares nothing, as a
/// schema written without the extension does.
#[derive(Debug, Clone, Default)]
struct Meta {
    /// The schema has an `x-rrq` object.
    present: bool,
    protocol_version: Option<String>,
    package_version: Option<String>,
    max_frame_len: Option<u64>,
    max_nesting_depth: Option<u64>,
    /// The documented `error.type` values (none when `x-rrq` lists none).
    error_types: Vec<String>,
}

impl Meta {
    fn read(schema: &Value) -> Meta {
        let Some(meta) = schema.get("x-rrq").and_then(Value::as_object) else { return Meta::default() };
        let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_string);
        let number = |key: &str| meta.get(key).and_then(Value::as_u64);
        Meta {
            present: true,
            protocol_version: text("protocol_version"),
            package_version: text("package_version"),
            max_frame_len: number("max_frame_len"),
            max_nesting_depth: number("max_nesting_depth"),
            error_types: meta.get("error_types").and_then(Value::as_object).map(|t| t.keys().cloned().collect()).unwrap_or_default(),
        }
    }
}

/// One schema: its JSON (for pointers), its IR and which messages reach each type.
struct Version<'a> {
    value: &'a Value,
    ir: Ir,
    meta: Meta,
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
        Ok(Version { value, meta: Meta::read(value), ir, reach, messages })
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
    rules: Rules,
    changes: Vec<Change>,
    notes: Vec<String>,
}

/// Where a change is and what it reaches.
#[derive(Clone)]
struct At {
    pointer: String,
    schema: Side,
    affects: Vec<String>,
}

impl Differ<'_> {
    fn push(&mut self, category: Category, at: &At, detail: String, new_to_old: Vec<Finding>, old_to_new: Vec<Finding>) {
        self.record(category, at, None, detail, new_to_old, old_to_new);
    }

    /// Records a change with the findings the rule set admits; a change only the strict rules
    /// see (a suspected rename) is left out of a wire report.
    fn record(
        &mut self,
        category: Category,
        at: &At,
        related: Option<Related>,
        detail: String,
        new_to_old: Vec<Finding>,
        old_to_new: Vec<Finding>,
    ) {
        if category == Category::SuspectedRename && !self.rules.admits(Rule::Rename) {
            return;
        }
        let admitted = |findings: Vec<Finding>| Verdict::of(findings.into_iter().filter(|f| self.rules.admits(f.rule)).collect());
        let (detail, new_to_old, old_to_new) = if at.affects.is_empty() {
            // No message carries the type: nothing on the wire changes.
            (format!("{detail} (no message uses it)"), Verdict::Compatible, Verdict::Compatible)
        } else {
            (detail, admitted(new_to_old), admitted(old_to_new))
        };
        self.changes.push(Change {
            category,
            pointer: at.pointer.clone(),
            schema: at.schema,
            related,
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

    /// The metadata, compared where both schemas declare it.
    fn meta(&mut self) {
        let (old, new) = (self.old.meta.clone(), self.new.meta.clone());
        let all = self.all_messages();
        let at = |key: &str, schema: Side| At { pointer: format!("/x-rrq/{key}"), schema, affects: all.clone() };
        match (old.present, new.present) {
            (true, true) => {}
            (false, false) => {
                self.notes.push("neither schema has `x-rrq` metadata: versions and frame limits are not compared".into());
                return;
            }
            (o, _) => {
                self.notes.push(format!(
                    "only the {} schema has `x-rrq` metadata: versions, frame limits and error types are not compared",
                    if o { "old" } else { "new" }
                ));
                return;
            }
        }
        let notes = &mut self.notes;
        let protocol = declared_by_both(notes, "protocol_version", old.protocol_version.clone(), new.protocol_version.clone());
        let package = declared_by_both(notes, "package_version", old.package_version.clone(), new.package_version.clone());
        let frame_len = declared_by_both(notes, "max_frame_len", old.max_frame_len, new.max_frame_len);
        let depth = declared_by_both(notes, "max_nesting_depth", old.max_nesting_depth, new.max_nesting_depth);
        if let Some((o, n)) = protocol.filter(|(o, n)| o != n) {
            let reject = |dir: Dir, writes: &str, speaks: &str| {
                vec![finding(
                    Rule::ProtocolVersion,
                    format!(
                        "{} readers speak protocol `{speaks}` and reject messages of protocol `{writes}` from {} writers",
                        dir.reader, dir.writer
                    ),
                )]
            };
            self.push(
                Category::ProtocolVersionChanged,
                &at("protocol_version", Side::New),
                format!("`{o}` → `{n}` (breaking by definition; the changes under it follow)"),
                reject(NEW_TO_OLD, &n, &o),
                reject(OLD_TO_NEW, &o, &n),
            );
        }
        if let Some((o, n)) = package.filter(|(o, n)| o != n) {
            self.push(Category::PackageVersionChanged, &at("package_version", Side::New), format!("`{o}` → `{n}`"), vec![], vec![]);
        }
        for (key, what, limits) in [("max_frame_len", "frames of", frame_len), ("max_nesting_depth", "nesting of", depth)] {
            let Some((o, n)) = limits.filter(|(o, n)| o != n) else { continue };
            let unit = if key == "max_frame_len" { " bytes" } else { " levels" };
            let reject = |dir: Dir, writes: u64, reads: u64| {
                vec![finding(
                    Rule::Frames,
                    format!("{} writers may send {what} up to {writes}{unit}; {} readers reject more than {reads}", dir.writer, dir.reader),
                )]
            };
            let (category, new_to_old, old_to_new) = if n > o {
                (Category::BoundWidened, reject(NEW_TO_OLD, n, o), vec![])
            } else {
                (Category::BoundNarrowed, vec![], reject(OLD_TO_NEW, o, n))
            };
            self.push(category, &at(key, Side::New), format!("{key} {o} → {n}"), new_to_old, old_to_new);
        }
        let note = "error types are documented values of a free-form string, so readers accept any";
        for value in &new.error_types {
            if !old.error_types.contains(value) {
                let at = at(&format!("error_types/{}", escape(value)), Side::New);
                self.push(Category::ErrorTypeAdded, &at, format!("`{value}` ({note})"), vec![], vec![]);
            }
        }
        for value in &old.error_types {
            if !new.error_types.contains(value) {
                let at = at(&format!("error_types/{}", escape(value)), Side::Old);
                self.push(Category::ErrorTypeRemoved, &at, format!("`{value}` ({note})"), vec![], vec![]);
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
                    self.push(Category::TypeAdded, &at, detail, vec![], vec![]);
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
                self.push(Category::TypeRemoved, &at, detail, vec![], vec![]);
            }
        }
    }

    fn fit<'s>(&'s self, dir: Dir) -> Fit<'s> {
        if dir == NEW_TO_OLD {
            Fit { writer: &self.new.ir, reader: &self.old.ir, dir }
        } else {
            Fit { writer: &self.old.ir, reader: &self.new.ir, dir }
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
                        self.push(Category::EnumValueAdded, &at, detail, vec![finding(Rule::Values, why)], vec![]);
                    }
                }
                for value in &a.values {
                    if !b.values.iter().any(|v| v.value == value.value) {
                        let pointer = self.old.alternative_pointer(&old_pointer, |alt| enum_value_is(alt, &value.value));
                        let at = At { pointer, schema: Side::Old, affects: affects.clone() };
                        let why = format!("old writers may write `{}`, which new readers no longer accept", value.value);
                        let detail = format!("`{}` in `{}`", value.value, a.name);
                        self.push(Category::EnumValueRemoved, &at, detail, vec![], vec![finding(Rule::Values, why)]);
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
                    self.push(Category::TypeChanged, &at, detail, new_to_old, old_to_new);
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
                            self.push(Category::TagValueAdded, &at, detail, vec![finding(Rule::Values, why)], vec![]);
                        }
                        Some(old_variant) if old_variant.ty != variant.ty => {
                            let pointer = self.new.alternative_pointer(&new_pointer, |alt| tag_is(&variant.tag_value, alt));
                            let pointer = format!("{pointer}/properties/{}", escape(&b.content));
                            let at = At { pointer, schema: Side::New, affects: tag_affects(&variant.tag_value) };
                            let detail = format!("`{}` of `{}`: `{}` → `{}`", b.content, variant.tag_value, old_variant.ty, variant.ty);
                            let new_to_old = self.fit(NEW_TO_OLD).defs(&variant.ty, &old_variant.ty);
                            let old_to_new = self.fit(OLD_TO_NEW).defs(&old_variant.ty, &variant.ty);
                            self.push(Category::TypeChanged, &at, detail, new_to_old, old_to_new);
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
                        self.push(Category::TagValueRemoved, &at, detail, vec![], vec![finding(Rule::Values, why)]);
                    }
                }
            }
            _ => {
                let at = At { pointer: new_pointer, schema: Side::New, affects };
                let detail = format!("`{}`: {} → {}", new.name(), kind(old), kind(new));
                let new_to_old = self.fit(NEW_TO_OLD).defs(new.name(), old.name());
                let old_to_new = self.fit(OLD_TO_NEW).defs(old.name(), new.name());
                self.push(Category::TypeChanged, &at, detail, new_to_old, old_to_new);
            }
        }
    }

    fn strukt(&mut self, a: &ir::Struct, b: &ir::Struct, old_pointer: &str, new_pointer: &str, affects: &[String]) {
        let field_at = |pointer: &str, name: &str| format!("{pointer}/properties/{}", escape(name));
        let added: Vec<&Field> = b.fields.iter().filter(|f| !a.fields.iter().any(|o| o.name == f.name)).collect();
        let removed: Vec<&Field> = a.fields.iter().filter(|f| !b.fields.iter().any(|n| n.name == f.name)).collect();
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
                    let mut new_to_old = presence_failures(&field.name, Some(field), None, NEW_TO_OLD);
                    new_to_old.extend(self.fit(NEW_TO_OLD).dropped(field, &removed));
                    let mut old_to_new = presence_failures(&field.name, None, Some(field), OLD_TO_NEW);
                    old_to_new.extend(self.fit(OLD_TO_NEW).defaulted(field, &removed));
                    let detail = format!("`{}.{}`: {}", b.name, field.name, describe_field(field));
                    self.push(category, &at_new, detail, new_to_old, old_to_new);
                }
            }
        }
        for field in &removed {
            let at = At { pointer: field_at(old_pointer, &field.name), schema: Side::Old, affects: affects.to_vec() };
            let mut new_to_old = presence_failures(&field.name, None, Some(field), NEW_TO_OLD);
            new_to_old.extend(self.fit(NEW_TO_OLD).defaulted(field, &added));
            let mut old_to_new = presence_failures(&field.name, Some(field), None, OLD_TO_NEW);
            old_to_new.extend(self.fit(OLD_TO_NEW).dropped(field, &added));
            let detail = format!("`{}.{}`: was {}", a.name, field.name, describe_field(field));
            self.push(Category::FieldRemoved, &at, detail, new_to_old, old_to_new);
        }
        for old_field in &removed {
            for new_field in &added {
                self.suspected_rename(&b.name, old_field, new_field, &field_at(old_pointer, &old_field.name), &field_at(new_pointer, &new_field.name), affects);
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
            self.push(Category::FieldOrderChanged, &at, detail, vec![], vec![]);
        }
    }

    /// The strict rule "rename": a field removed and a field added in the same struct, of types
    /// one of which reads the other's values (by the wire rules), both able to carry data. Readers
    /// match fields by name, so on the wire a rename is a removal plus an addition: each side
    /// ignores the name the other writes and reads its own as a default.
    fn suspected_rename(&mut self, owner: &str, old: &Field, new: &Field, old_pointer: &str, new_pointer: &str, affects: &[String]) {
        if !carries_data(&self.old.ir, &old.ty) || !carries_data(&self.new.ir, &new.ty) {
            return;
        }
        let old_to_new_fits = wire_only(&self.fit(OLD_TO_NEW).types(&old.ty, &new.ty)).is_empty();
        let new_to_old_fits = wire_only(&self.fit(NEW_TO_OLD).types(&new.ty, &old.ty)).is_empty();
        if !old_to_new_fits && !new_to_old_fits {
            return;
        }
        let reads = |f: &Field| if f.required { format!("reject a message without `{}`", f.name) } else { format!("read `{}` as {}", f.name, show_meaning(absence_meaning(f))) };
        let new_to_old = vec![finding(
            Rule::Rename,
            format!("new writers write `{}` where old readers expect `{}`: old readers ignore it and {}", new.name, old.name, reads(old)),
        )];
        let old_to_new = vec![finding(
            Rule::Rename,
            format!("old writers still write `{}` where new readers expect `{}`: new readers ignore it and {}", old.name, new.name, reads(new)),
        )];
        let shape = match (old_to_new_fits, new_to_old_fits) {
            (true, true) => "each type reads the other's values",
            (true, false) => "the new type reads every old value",
            _ => "the old type reads every new value",
        };
        let detail = format!(
            "`{owner}.{}` ({}) → `{owner}.{}` ({})? ({shape}; readers match fields by name: keep the wire name, or release a new protocol_version)",
            old.name,
            describe_type(&old.ty),
            new.name,
            describe_type(&new.ty)
        );
        let at = At { pointer: new_pointer.to_string(), schema: Side::New, affects: affects.to_vec() };
        let related = Related { schema: Side::Old, pointer: old_pointer.to_string() };
        self.record(Category::SuspectedRename, &at, Some(related), detail, new_to_old, old_to_new);
    }

    fn field(&mut self, owner: &str, old: &Field, new: &Field, at_old: &At, at_new: &At) {
        let name = new.name.as_str();
        let full = format!("{owner}.{name}");
        let new_to_old = presence_failures(name, Some(new), Some(old), NEW_TO_OLD);
        let old_to_new = presence_failures(name, Some(old), Some(new), OLD_TO_NEW);
        let verdicts = |attr: Attr| (blamed(&new_to_old, Some(attr)), blamed(&old_to_new, Some(attr)));
        if old.required != new.required {
            let (category, detail) = if new.required {
                (Category::FieldMadeRequired, format!("`{full}` is now required"))
            } else {
                let meaning = show_meaning(absence_meaning(new));
                (Category::FieldMadeOptional, format!("`{full}` is no longer required (absent means {meaning})"))
            };
            let (n, mut o) = verdicts(Attr::Required);
            if new.required {
                let narrowed = Field { nullable: old.nullable, ..new.clone() };
                o.extend(narrowing(name, old, &narrowed, OLD_TO_NEW, &o));
            }
            self.push(category, at_new, detail, n, o);
        }
        if old.nullable != new.nullable {
            let (category, detail) = if new.nullable {
                (Category::FieldMadeNullable, format!("`{full}` now accepts `null` (no value)"))
            } else {
                (Category::FieldMadeNonNullable, format!("`{full}` no longer accepts `null`"))
            };
            let (n, mut o) = verdicts(Attr::Nullable);
            if !new.nullable {
                let narrowed = Field { required: old.required, ..new.clone() };
                o.extend(narrowing(name, old, &narrowed, OLD_TO_NEW, &o));
            }
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
                let shape = match (wire_only(&new_to_old).is_empty(), wire_only(&old_to_new).is_empty()) {
                    (false, true) => " (widened: new readers accept every old value)",
                    (true, false) => " (narrowed: old readers accept every new value)",
                    _ => "",
                };
                let detail = format!("{what}: {} → {}{shape}", describe_type(old), describe_type(new));
                self.push(Category::TypeChanged, at_new, detail, new_to_old, old_to_new);
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
            vec![finding(
                Rule::Values,
                format!("{} writers may write {what} {side} {}, which {} readers reject", dir.writer, show(limit), dir.reader),
            )]
        };
        if widened {
            self.push(Category::BoundWidened, &at, detail, reject(NEW_TO_OLD, old), vec![]);
        } else {
            self.push(Category::BoundNarrowed, &at, detail, vec![], reject(OLD_TO_NEW, new));
        }
    }
}

/// Both values of an `x-rrq` key, when both schemas declare it; a note when only one does.
fn declared_by_both<T: std::fmt::Display>(notes: &mut Vec<String>, key: &str, old: Option<T>, new: Option<T>) -> Option<(T, T)> {
    match (old, new) {
        (Some(o), Some(n)) => Some((o, n)),
        (None, None) => None,
        (o, n) => {
            let (side, value) = match (o, n) {
                (Some(o), _) => ("old", o),
                (_, Some(n)) => ("new", n),
                _ => unreachable!("one of them is declared"),
            };
            notes.push(format!("`x-rrq.{key}` is declared only by the {side} schema (`{value}`): not compared"));
            None
        }
    }
}

fn enum_value_is(alternative: &Value, value: &str) -> bool {
    alternative.as_str() == Some(value) || alternative.get("const").and_then(Value::as_str) == Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ir::lower` requires every `x-rrq` key today, so a key only one schema declares cannot reach
    // `diff` yet: the metadata comparison is checked here.
    #[test]
    fn metadata_keys_are_compared_only_where_both_schemas_declare_them() {
        let mut notes = Vec::new();
        assert_eq!(declared_by_both(&mut notes, "max_frame_len", Some(1u64), Some(2)), Some((1, 2)));
        assert_eq!(declared_by_both::<u64>(&mut notes, "max_frame_len", None, None), None);
        assert!(notes.is_empty());
        assert_eq!(declared_by_both(&mut notes, "protocol_version", None, Some("2".to_string())), None);
        assert_eq!(notes, ["`x-rrq.protocol_version` is declared only by the new schema (`2`): not compared"]);

        let meta = Meta::read(&json!({"x-rrq": {"package_version": "1.0.0", "max_frame_len": 10}}));
        assert!(meta.present);
        assert_eq!((meta.protocol_version, meta.package_version, meta.max_frame_len), (None, Some("1.0.0".into()), Some(10)));
        assert!(!Meta::read(&json!({"title": "Root"})).present);
    }

    #[test]
    fn only_types_whose_every_value_is_empty_carry_no_data() {
        let schema = json!({
            "title": "Root", "type": "object", "properties": {"x": {"type": "string"}}, "required": [],
            "$defs": {
                "Never": {"type": "string", "enum": []},
                "Empty": {"type": "object", "properties": {"none": {"type": "array", "items": {"$ref": "#/$defs/Never"}}}}
            },
            "x-rrq": {"protocol_version": "1", "package_version": "1.0.0", "max_frame_len": 100, "max_nesting_depth": 8}
        });
        let ir = ir::lower(&schema).unwrap();
        let named = |name: &str| Type::Named { name: name.into() };
        let array = |items: Type| Type::Array { items: Box::new(items) };
        assert!(!carries_data(&ir, &named("Never")));
        assert!(!carries_data(&ir, &array(named("Never"))));
        assert!(!carries_data(&ir, &named("Empty")));
        assert!(carries_data(&ir, &array(Type::String)));
        assert!(carries_data(&ir, &Type::Map { values: Box::new(Type::Any) }));
        assert!(carries_data(&ir, &Type::Bool));
    }
}
