//! Python bindings (`generated/python/`): the `rrq-runner` distribution, import package
//! `rrq_runner`.
//!
//! This module maps the IR to Python: class, attribute and constant names, type annotations,
//! straight-line decode and encode code per type (a decoder that reads a parsed JSON value and a
//! canonical encoder that writes text), the tables the error-reporting slow paths walk, and the
//! protocol roles the runner runtime needs (which field holds the function name, which error
//! types it reports, …). The templates under `templates/python/` only lay these out in Python
//! idiom; nothing protocol-specific is written in them.

use super::{expectation, field_expectation, frame_messages, integer_bounds, tag_expectation, Roles, RuntimeMessage};
use crate::ir::{Ir, Struct, Type, TypeDef, Union};
use crate::output::GeneratedFile;
use crate::{Package, Protocol};
use anyhow::{anyhow, bail, Context, Result};
use askama::Template;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Environment variable the RRQ orchestrator sets to the address a runner must listen on.
const ENV_TCP_SOCKET: &str = "RRQ_RUNNER_TCP_SOCKET";
/// Environment variable that forces the standard-library JSON path (`0`) or allows the
/// optional accelerator (anything else, the default).
const ENV_ACCELERATE: &str = "RRQ_RUNNER_ACCELERATE";
/// Distribution and import names.

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
    "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with",
    "yield", "match", "case", "_",
];

// ---------------------------------------------------------------------------------------------
// Names and literals

/// A valid Python identifier made from `raw`: other characters become `_`, a leading digit gets
/// a `_` prefix, a keyword gets a `_` suffix (PEP 8).
fn identifier(raw: &str) -> String {
    let mut out: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if PY_KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// `UPPER_SNAKE` constant name for a wire value such as `handler_not_found`.
fn constant_name(raw: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in raw.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' });
    }
    identifier(&out)
}

/// `PascalCase` class name for a wire value such as `request`.
fn pascal_name(raw: &str) -> String {
    identifier(&super::pascal_case(raw))
}

/// A Python string literal (double-quoted) for any text.
fn py_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Python single-quoted string literal: for text full of double quotes (JSON).
fn py_str_single(text: &str) -> String {
    let inner = py_str(text);
    let inner = &inner[1..inner.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

/// The Python literal for a JSON value (a field default).
fn py_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_f64() {
                let text = n.to_string();
                if text.contains(['.', 'e', 'E']) { text } else { format!("{text}.0") }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => py_str(s),
        Value::Array(items) => format!("[{}]", items.iter().map(py_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", py_str(k), py_literal(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The JSON text serde_json writes for a string (the canonical key text).
fn json_str(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serializes")
}

/// A docstring literal for `doc`, its continuation lines indented by `indent` spaces.
fn docstring(doc: &str, fallback: &str, indent: usize) -> String {
    let text = if doc.trim().is_empty() { fallback } else { doc.trim() };
    let pad = " ".repeat(indent);
    let body: Vec<String> = text
        .replace('\\', "\\\\")
        .replace("\"\"\"", "\\\"\\\"\\\"")
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 0 || line.is_empty() { line.to_string() } else { format!("{pad}{line}") })
        .collect();
    let body = body.join("\n");
    if body.contains('\n') {
        format!("\"\"\"{body}\n{pad}\"\"\"")
    } else if body.ends_with('"') {
        format!("\"\"\"{body} \"\"\"")
    } else {
        format!("\"\"\"{body}\"\"\"")
    }
}


/// Literal text inside a single-quoted Python f-string: braces doubled, quotes and backslashes
/// escaped.
fn fstring_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'").replace('{', "{{").replace('}', "}}")
}

fn int_bound(bound: Option<i128>) -> String {
    bound.map(|b| b.to_string()).unwrap_or_else(|| "None".into())
}

// ---------------------------------------------------------------------------------------------
// Type mapping

struct Mapper<'a> {
    ir: &'a Ir,
    /// The deepest nesting level at which each named type's values occur in a message (the
    /// root's value is level 1); capped past any depth the reader accepts (recursive types).
    levels: BTreeMap<String, u64>,
}

/// See `Mapper::levels`.
fn type_levels(ir: &Ir) -> BTreeMap<String, u64> {
    fn visit(ir: &Ir, ty: &Type, level: u64, cap: u64, levels: &mut BTreeMap<String, u64>) {
        match ty {
            Type::Array { items } => visit(ir, items, level + 1, cap, levels),
            Type::Map { values } => visit(ir, values, level + 1, cap, levels),
            Type::Named { name } => {
                let seen = levels.entry(name.clone()).or_insert(0);
                if *seen >= level.min(cap) {
                    return;
                }
                *seen = level.min(cap);
                if level >= cap {
                    return;
                }
                match ir.get(name) {
                    Some(TypeDef::Struct(s)) => {
                        for f in &s.fields {
                            visit(ir, &f.ty, level + 1, cap, levels);
                        }
                    }
                    Some(TypeDef::Union(u)) => {
                        for v in &u.variants {
                            visit(ir, &Type::Named { name: v.ty.clone() }, level + 1, cap, levels);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let mut levels = BTreeMap::new();
    let cap = ir.meta.max_nesting_depth + 2;
    visit(ir, &Type::Named { name: ir.root.clone() }, 1, cap, &mut levels);
    levels
}

impl Mapper<'_> {
    fn def(&self, name: &str) -> Result<&TypeDef> {
        self.ir.get(name).ok_or_else(|| anyhow!("the IR references `{name}`, which it does not define"))
    }

    /// The Python annotation of a value of `ty`.
    fn annotation(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::String => "str".into(),
            Type::Integer { .. } => "int".into(),
            Type::Float => "float".into(),
            Type::Timestamp => "datetime".into(),
            Type::Any => "JsonValue".into(),
            Type::Array { items } => format!("list[{}]", self.annotation(items)),
            Type::Map { values } => format!("dict[str, {}]", self.annotation(values)),
            Type::Named { name } => identifier(name),
        }
    }

    /// The description of `ty` the slow paths (error reports) walk: a nested tuple
    /// `(kind, expectation, ...)`, the expectation being the shared `FrameError` text.
    fn spec(&self, ty: &Type) -> Result<String> {
        let expected = py_str(&expectation(self.ir, ty)?);
        Ok(match ty {
            Type::Bool => format!("(\"bool\", {expected})"),
            Type::String => format!("(\"str\", {expected})"),
            Type::Integer { min, max } => {
                let (lo, hi) = integer_bounds(min, max);
                format!("(\"int\", {expected}, {lo}, {hi})")
            }
            Type::Float => format!("(\"float\", {expected})"),
            Type::Timestamp => format!("(\"timestamp\", {expected})"),
            Type::Any => format!("(\"any\", {expected})"),
            Type::Array { items } => format!("(\"array\", {expected}, {})", self.spec(items)?),
            Type::Map { values } => format!("(\"map\", {expected}, {})", self.spec(values)?),
            Type::Named { name } => {
                let kind = match self.def(name)? {
                    TypeDef::Struct(_) => "struct",
                    TypeDef::Enum(_) => "enum",
                    TypeDef::Union(_) => "union",
                };
                format!("(\"{kind}\", {expected}, {})", py_str(name))
            }
        })
    }

    /// A Python expression that validates the parsed JSON value `x` as `ty` and evaluates to
    /// the model value, raising `_Bad` when it is not valid. `depth` keeps comprehension
    /// variables apart.
    fn decode_expr(&self, ty: &Type, x: &str, depth: usize) -> String {
        let e = format!("e{depth}");
        let k = format!("k{depth}");
        match ty {
            Type::Bool => format!("_dec_bool({x})"),
            Type::String => format!("_dec_str({x})"),
            Type::Integer { min, max } => format!("_dec_int({x}, {}, {})", int_bound(*min), int_bound(*max)),
            Type::Float => format!("_dec_float({x})"),
            // `parse_timestamp` itself: anything but a string raises (TypeError), as does a bad
            // text (TimestampError); the caller's slow path then reports the exact error.
            Type::Timestamp => format!("_ts({x})"),
            Type::Any => x.to_string(),
            Type::Array { items } => match **items {
                Type::Any => format!("_dec_list({x})"),
                _ => format!("[{} for {e} in _dec_list({x})]", self.decode_expr(items, &e, depth + 1)),
            },
            Type::Map { values } => match **values {
                Type::Any => format!("_dec_dict({x})"),
                Type::String => format!("_dec_str_map({x})"),
                _ => format!(
                    "{{{k}: {} for {k}, {e} in _dec_dict({x}).items()}}",
                    self.decode_expr(values, &e, depth + 1)
                ),
            },
            Type::Named { name } => format!("_decode_{}({x})", identifier(name)),
        }
    }

    /// How to validate (and, where needed, convert in place) the local variable `v` holding a
    /// parsed JSON value of type `ty`; cheap type tests are written inline.
    fn decode_check(&self, ty: &Type, v: &str) -> Check {
        match ty {
            Type::String => Check::Reject(format!("type({v}) is not str")),
            Type::Bool => Check::Reject(format!("type({v}) is not bool")),
            Type::Integer { min, max } => {
                let range = match (min, max) {
                    (Some(lo), Some(hi)) => format!(" or not {lo} <= {v} <= {hi}"),
                    (Some(lo), None) => format!(" or {v} < {lo}"),
                    (None, Some(hi)) => format!(" or {v} > {hi}"),
                    (None, None) => String::new(),
                };
                Check::Reject(format!("type({v}) is not int{range}"))
            }
            Type::Float => Check::Convert(format!("type({v}) is not float"), format!("{v} = _dec_float({v})")),
            Type::Any => Check::Nothing,
            Type::Array { items } if **items == Type::Any => Check::Reject(format!("type({v}) is not list")),
            Type::Map { values } if **values == Type::Any => Check::Reject(format!("type({v}) is not dict")),
            _ => Check::Assign(format!("{v} = {}", self.decode_expr(ty, v, 0))),
        }
    }

    /// A Python expression writing the model value `x` of type `ty` as canonical JSON text.
    fn encode_expr(&self, ty: &Type, x: &str, depth: usize) -> String {
        let e = format!("e{depth}");
        let k = format!("k{depth}");
        match ty {
            Type::Bool => format!("_enc_bool({x})"),
            Type::String => format!("_enc_str({x})"),
            Type::Integer { min, max } => format!("_enc_int({x}, {}, {})", int_bound(*min), int_bound(*max)),
            Type::Float => format!("_enc_float({x})"),
            Type::Timestamp => format!("_enc_ts({x})"),
            Type::Any => format!("_enc_any({x})"),
            Type::Array { items } => match **items {
                Type::Any => format!("_enc_any_list({x})"),
                _ => format!(
                    "\"[\" + \",\".join([{} for {e} in _enc_list({x})]) + \"]\"",
                    self.encode_expr(items, &e, depth + 1)
                ),
            },
            Type::Map { values } => match **values {
                Type::Any => format!("_enc_any_map({x})"),
                Type::String => format!("_enc_str_map({x})"),
                _ => format!(
                    "\"{{\" + \",\".join([_enc_str({k}) + \":\" + {} for {k}, {e} in _enc_items({x})]) + \"}}\"",
                    self.encode_expr(values, &e, depth + 1)
                ),
            },
            Type::Named { name } => format!("_encode_{}({x})", identifier(name)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The accelerated decoder (`_fast`, with msgspec): shadow `msgspec.Struct`s of the IR types,
// decoded and validated natively, then converted to the models. Timestamps are read as strings
// there and parsed by the package's own parser (nanoseconds, the strict grammar).

impl Mapper<'_> {
    /// The annotation of `ty` in the shadow structs.
    fn fast_annotation(&self, ty: &Type) -> Result<String> {
        Ok(match ty {
            Type::Bool => "bool".into(),
            Type::String | Type::Timestamp => "str".into(),
            Type::Integer { min, max } => {
                // msgspec takes only bounds within int64: a wider range (u64) is clamped, so a
                // value beyond it fails msgspec's validation and the exact path decides it.
                let (lo, hi) = integer_bounds(min, max);
                let (lo, hi) = (lo.max(i64::MIN as i128), hi.min(i64::MAX as i128));
                format!("Annotated[int, Meta(ge={lo}, le={hi})]")
            }
            Type::Float => "float".into(),
            Type::Any => "Any".into(),
            Type::Array { items } => format!("list[{}]", self.fast_annotation(items)?),
            Type::Map { values } => format!("dict[str, {}]", self.fast_annotation(values)?),
            Type::Named { name } => match self.def(name)? {
                TypeDef::Struct(_) => format!("_M_{}", identifier(name)),
                TypeDef::Enum(_) => identifier(name),
                TypeDef::Union(u) => {
                    let members: Vec<String> =
                        (0..u.variants.len()).map(|i| format!("_M_{}_{i}", identifier(name))).collect();
                    members.join(" | ")
                }
            },
        })
    }

    /// Whether a shadow value of `ty` differs from the model's (it must be converted).
    fn fast_converts(&self, ty: &Type) -> bool {
        match ty {
            Type::Timestamp => true,
            Type::Array { items } => self.fast_converts(items),
            Type::Map { values } => self.fast_converts(values),
            Type::Named { name } => !matches!(self.ir.get(name), Some(TypeDef::Enum(_))),
            _ => false,
        }
    }

    /// The expression converting the shadow value `x` of `ty` (not `None`) to the model's.
    fn fast_convert(&self, ty: &Type, x: &str, depth: usize) -> String {
        let e = format!("e{depth}");
        let k = format!("k{depth}");
        match ty {
            Type::Timestamp => format!("_ts({x})"),
            Type::Array { items } if self.fast_converts(items) => {
                format!("[{} for {e} in {x}]", self.fast_convert(items, &e, depth + 1))
            }
            Type::Map { values } if self.fast_converts(values) => {
                format!("{{{k}: {} for {k}, {e} in {x}.items()}}", self.fast_convert(values, &e, depth + 1))
            }
            Type::Named { name } if self.fast_converts(ty) => format!("_c_{}({x})", identifier(name)),
            _ => x.to_string(),
        }
    }
}

impl Mapper<'_> {
    /// The level of a named type's values (see `levels`).
    fn level(&self, name: &str) -> u64 {
        self.levels.get(name).copied().unwrap_or(self.ir.meta.max_nesting_depth + 2)
    }

    /// A Python condition, true when the shadow value `x` of `ty` (at nesting `level`) might
    /// have been read otherwise than the reference reads it (see `_fast`'s checks), or None when
    /// it cannot be: an any-JSON value with an integer 0 (a `-0` token reads 0), an integer
    /// beyond 64 bits or nesting past the limit; a number field that reads 0.
    fn fast_check(&self, ty: &Type, x: &str, level: u64, depth: usize) -> Option<String> {
        let e = format!("e{depth}");
        match ty {
            Type::Any => {
                let budget = self.ir.meta.max_nesting_depth as i64 - level as i64 + 1;
                Some(format!("_suspect({x}, {budget})"))
            }
            Type::Integer { .. } | Type::Float => Some(format!("{x} == 0")),
            Type::Array { items } if **items == Type::Any => self.fast_check(&Type::Any, x, level, depth),
            Type::Map { values } if **values == Type::Any => self.fast_check(&Type::Any, x, level, depth),
            Type::Array { items } => {
                self.fast_check(items, &e, level + 1, depth + 1).map(|c| format!("any({c} for {e} in {x})"))
            }
            Type::Map { values } => {
                self.fast_check(values, &e, level + 1, depth + 1).map(|c| format!("any({c} for {e} in {x}.values())"))
            }
            Type::Named { name } => match self.ir.get(name) {
                Some(TypeDef::Enum(_)) => None,
                _ => Some(format!("_k_{}({x})", identifier(name))),
            },
            Type::Bool | Type::String | Type::Timestamp => None,
        }
    }
}

/// What decoding does with a field's value once it is known to be present (and not `null`).
enum Check {
    /// Nothing to check.
    Nothing,
    /// Raise `_Bad` when the condition holds.
    Reject(String),
    /// When the condition holds, run the statement (which converts or raises).
    Convert(String, String),
    /// Always run the statement.
    Assign(String),
}

impl Check {
    /// The check as statements, guarded by `guard` (a condition that must hold for the check
    /// to apply), each line at the given nesting; `keyword` opens the first test (`if`/`elif`).
    fn lines(&self, keyword: &str, guard: Option<&str>) -> Vec<String> {
        let both = |cond: &str| match guard {
            Some(g) => format!("{g} and ({cond})"),
            None => cond.to_string(),
        };
        match self {
            Check::Nothing => vec![],
            Check::Reject(cond) => vec![format!("{keyword} {}:", both(cond)), "    raise _Bad".into()],
            Check::Convert(cond, stmt) => vec![format!("{keyword} {}:", both(cond)), format!("    {stmt}")],
            Check::Assign(stmt) => match guard {
                Some(g) => vec![format!("{keyword} {g}:"), format!("    {stmt}")],
                None if keyword == "if" => vec![stmt.clone()],
                None => vec!["else:".into(), format!("    {stmt}")],
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the templates see

#[derive(Clone)]
struct ConstDef {
    name: String,
    value: String,
    doc: String,
}

#[derive(Clone)]
struct EnumDef {
    name: String,
    docstring: String,
    members: Vec<ConstDef>,
}

#[derive(Clone)]
struct FieldDef {
    /// `attr: Annotation` or `attr: Annotation = default`.
    declaration: String,
    docstring: String,
    /// The slow paths' row: `(key, attr, spec, required, nullable, always_written)`.
    spec_row: String,
}

#[derive(Clone)]
struct StructDef {
    name: String,
    docstring: String,
    fields: Vec<FieldDef>,
    decode_lines: Vec<String>,
    encode_lines: Vec<String>,
    /// The accelerated decoder's shadow struct (its field lines) and conversion (body lines).
    fast_fields: Vec<String>,
    fast_convert: Vec<String>,
    /// The accelerated decoder's check of a shadow (the body of `_k_<name>`).
    fast_check: Vec<String>,
}

#[derive(Clone)]
struct VariantDef {
    class: String,
    tag_literal: String,
    content_attr: String,
    content_type: String,
    docstring: String,
    content_docstring: String,
}

#[derive(Clone)]
struct UnionDef {
    name: String,
    docstring: String,
    variants: Vec<VariantDef>,
    members: String,
    spec_row: String,
    decode_lines: Vec<String>,
    encode_lines: Vec<String>,
    /// The accelerated decoder's variant structs (`(name, tag key literal, tag literal, content
    /// field line)`)
    /// and conversion (body lines).
    fast_variants: Vec<(String, String, String, String)>,
    fast_convert: Vec<String>,
    fast_check: Vec<String>,
    /// When this union is the root: the accelerated decoder's dispatch on the decoded shadow
    /// `s` of the body `body`, each variant's check and conversion written in place (one type
    /// test, no calls for the union itself); answers None where the exact path must decide.
    fast_root: Vec<String>,
}

#[derive(Clone)]
/// A message the runtime writes: its key in the generated message table and the `ErrorType`
/// member of its error type.
struct PyMessage {
    name: String,
    error_type: String,
}

impl PyMessage {
    fn new(m: &RuntimeMessage) -> Self {
        PyMessage { name: py_str(&m.name), error_type: constant_name(&m.error_type) }
    }
}

#[derive(Clone)]
/// The runtime's roles ([`Roles`], shared with TypeScript) in Python names.
struct PyRoles {
    request_variant: String,
    response_variant: String,
    cancel_variant: String,
    content: String,
    request: String,
    outcome: String,
    error: String,
    status: String,
    req_protocol_version: String,
    req_request_id: String,
    req_job_id: String,
    req_function_name: String,
    /// The handler's input fields (attribute names), for the README's example handlers.
    req_inputs: Vec<(String, String)>,
    /// The attribute of the input map, if any (README examples read options from it).
    req_input_map: Option<String>,
    req_context: String,
    ctx_deadline: String,
    out_job_id: String,
    out_request_id: String,
    out_status: String,
    out_result: String,
    out_error: String,
    out_retry_after: String,
    err_message: String,
    err_type: String,
    cancel_job_id: String,
    cancel_request_id: String,
    st_success: String,
    st_retry: String,
    st_timeout: String,
    st_error: String,
    /// What the tracing integration reads of a request (`Binding.trace`): Python expressions over
    /// the request's context (a local `context`), `None` where the protocol has no such field.
    trace_queue: String,
    trace_attempt: String,
    trace_worker: String,
    trace_enqueued: String,
    trace_carrier: String,
    trace_correlation: String,
    /// Whether the protocol has a correlation context (its entries become span attributes).
    has_correlation: bool,
    /// Messages by situation.
    msg_handler_not_found: PyMessage,
    msg_cancelled: PyMessage,
    msg_shutting_down: PyMessage,
    msg_deadline_passed: PyMessage,
    msg_deadline_exceeded: PyMessage,
    msg_busy: PyMessage,
    msg_invalid_frame: PyMessage,
    msg_unsupported_protocol_version: PyMessage,
    msg_unexpected_message: PyMessage,
    /// The response variant's tag (the `{type}` of the unexpected-message text).
    response_tag: String,
    /// Wire names (for the lenient id lookup in undecodable frames).
    content_key: String,
    request_id_key: String,
    job_id_key: String,
    /// The same wire names as plain text (for the README).
    content_wire: String,
    request_id_wire: String,
    job_id_wire: String,
}

impl PyRoles {
    fn new(ir: &Ir, r: &Roles) -> Result<PyRoles> {
        let Some(TypeDef::Union(root)) = ir.get(&r.root) else { bail!("the root type `{}` is not a union", r.root) };
        Ok(PyRoles {
            request_variant: variant_class(ir, root, &r.request_tag),
            response_variant: variant_class(ir, root, &r.response_tag),
            cancel_variant: variant_class(ir, root, &r.cancel_tag),
            content: identifier(&r.content),
            request: identifier(&r.request),
            outcome: identifier(&r.outcome),
            error: identifier(&r.error),
            status: identifier(&r.status),
            req_protocol_version: identifier(&r.req_protocol_version),
            req_request_id: identifier(&r.req_request_id),
            req_job_id: identifier(&r.req_job_id),
            req_function_name: identifier(&r.req_function_name),
            req_inputs: r.req_inputs.iter().map(|f| (f.clone(), identifier(f))).collect(),
            req_input_map: r.req_input_map.as_deref().map(identifier),
            req_context: identifier(&r.req_context),
            ctx_deadline: identifier(&r.ctx_deadline),
            out_job_id: identifier(&r.out_job_id),
            out_request_id: identifier(&r.out_request_id),
            out_status: identifier(&r.out_status),
            out_result: identifier(&r.out_result),
            out_error: identifier(&r.out_error),
            out_retry_after: identifier(&r.out_retry_after),
            err_message: identifier(&r.err_message),
            err_type: identifier(&r.err_type),
            cancel_job_id: identifier(&r.cancel_job_id),
            cancel_request_id: identifier(&r.cancel_request_id),
            st_success: constant_name(&r.st_success),
            st_retry: constant_name(&r.st_retry),
            st_timeout: constant_name(&r.st_timeout),
            st_error: constant_name(&r.st_error),
            trace_queue: context_expr(&r.ctx_queue_name),
            trace_attempt: context_expr(&r.ctx_attempt),
            trace_worker: context_expr(&r.ctx_worker_id),
            trace_enqueued: context_expr(&r.ctx_enqueue_time),
            trace_carrier: context_expr(&r.ctx_trace_context),
            trace_correlation: context_expr(&r.ctx_correlation_context),
            has_correlation: r.ctx_correlation_context.is_some(),
            msg_handler_not_found: PyMessage::new(&r.msg_handler_not_found),
            msg_cancelled: PyMessage::new(&r.msg_cancelled),
            msg_shutting_down: PyMessage::new(&r.msg_shutting_down),
            msg_deadline_passed: PyMessage::new(&r.msg_deadline_passed),
            msg_deadline_exceeded: PyMessage::new(&r.msg_deadline_exceeded),
            msg_busy: PyMessage::new(&r.msg_busy),
            msg_invalid_frame: PyMessage::new(&r.msg_invalid_frame),
            msg_unsupported_protocol_version: PyMessage::new(&r.msg_unsupported_protocol_version),
            msg_unexpected_message: PyMessage::new(&r.msg_unexpected_message),
            response_tag: py_str(&r.response_tag),
            content_key: py_str(&r.content),
            request_id_key: py_str(&r.req_request_id),
            job_id_key: py_str(&r.req_job_id),
            content_wire: r.content.clone(),
            request_id_wire: r.req_request_id.clone(),
            job_id_wire: r.req_job_id.clone(),
        })
    }
}

/// Python constants (`PREFIX_KEY = "value"` with a docstring) for a table of tracing names.
fn trace_consts(names: Vec<super::TraceName>, prefix: &str) -> Vec<ConstDef> {
    names
        .into_iter()
        .map(|n| ConstDef { name: format!("{prefix}{}", n.key), value: py_str(&n.value), doc: docstring(n.doc, n.key, 0) })
        .collect()
}

/// `context.<attribute>` for an optional context field (read from a local `context`), `None`
/// without one.
fn context_expr(field: &Option<String>) -> String {
    match field {
        Some(name) => format!("context.{}", identifier(name)),
        None => "None".into(),
    }
}

#[derive(Clone)]
/// One row of a generated message table: a name and its text (both Python literals).
struct MessageRow {
    name: String,
    text: String,
    /// The error type, a literal (runner messages only).
    error_type: String,
}

#[derive(Clone)]
struct Ctx {
    /// The provenance header of this protocol's files, and of the files shared by all.
    header: String,
    shared_header: String,
    distribution: String,
    package: String,
    package_version: String,
    /// This protocol's module (`v1`), or None when it is the package's root.
    module: Option<String>,
    /// Relative import prefix of the shared modules from this protocol's (`..` or `.`).
    up: String,
    /// How the docs name this protocol (`"2"`, or the root type for an unversioned schema).
    version_text: String,
    module_doc: String,
    /// The distribution's one-line description.
    description: String,
    /// Which orchestrators speak this protocol (`x-rrq.orchestrators`), for the docs.
    orchestrators: String,
    /// A field path the docs show as an example (the first struct field of the root's first variant).
    path_example: String,
    /// `PROTOCOL_VERSION`'s literal, if the schema has a version.
    version_literal: Option<String>,
    protocol_version_lit: String,
    /// What this protocol's codec imports from `_frames` (the helpers its code calls among them).
    codec_helpers: Vec<String>,
    /// The functions of the shared `_json` module the codec's code calls, as `name as alias`
    /// imports (`parse_timestamp as _ts`, `format_timestamp as _enc_ts`, ...).
    codec_json_aliases: Vec<String>,
    /// The version module's imports, `(module, names)` in isort order.
    init_imports: Vec<(String, Vec<String>)>,
    /// Whether the models use `datetime` and `JsonValue`.
    uses_timestamps: bool,
    uses_any: bool,
    /// What the glue imports from the models; the runner's answer status per situation.
    glue_imports: Vec<String>,
    situation_status: Vec<(String, String)>,
    max_frame_len: u64,
    max_nesting_depth: u64,
    env_tcp_socket: String,
    env_accelerate: String,
    env_accelerate_lit: String,
    frame_header_len: usize,
    /// The slow paths' spec of the root type.
    root_spec: String,
    /// The accelerated decoder's annotation of the root type.
    fast_root: String,
    /// The accelerated decoder's dispatch when the root type is a union (see `UnionDef`).
    fast_root_lines: Option<Vec<String>>,
    error_types: Vec<ConstDef>,
    enums: Vec<EnumDef>,
    structs: Vec<StructDef>,
    unions: Vec<UnionDef>,
    /// `__all__` of the models module and of the package, sorted as ruff wants them.
    models_all: Vec<String>,
    package_all: Vec<String>,
    /// What the codec and runtime modules import from the models module, sorted.
    codec_imports: Vec<String>,
    root: String,
    /// `x-rrq.error_messages`: what the runner writes in the errors it produces itself.
    error_messages: Vec<MessageRow>,
    /// The frame-level `FrameError` texts shared with every language.
    frame_messages: Vec<MessageRow>,
    /// The tracing integration's names, shared with every language (`super::trace_*`): the
    /// tracer's, the span's and constant values; the span's attributes; the outcomes.
    trace_constants: Vec<ConstDef>,
    trace_attributes: Vec<ConstDef>,
    trace_outcomes: Vec<ConstDef>,
    /// The span's name and its attributes with their meaning, as text (for the docs).
    trace_span_name: String,
    trace_attribute_docs: Vec<(String, String)>,
    r: Option<PyRoles>,
}

#[derive(Clone)]
/// What the top-level `__init__` of a package of several protocol modules needs.
struct TopCtx {
    header: String,
    package: String,
    package_version: String,
    package_doc: String,
    modules: Vec<String>,
    latest_module: String,
    /// The latest module's exports, re-exported.
    package_all: Vec<String>,
    top_all: Vec<String>,
}

/// `<content>.<field>`: the root union's content key and the first field of its first variant
/// (or `field` for a root that is not a union).
fn path_example(ir: &Ir) -> String {
    let Some(TypeDef::Union(root)) = ir.get(&ir.root) else { return "field".into() };
    match root.variants.first().and_then(|v| ir.get(&v.ty)) {
        Some(TypeDef::Struct(s)) if !s.fields.is_empty() => format!("{}.{}", root.content, s.fields[0].name),
        _ => root.content.clone(),
    }
}

/// The class of a union variant: its tag in PascalCase, or, when that names another type,
/// followed by the union's name.
fn variant_class(ir: &Ir, union: &Union, tag: &str) -> String {
    let plain = pascal_name(tag);
    if ir.get(&plain).is_some() || plain == identifier(&union.name) {
        identifier(&format!("{plain}{}", union.name))
    } else {
        plain
    }
}

/// Names a protocol module exports besides its models (from the shared modules).
const CODEC_EXPORTS: &[&str] = &[
    "ACCELERATED", "FRAME_HEADER_LEN", "FrameError", "JsonValue", "Timestamp", "decode_frame", "decode_message",
    "encode_frame", "encode_message", "read_frame", "write_frame",
];
/// What a protocol module with a runtime exports besides.
const RUNTIME_EXPORTS: &[&str] =
    &["DEFAULT_HIGH_WATER", "DEFAULT_MAX_IN_FLIGHT", "Handler", "Registry", "RetryError", "Runner", "parse_address", "serve"];
/// The shared codec helpers the generated decoders and encoders may call (each protocol's
/// `_codec` imports those its code uses).
const CODEC_HELPERS: &[&str] = &[
    "_MISSING", "_dec_bool", "_dec_dict", "_dec_float", "_dec_int", "_dec_list", "_dec_str", "_dec_str_map",
    "_enc_any", "_enc_any_list", "_enc_any_map", "_enc_bool", "_enc_float", "_enc_int", "_enc_items",
    "_enc_list", "_new",
];

/// What kind of name `n` is for isort-style orders: a constant (no lower case), a class (a
/// capital first), or anything else.
fn name_kind(n: &str) -> u8 {
    if n.chars().all(|c| !c.is_ascii_lowercase()) {
        0
    } else if n.starts_with(|c: char| c.is_ascii_uppercase()) {
        1
    } else {
        2
    }
}

/// The order of names in a `from … import (…)` (ruff's isort, order-by-type): constants, then
/// classes, then the rest, each sorted case-insensitively.
fn sort_imports(names: &mut [String]) {
    names.sort_by_key(|n| (name_kind(n), n.to_ascii_lowercase()));
}

/// The order of `__all__` (ruff's RUF022): constants, then classes, then the rest, each sorted.
fn sort_exports(names: &mut [String]) {
    names.sort_by_key(|n| (name_kind(n), n.clone()));
}


impl Ctx {
    fn build(protocol: &Protocol, package: &Package) -> Result<Ctx> {
        let ir = &protocol.ir;
        let m = Mapper { ir, levels: type_levels(ir) };
        let mut seen = BTreeSet::new();
        let mut enums = Vec::new();
        let mut structs = Vec::new();
        let mut unions = Vec::new();
        let mut model_names = Vec::new();
        for def in &ir.types {
            let name = identifier(def.name());
            if !seen.insert(name.clone()) {
                bail!("two IR types map to the Python name `{name}`");
            }
            model_names.push(name.clone());
            match def {
                TypeDef::Enum(e) => {
                    let mut members = Vec::new();
                    let mut member_names = BTreeSet::new();
                    for v in &e.values {
                        let member = constant_name(&v.value);
                        if !member_names.insert(member.clone()) {
                            bail!("two values of enum `{}` map to the Python member `{member}`", e.name);
                        }
                        members.push(ConstDef { name: member, value: py_str(&v.value), doc: docstring(&v.doc, &v.value, 4) });
                    }
                    enums.push(EnumDef { name, docstring: docstring(&e.doc, &e.name, 4), members });
                }
                TypeDef::Struct(s) => structs.push(Self::strukt(&m, s, &name)?),
                TypeDef::Union(u) => {
                    let def = Self::union(&m, ir, u, &name)?;
                    for v in &def.variants {
                        if !seen.insert(v.class.clone()) {
                            bail!("the variant class `{}` of `{}` clashes with another name", v.class, u.name);
                        }
                    }
                    unions.push(def);
                }
            }
        }
        let mut error_types = Vec::new();
        let mut error_names = BTreeSet::new();
        for v in &ir.meta.error_types {
            let name = constant_name(&v.value);
            if !error_names.insert(name.clone()) {
                bail!("two error types map to the Python constant `{name}`");
            }
            error_types.push(ConstDef { name, value: py_str(&v.value), doc: docstring(&v.doc, &v.value, 4) });
        }
        for u in &unions {
            model_names.extend(u.variants.iter().map(|v| v.class.clone()));
        }
        let has_version = ir.meta.version.is_some();
        let mut models_all: Vec<String> = ["MAX_FRAME_LEN", "MAX_NESTING_DEPTH", "ErrorType", "Nullable", "Omittable"]
            .iter()
            .map(|s| s.to_string())
            .chain(has_version.then(|| "PROTOCOL_VERSION".to_string()))
            .chain(model_names.iter().cloned())
            .collect();
        let r = match &protocol.roles {
            Some(roles) => Some(PyRoles::new(ir, roles)?),
            None => None,
        };
        let mut package_all: Vec<String> = models_all
            .iter()
            .cloned()
            .chain(CODEC_EXPORTS.iter().map(|s| s.to_string()))
            .chain(RUNTIME_EXPORTS.iter().filter(|_| r.is_some()).map(|s| s.to_string()))
            .collect();
        sort_exports(&mut models_all);
        sort_exports(&mut package_all);
        let mut codec_imports: Vec<String> = std::iter::once("MAX_FRAME_LEN".to_string()).chain(model_names.iter().cloned()).collect();
        sort_exports(&mut codec_imports);
        let code: String = structs
            .iter()
            .flat_map(|s| s.decode_lines.iter().chain(&s.encode_lines))
            .chain(unions.iter().flat_map(|u| u.decode_lines.iter().chain(&u.encode_lines)))
            .map(|line| format!("{line}\n"))
            .collect();
        let uses = |name: &str| {
            code.match_indices(name).any(|(at, _)| {
                let after = code[at + name.len()..].chars().next();
                !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        let mut codec_helpers: Vec<String> = CODEC_HELPERS
            .iter()
            .filter(|h| uses(h))
            .chain(["FRAME_HEADER_LEN", "FrameError", "Spec", "Tables", "_Bad", "check_length", "explain", "explain_encode", "frame_body"].iter())
            .map(|h| h.to_string())
            .collect();
        sort_imports(&mut codec_helpers);
        let codec_json_aliases: Vec<String> = [("encode_str_map", "_enc_str_map"), ("format_timestamp", "_enc_ts"), ("parse_timestamp", "_ts")]
            .iter()
            .filter(|(_, alias)| uses(alias))
            .map(|(name, alias)| format!("{name} as {alias}"))
            .collect();
        let mut glue_imports: Vec<String> = match &r {
            Some(r) => [&r.cancel_variant, &r.error, &r.outcome, &r.request, &r.request_variant, &r.response_variant, &r.status]
                .into_iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        sort_exports(&mut glue_imports);
        let situation_status = match &protocol.roles {
            Some(roles) => super::runtime_situations(roles)
                .into_iter()
                .map(|(message, status)| (py_str(&message.name), constant_name(status)))
                .collect(),
            None => Vec::new(),
        };
        let up = if protocol.module.is_some() { ".." } else { "." };
        let mut init_imports: Vec<(String, Vec<String>)> = vec![
            (format!("{up}_frames"), vec!["FRAME_HEADER_LEN".into(), "FrameError".into()]),
            (format!("{up}_json"), vec!["ACCELERATED".into(), "JsonValue".into(), "Timestamp".into()]),
            (
                "._codec".into(),
                ["decode_frame", "decode_message", "encode_frame", "encode_message", "read_frame", "write_frame"]
                    .map(String::from)
                    .to_vec(),
            ),
            ("._models".into(), models_all.clone()),
        ];
        if r.is_some() {
            init_imports.push((
                format!("{up}_runtime"),
                ["DEFAULT_HIGH_WATER", "DEFAULT_MAX_IN_FLIGHT", "RetryError", "Runner", "parse_address", "serve"]
                    .map(String::from)
                    .to_vec(),
            ));
            init_imports.push(("._glue".into(), vec!["Handler".into(), "Registry".into()]));
        }
        // isort: the farther parent first (`..` before `.`), then by module name.
        init_imports.sort_by_key(|(module, _)| {
            let dots = module.chars().take_while(|c| *c == '.').count();
            (usize::MAX - dots, module.trim_start_matches('.').to_string())
        });
        let mut types_used = Vec::new();
        for def in &ir.types {
            if let TypeDef::Struct(s) = def {
                types_used.extend(s.fields.iter().map(|f| f.ty.clone()));
            }
        }
        fn contains(ty: &Type, want: &dyn Fn(&Type) -> bool) -> bool {
            want(ty)
                || match ty {
                    Type::Array { items } => contains(items, want),
                    Type::Map { values } => contains(values, want),
                    _ => false,
                }
        }
        let uses_timestamps = types_used.iter().any(|t| contains(t, &|t| *t == Type::Timestamp));
        let uses_any = types_used.iter().any(|t| contains(t, &|t| *t == Type::Any));
        let version_text = match &ir.meta.version {
            Some(v) => format!("\"{v}\""),
            None => format!("`{}`", ir.root),
        };
        let distribution = package.name.clone();
        let import_name = identifier(&package.name.replace('-', "_"));
        Ok(Ctx {
            header: protocol.provenance(package).header("#"),
            shared_header: package.provenance().header("#"),
            module_doc: match &protocol.module {
                Some(module) => format!(
                    "Protocol {version_text} of the {distribution} bindings (``{import_name}.{module}``): its types, frames{}.",
                    if r.is_some() { " and a `Registry` served speaking it" } else { "" }
                ),
                None => format!(
                    "{distribution}: bindings for the `{}` protocol: its types and frames{}.",
                    ir.root,
                    if r.is_some() { ", and an asyncio runner runtime" } else { "" }
                ),
            },
            description: format!(
                "{} bindings generated from {}: types, frames{}",
                if package.protocols.iter().any(|p| p.builtin.is_some()) { "RRQ runner" } else { "Protocol" },
                if package.protocols.len() > 1 { "its protocol schemas" } else { "its protocol schema" },
                if r.is_some() { " and an asyncio runner runtime" } else { "" }
            ),
            orchestrators: ir.meta.orchestrators.clone().unwrap_or_else(|| "—".into()),
            path_example: path_example(ir),
            up: up.into(),
            init_imports,
            uses_timestamps,
            uses_any,
            module: protocol.module.clone(),
            version_text,
            version_literal: ir.meta.version.as_deref().map(py_str),
            protocol_version_lit: py_str(ir.meta.version.as_deref().unwrap_or_default()),
            codec_helpers,
            codec_json_aliases,
            glue_imports,
            situation_status,
            models_all,
            package_all,
            codec_imports,
            distribution,
            package: import_name,
            package_version: package.version.clone(),
            max_frame_len: ir.meta.max_frame_len,
            max_nesting_depth: ir.meta.max_nesting_depth,
            env_tcp_socket: ENV_TCP_SOCKET.into(),
            env_accelerate: ENV_ACCELERATE.into(),
            env_accelerate_lit: py_str(ENV_ACCELERATE),
            frame_header_len: rrq_protocol::FRAME_HEADER_LEN,
            root_spec: m.spec(&Type::Named { name: ir.root.clone() })?,
            fast_root: m.fast_annotation(&Type::Named { name: ir.root.clone() })?,
            fast_root_lines: unions.iter().find(|u| u.name == identifier(&ir.root)).map(|u| u.fast_root.clone()),
            error_types,
            enums,
            structs,
            unions,
            root: identifier(&ir.root),
            error_messages: ir
                .meta
                .error_messages
                .iter()
                .map(|m| MessageRow { name: py_str(&m.name), text: py_str(&m.template), error_type: py_str(&m.error_type) })
                .collect(),
            frame_messages: frame_messages(ir)
                .iter()
                .map(|(name, text)| MessageRow { name: py_str(name), text: py_str(text), error_type: String::new() })
                .collect(),
            trace_constants: trace_consts(super::trace_constants(), ""),
            trace_attributes: trace_consts(super::trace_attributes(), ""),
            trace_outcomes: trace_consts(super::trace_outcomes(), "OUTCOME_"),
            trace_span_name: super::TRACE_SPAN_NAME.into(),
            trace_attribute_docs: super::trace_attributes().into_iter().map(|n| (n.value, n.doc.to_string())).collect(),
            r,
        })
    }

    fn strukt(m: &Mapper, s: &Struct, name: &str) -> Result<StructDef> {
        let mut fields = Vec::new();
        let mut attrs = BTreeSet::new();
        let mut decode = vec!["if type(o) is not dict:".to_string(), "    raise _Bad".into(), "g = o.get".into()];
        let mut args = Vec::new();
        let all_written = s.fields.iter().all(|f| f.always_written);
        let mut encode_pre = Vec::new();
        let mut encode_fmt = String::from("{{");
        let mut fast_fields = Vec::new();
        let mut fast_convert = vec![format!("r = _new({name})")];
        let mut fast_checks: Vec<String> = Vec::new();
        for (i, f) in s.fields.iter().enumerate() {
            let attr = identifier(&f.name);
            if !attrs.insert(attr.clone()) || attr.starts_with("__") {
                bail!("field `{}` of `{}` maps to an unusable Python attribute `{attr}`", f.name, s.name);
            }
            let at = format!("fields of {}", s.name);
            let ty = m.annotation(&f.ty);
            let annotation = if f.nullable {
                if f.always_written { format!("Nullable[{ty}]") } else { format!("Omittable[{ty}]") }
            } else {
                ty
            };
            let declaration = if f.required {
                format!("{attr}: {annotation}")
            } else {
                match &f.default {
                    None | Some(Value::Null) => format!("{attr}: {annotation} = None"),
                    Some(Value::Array(a)) if a.is_empty() => format!("{attr}: {annotation} = field(default_factory=list)"),
                    Some(Value::Object(o)) if o.is_empty() => format!("{attr}: {annotation} = field(default_factory=dict)"),
                    Some(d @ (Value::Array(_) | Value::Object(_))) => {
                        format!("{attr}: {annotation} = field(default_factory=lambda: {})", py_literal(d))
                    }
                    Some(d) => format!("{attr}: {annotation} = {}", py_literal(d)),
                }
            };
            let key = py_str(&f.name);
            let spec = m.spec(&f.ty).with_context(|| at.clone())?;
            fields.push(FieldDef {
                declaration,
                docstring: docstring(&f.doc, &f.name, 4),
                spec_row: format!(
                    "({key}, {}, {spec}, {}, {}, {}, {}),",
                    py_str(&attr),
                    py_bool(f.required),
                    py_bool(f.nullable),
                    py_bool(f.always_written),
                    py_str(&field_expectation(m.ir, f).with_context(|| at.clone())?)
                ),
            });

            // Decoding: absent, null and present values, as serde reads them.
            let v = format!("v{i}");
            let check = m.decode_check(&f.ty, &v);
            let accepts_null = f.ty == Type::Any;
            let not_null = format!("{v} is not None");
            match &f.default {
                Some(d) if !d.is_null() && !f.required => {
                    let immutable = !matches!(d, Value::Array(_) | Value::Object(_));
                    if immutable && !f.nullable && !matches!(check, Check::Assign(_)) {
                        decode.push(format!("{v} = g({key}, {})", py_literal(d)));
                        decode.extend(check.lines("if", None));
                    } else {
                        decode.push(format!("{v} = g({key}, _MISSING)"));
                        decode.push(format!("if {v} is _MISSING:"));
                        decode.push(format!("    {v} = {}", py_literal(d)));
                        decode.extend(check.lines("elif", f.nullable.then_some(not_null.as_str())));
                    }
                }
                _ if f.nullable => {
                    decode.push(format!("{v} = g({key})"));
                    if f.required {
                        decode.push(format!("if {v} is None and {key} not in o:"));
                        decode.push("    raise _Bad".into());
                    }
                    decode.extend(check.lines("if", Some(&not_null)));
                }
                _ => {
                    if accepts_null {
                        decode.push(format!("{v} = g({key}, _MISSING)"));
                        decode.push(format!("if {v} is _MISSING:"));
                        decode.push("    raise _Bad".into());
                    } else if matches!(check, Check::Assign(_)) {
                        // The decoder it goes to refuses a missing value (`None`) anyway: a
                        // missing key raises here instead (KeyError: the slow path reports it).
                        decode.push(format!("{v} = {}", m.decode_expr(&f.ty, &format!("o[{key}]"), 0)));
                    } else {
                        decode.push(format!("{v} = g({key})"));
                    }
                    if !matches!(check, Check::Assign(_)) {
                        decode.extend(check.lines("if", None));
                    }
                }
            }
            args.push(format!("{attr} = {v}"));

            // The accelerated decoder: the shadow field (a default only where the stdlib decoder
            // fills one in: a non-null default, or None for a nullable field) and its conversion.
            let mut shadow_ty = m.fast_annotation(&f.ty).with_context(|| at.clone())?;
            if f.nullable {
                shadow_ty = format!("{shadow_ty} | None");
            }
            let shadow_default = if f.required {
                None
            } else {
                match &f.default {
                    Some(Value::Array(a)) if a.is_empty() => Some("field(default_factory=list)".to_string()),
                    Some(Value::Object(o)) if o.is_empty() => Some("field(default_factory=dict)".to_string()),
                    Some(d @ (Value::Array(_) | Value::Object(_))) => Some(format!("field(default_factory=lambda: {})", py_literal(d))),
                    Some(d) if !d.is_null() => Some(py_literal(d)),
                    _ if f.nullable => Some("None".to_string()),
                    _ => None,
                }
            };
            let renamed = attr != f.name;
            fast_fields.push(match (shadow_default, renamed) {
                (None, false) => format!("{attr}: {shadow_ty}"),
                (Some(d), false) => format!("{attr}: {shadow_ty} = {d}"),
                (None, true) => format!("{attr}: {shadow_ty} = field(name={key})"),
                (Some(d), true) if d.starts_with("field(") => {
                    format!("{attr}: {shadow_ty} = {}, name={key})", &d[..d.len() - 1])
                }
                (Some(d), true) => format!("{attr}: {shadow_ty} = field(default={d}, name={key})"),
            });
            if let Some(cond) = m.fast_check(&f.ty, &format!("s.{attr}"), m.level(&s.name) + 1, 0) {
                // (`and` binds tighter than the `or` that joins the checks.)
                fast_checks.push(if f.nullable { format!("s.{attr} is not None and {cond}") } else { cond });
            }
            if !m.fast_converts(&f.ty) {
                fast_convert.push(format!("r.{attr} = s.{attr}"));
            } else if f.nullable {
                fast_convert.push(format!("{v} = s.{attr}"));
                fast_convert.push(format!("r.{attr} = None if {v} is None else {}", m.fast_convert(&f.ty, &v, 0)));
            } else {
                fast_convert.push(format!("r.{attr} = {}", m.fast_convert(&f.ty, &format!("s.{attr}"), 0)));
            }

            // Encoding: declaration order; `null` or omission for fields without a value.
            let key_json = json_str(&f.name);
            if all_written {
                let value = if f.nullable {
                    encode_pre.push(format!("{v} = v.{attr}"));
                    format!("\"null\" if {v} is None else {}", m.encode_expr(&f.ty, &v, 0))
                } else {
                    m.encode_expr(&f.ty, &format!("v.{attr}"), 0)
                };
                encode_fmt.push_str(&format!("{}{}:{{{value}}}", if i == 0 { "" } else { "," }, fstring_text(&key_json)));
            } else if f.nullable && !f.always_written {
                encode_pre.push(format!("{v} = v.{attr}"));
                encode_pre.push(format!("if {v} is not None:"));
                encode_pre.push(format!("    p({} + {})", py_str_single(&format!("{key_json}:")), m.encode_expr(&f.ty, &v, 0)));
            } else if f.nullable {
                encode_pre.push(format!("{v} = v.{attr}"));
                encode_pre.push(format!(
                    "p({} + (\"null\" if {v} is None else {}))",
                    py_str_single(&format!("{key_json}:")),
                    m.encode_expr(&f.ty, &v, 0)
                ));
            } else {
                encode_pre.push(format!(
                    "p({} + {})",
                    py_str_single(&format!("{key_json}:")),
                    m.encode_expr(&f.ty, &format!("v.{attr}"), 0)
                ));
            }
        }
        // Built without running `__init__` (every field is set here): noticeably faster.
        decode.push(format!("r = _new({name})"));
        decode.extend(args.iter().map(|a| format!("r.{a}")));
        decode.push("return r".into());
        let encode_lines = if all_written {
            encode_fmt.push_str("}}");
            let mut lines = encode_pre;
            lines.push(format!("return f'{encode_fmt}'"));
            lines
        } else {
            let mut lines = vec!["parts: list[str] = []".to_string(), "p = parts.append".into()];
            lines.extend(encode_pre);
            lines.push("return \"{\" + \",\".join(parts) + \"}\"".into());
            lines
        };
        fast_convert.push("return r".into());
        let fast_check = if fast_checks.is_empty() {
            vec!["return False".to_string()]
        } else {
            let mut lines = vec!["return (".to_string()];
            for (i, c) in fast_checks.iter().enumerate() {
                lines.push(format!("    {}{c}", if i == 0 { "" } else { "or " }));
            }
            lines.push(")".into());
            lines
        };
        Ok(StructDef {
            name: name.to_string(),
            docstring: docstring(&s.doc, &s.name, 4),
            fields,
            decode_lines: decode,
            encode_lines,
            fast_fields,
            fast_convert,
            fast_check,
        })
    }

    fn union(m: &Mapper, ir: &Ir, u: &Union, name: &str) -> Result<UnionDef> {
        let content_attr = identifier(&u.content);
        let mut variants = Vec::new();
        let mut decode = vec![
            "if type(o) is not dict:".to_string(),
            "    raise _Bad".into(),
            format!("tag = o.get({})", py_str(&u.tag)),
        ];
        let mut encode = Vec::new();
        let mut table = Vec::new();
        let mut fast_variants = Vec::new();
        let mut fast_convert = vec!["t = type(s)".to_string()];
        let mut fast_check = vec!["t = type(s)".to_string()];
        let mut fast_root = vec!["t = type(s)".to_string()];
        for (i, v) in u.variants.iter().enumerate() {
            let class = variant_class(ir, u, &v.tag_value);
            let ty = identifier(&v.ty);
            m.def(&v.ty)?;
            let tag_literal = py_str(&v.tag_value);
            decode.push(format!("{} tag == {tag_literal}:", if i == 0 { "if" } else { "elif" }));
            decode.push(format!("    return {class}({})", m.decode_expr(&Type::Named { name: v.ty.clone() }, &format!("o[{}]", py_str(&u.content)), 0)));
            encode.push(format!("if isinstance(m, {class}):"));
            let prefix = format!("{{{}:{},{}:", json_str(&u.tag), json_str(&v.tag_value), json_str(&u.content));
            encode.push(format!(
                "    return {} + {} + \"}}\"",
                py_str_single(&prefix),
                m.encode_expr(&Type::Named { name: v.ty.clone() }, &format!("m.{content_attr}"), 0)
            ));
            table.push(format!("{tag_literal}: ({class}, {}),", m.spec(&Type::Named { name: v.ty.clone() })?));
            let content_ty = Type::Named { name: v.ty.clone() };
            let shadow = format!("_M_{name}_{i}");
            let content_field = if content_attr == u.content {
                format!("{content_attr}: {}", m.fast_annotation(&content_ty)?)
            } else {
                format!("{content_attr}: {} = field(name={})", m.fast_annotation(&content_ty)?, py_str(&u.content))
            };
            fast_variants.push((shadow.clone(), py_str(&u.tag), tag_literal.clone(), content_field));
            fast_convert.push(format!("{} t is {shadow}:", if i == 0 { "if" } else { "elif" }));
            // Built without running `__init__`, as the stdlib decoders build structs.
            fast_convert.push(format!("    r = _new({class})"));
            fast_convert.push(format!("    r.{content_attr} = {}", m.fast_convert(&content_ty, &format!("s.{content_attr}"), 0)));
            fast_convert.push("    return r".into());
            fast_check.push(format!("{} t is {shadow}:", if i == 0 { "if" } else { "elif" }));
            let level = m.level(&u.name) + 1;
            let cond = m.fast_check(&content_ty, &format!("s.{content_attr}"), level, 0).unwrap_or_else(|| "False".into());
            fast_check.push(format!("    return {cond}"));
            fast_root.push(format!("{} t is {shadow}:", if i == 0 { "if" } else { "elif" }));
            fast_root.push(format!("    c = s.{content_attr}"));
            if let Some(cond) = m.fast_check(&content_ty, "c", level, 0) {
                fast_root.push(format!("    if {cond} and msgspec_may_differ(body):"));
                fast_root.push("        return None".into());
            }
            fast_root.push(format!("    r = _new({class})"));
            fast_root.push(format!("    r.{content_attr} = {}", m.fast_convert(&content_ty, "c", 0)));
            fast_root.push("    return r".into());
            variants.push(VariantDef {
                class,
                tag_literal,
                content_attr: content_attr.clone(),
                content_type: ty,
                docstring: docstring(&v.doc, &v.tag_value, 4),
                content_docstring: docstring(&v.content_doc, &u.content, 4),
            });
        }
        decode.push("raise _Bad".into());
        encode.push("raise _Bad".into());
        fast_convert.push("raise _Bad".into());
        fast_check.push("return True".into());
        fast_root.push("return None".into());
        let members = variants.iter().map(|v| v.class.clone()).collect::<Vec<_>>().join(" | ");
        Ok(UnionDef {
            name: name.to_string(),
            docstring: docstring(&u.doc, &u.name, 0),
            members,
            spec_row: format!(
                "({}, {}, {}, {{{}}}, {})",
                py_str(&u.tag),
                py_str(&u.content),
                py_str(&content_attr),
                table.join(" "),
                py_str(&tag_expectation(u))
            ),
            variants,
            decode_lines: decode,
            encode_lines: encode,
            fast_variants,
            fast_convert,
            fast_check,
            fast_root,
        })
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

// ---------------------------------------------------------------------------------------------
// Templates

macro_rules! templates {
    ($($ty:ident => $path:literal),* $(,)?) => {
        $(
            #[derive(Template)]
            #[template(path = $path, escape = "none")]
            struct $ty<'a> {
                c: &'a Ctx,
            }
        )*
    };
}

templates! {
    PyTyped => "python/py.typed",
    Json => "python/package/_json.py",
    Frames => "python/package/_frames.py",
    Text => "python/package/_text.py",
    VersionInit => "python/version/__init__.py",
    Models => "python/version/_models.py",
    Codec => "python/version/_codec.py",
    Fast => "python/version/_fast.py",
    Messages => "python/version/_messages.py",
    Main => "python/package/__main__.py",
    Lifecycle => "python/package/_lifecycle.py",
}

/// Templates that exist only with a runtime: they also see the roles.
macro_rules! runtime_templates {
    ($($ty:ident => $path:literal),* $(,)?) => {
        $(
            #[derive(Template)]
            #[template(path = $path, escape = "none")]
            struct $ty<'a> {
                c: &'a Ctx,
                r: &'a PyRoles,
            }
        )*
    };
}

runtime_templates! {
    Runtime => "python/package/_runtime.py",
    Glue => "python/version/_glue.py",
}

#[derive(Template)]
#[template(path = "python/package/otel.py", escape = "none")]
struct Otel<'a> {
    c: &'a Ctx,
}

#[derive(Template)]
#[template(path = "python/pyproject.toml", escape = "none")]
struct Pyproject<'a> {
    c: &'a Ctx,
    modules: &'a [Ctx],
}

#[derive(Template)]
#[template(path = "python/README.md", escape = "none")]
struct Readme<'a> {
    c: &'a Ctx,
    modules: &'a [Ctx],
}

#[derive(Template)]
#[template(path = "python/package/__init__.py", escape = "none")]
struct TopInit<'a> {
    c: &'a TopCtx,
}

/// Renders the Python package; every path starts with `python/`. Shared modules (`_json`,
/// `_frames`, `_text`, `_runtime`, `__main__`) are rendered once; each protocol gets its own
/// module (`<package>/v1/`, …) with its models, codec, messages and runtime binding, and the
/// top level re-exports the latest. A lone schema without a protocol version is rendered at
/// the package's root.
pub fn render(package: &Package) -> Result<Vec<GeneratedFile>> {
    let ctxs = package
        .protocols
        .iter()
        .map(|p| Ctx::build(p, package).with_context(|| format!("mapping the IR of `{}` to Python", p.ir.root)))
        .collect::<Result<Vec<_>>>()?;
    let latest = ctxs.last().expect("a package has a protocol");
    for c in &ctxs {
        if (c.max_frame_len, c.max_nesting_depth) != (latest.max_frame_len, latest.max_nesting_depth) {
            bail!("the schemas of one package must share max_frame_len and max_nesting_depth (the JSON reader is shared)");
        }
    }
    // The shared files carry every schema's provenance.
    let shared = Ctx { header: latest.shared_header.clone(), ..latest.clone() };
    let shared = &shared;
    let pkg = format!("python/{}", latest.package);
    let mut files = vec![
        ("python/pyproject.toml".to_string(), Pyproject { c: shared, modules: &ctxs }.render()?),
        ("python/README.md".to_string(), Readme { c: shared, modules: &ctxs }.render()?),
        (format!("{pkg}/py.typed"), PyTyped { c: shared }.render()?),
        (format!("{pkg}/_json.py"), Json { c: shared }.render()?),
        (format!("{pkg}/_frames.py"), Frames { c: shared }.render()?),
        (format!("{pkg}/_text.py"), Text { c: shared }.render()?),
    ];
    if let Some(r) = shared.r.as_ref().filter(|_| package.has_runtime()) {
        files.push((format!("{pkg}/_runtime.py"), Runtime { c: shared, r }.render()?));
        files.push((format!("{pkg}/__main__.py"), Main { c: shared }.render()?));
        files.push((format!("{pkg}/_lifecycle.py"), Lifecycle { c: shared }.render()?));
        files.push((format!("{pkg}/otel.py"), Otel { c: shared }.render()?));
    }
    for c in &ctxs {
        let dir = match &c.module {
            Some(module) => format!("{pkg}/{module}"),
            None => pkg.clone(),
        };
        files.push((format!("{dir}/__init__.py"), VersionInit { c }.render()?));
        files.push((format!("{dir}/_models.py"), Models { c }.render()?));
        files.push((format!("{dir}/_codec.py"), Codec { c }.render()?));
        files.push((format!("{dir}/_fast.py"), Fast { c }.render()?));
        files.push((format!("{dir}/_messages.py"), Messages { c }.render()?));
        if let Some(r) = c.r.as_ref().filter(|_| package.has_runtime()) {
            files.push((format!("{dir}/_glue.py"), Glue { c, r }.render()?));
        }
    }
    if let Some(latest_module) = &latest.module {
        let modules: Vec<String> = ctxs.iter().filter_map(|c| c.module.clone()).collect();
        let mut top_all: Vec<String> = latest.package_all.iter().cloned().chain(modules.iter().cloned()).collect();
        sort_exports(&mut top_all);
        let top = TopCtx {
            header: latest.shared_header.clone(),
            package: latest.package.clone(),
            package_version: latest.package_version.clone(),
            package_doc: format!(
                "{}: bindings for the RRQ runner protocol{}.",
                latest.distribution,
                if package.has_runtime() { ": each version's types and frames, and an asyncio runner runtime" } else { "" }
            ),
            modules,
            latest_module: latest_module.clone(),
            package_all: latest.package_all.clone(),
            top_all,
        };
        files.push((format!("{pkg}/__init__.py"), TopInit { c: &top }.render()?));
    }
    Ok(files
        .drain(..)
        .map(|(path, mut text)| {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            GeneratedFile::new(path, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(identifier("class"), "class_");
        assert_eq!(identifier("a-b"), "a_b");
        assert_eq!(identifier("1x"), "_1x");
        assert_eq!(constant_name("handler_not_found"), "HANDLER_NOT_FOUND");
        assert_eq!(constant_name("camelCase"), "CAMEL_CASE");
        assert_eq!(pascal_name("request"), "Request");
        assert_eq!(pascal_name("dry_run"), "DryRun");
    }

    #[test]
    fn literals() {
        assert_eq!(py_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(py_str_single("{\"k\":"), "'{\"k\":'");
        assert_eq!(py_literal(&serde_json::json!({"a": [1, 2.5, null, true]})), "{\"a\": [1, 2.5, None, True]}");
        assert_eq!(docstring("one", "x", 4), "\"\"\"one\"\"\"");
        assert_eq!(docstring("one\ntwo", "x", 4), "\"\"\"one\n    two\n    \"\"\"");
    }
}
