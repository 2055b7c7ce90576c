//! TypeScript bindings (`generated/typescript/`): the npm package `rrq-runner`.
//!
//! This module holds the logic: it maps IR types to TypeScript types (a decoded shape with
//! defaults filled in, and an `…Init` shape with optional fields for encoding), writes the
//! per-type reader (validator) and writer (canonical encoder) expressions, and resolves the
//! names the runner runtime needs from the IR. The templates under `templates/typescript/`
//! hold only TypeScript idiom and loop over the structs prepared here.

use super::{expectation, field_expectation, frame_messages, integer_bounds, one_of, tag_expectation, Roles, RuntimeMessage};
use crate::ir::{EnumValue, Field, Ir, Type, TypeDef};
use crate::output::GeneratedFile;
use crate::Package;
use anyhow::{anyhow, bail, Context, Result};
use askama::Template;
use serde_json::Value;

/// Folder of the package under `generated/`.
const ROOT: &str = "typescript";
/// Name of the npm package.
const PACKAGE_NAME: &str = "rrq-runner";
/// Largest integer a JavaScript `number` holds exactly.
const MAX_SAFE: i128 = (1 << 53) - 1;
/// Properties every JavaScript object inherits: a field of that name is read as an own property.
const INHERITED: &[&str] = &[
    "__proto__", "constructor", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
    "toLocaleString", "toString", "valueOf", "__defineGetter__", "__defineSetter__",
    "__lookupGetter__", "__lookupSetter__",
];

// ---------------------------------------------------------------------------------------------
// Names and literals

/// A JavaScript string literal (JSON's string syntax is valid JavaScript).
fn lit(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property name in a type or object literal.
fn prop(name: &str) -> String {
    if is_identifier(name) { name.to_string() } else { lit(name) }
}

/// Reads property `name` of the object expression `object`.
fn access(object: &str, name: &str) -> String {
    if INHERITED.contains(&name) {
        format!("own({object}, {})", lit(name))
    } else if is_identifier(name) {
        format!("{object}.{name}")
    } else {
        format!("{object}[{}]", lit(name))
    }
}

/// `handler_not_found` → `HandlerNotFound`.
fn pascal(value: &str) -> String {
    let mut out = super::pascal_case(value);
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A JSDoc block for `doc`, indented by `indent`; empty when there is no doc.
fn jsdoc(doc: &str, indent: &str) -> String {
    if doc.trim().is_empty() {
        return String::new();
    }
    let mut out = format!("{indent}/**\n");
    for line in doc.trim().lines() {
        let line = line.replace("*/", "*\\/");
        if line.is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {line}\n"));
        }
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// A JavaScript integer literal: a `number` when safe, else a `bigint`.
fn int_literal(value: i128) -> String {
    if (-MAX_SAFE..=MAX_SAFE).contains(&value) { value.to_string() } else { format!("{value}n") }
}

fn safe_bounds(min: &Option<i128>, max: &Option<i128>) -> bool {
    let (lo, hi) = integer_bounds(min, max);
    lo >= -MAX_SAFE && hi <= MAX_SAFE
}

// ---------------------------------------------------------------------------------------------
// Type mapping

/// Whether the named type is a struct or union (it has a separate `…Init` shape).
fn has_init(ir: &Ir, name: &str) -> bool {
    matches!(ir.get(name), Some(TypeDef::Struct(_) | TypeDef::Union(_)))
}

/// The TypeScript type of a decoded value.
fn decoded_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Integer { min, max } => if safe_bounds(min, max) { "number".into() } else { "number | bigint".into() },
        Type::Float => "number".into(),
        Type::Timestamp => "Timestamp".into(),
        Type::Any => "JsonValue".into(),
        Type::Array { items } => format!("Array<{}>", decoded_type(items)),
        Type::Map { values } => format!("{{ [key: string]: {} }}", decoded_type(values)),
        Type::Named { name } => name.clone(),
    }
}

/// The TypeScript type a value given for encoding may have.
fn init_type(ir: &Ir, ty: &Type) -> String {
    match ty {
        Type::Integer { min, max } if !safe_bounds(min, max) => "number | bigint".into(),
        Type::Float => "number | JsonFloat".into(),
        Type::Timestamp => "Timestamp | Date".into(),
        Type::Any => "JsonInput".into(),
        Type::Array { items } => format!("ReadonlyArray<{}>", init_type(ir, items)),
        Type::Map { values } => format!("{{ readonly [key: string]: {} }}", init_type(ir, values)),
        Type::Named { name } if has_init(ir, name) => format!("{name}Init"),
        other => decoded_type(other),
    }
}

/// An expression reading the JSON value `v` (present, not `undefined`) as `ty`, with errors
/// at `up` / `key` saying `expected` (a string literal) was expected. `depth` names a fresh
/// variable suffix for nested closures.
fn read_expr(ir: &Ir, ty: &Type, v: &str, up: &str, key: &str, expected: &str, depth: usize) -> Result<String> {
    let e = expected;
    Ok(match ty {
        Type::Bool => format!("readBool({v}, {up}, {key}, {e})"),
        Type::String => format!("readString({v}, {up}, {key}, {e})"),
        Type::Integer { min, max } => {
            let (lo, hi) = integer_bounds(min, max);
            if safe_bounds(min, max) {
                format!("readSafeInteger({v}, {up}, {key}, {lo}, {hi}, {e})")
            } else {
                format!("readInteger({v}, {up}, {key}, {lo}n, {hi}n, {e})")
            }
        }
        Type::Float => format!("readFloat({v}, {up}, {key}, {e})"),
        Type::Timestamp => format!("readTimestamp({v}, {up}, {key}, {e})"),
        Type::Any => format!("({v} as JsonValue)"),
        Type::Array { items } if **items == Type::Any => format!("readAnyArray({v}, {up}, {key}, {e})"),
        Type::Map { values } if **values == Type::Any => format!("readAnyMap({v}, {up}, {key}, {e})"),
        Type::Array { items } => {
            let (x, p, i) = (format!("x{depth}"), format!("p{depth}"), format!("i{depth}"));
            let inner = read_expr(ir, items, &x, &p, &i, &lit(&expectation(ir, items)?), depth + 1)?;
            format!("readArray({v}, {up}, {key}, {e}, ({x}, {p}, {i}) => {inner})")
        }
        Type::Map { values } => {
            let (x, p, k) = (format!("x{depth}"), format!("p{depth}"), format!("k{depth}"));
            let inner = read_expr(ir, values, &x, &p, &k, &lit(&expectation(ir, values)?), depth + 1)?;
            format!("readMap({v}, {up}, {key}, {e}, ({x}, {p}, {k}) => {inner})")
        }
        Type::Named { name } => format!("read{name}({v}, {up}, {key}, {e})"),
    })
}

/// An expression writing the value `v` (present) as `ty`: its canonical JSON text. `level` is
/// the nesting level of the container holding the value (the message object is level 1).
fn write_expr(ty: &Type, v: &str, up: &str, key: &str, level: &str, depth: usize) -> String {
    match ty {
        Type::Bool => format!("writeBool({v}, {up}, {key})"),
        Type::String => format!("writeStr({v}, {up}, {key})"),
        Type::Integer { min, max } => {
            let (lo, hi) = integer_bounds(min, max);
            format!("writeInteger({v}, {up}, {key}, {lo}n, {hi}n)")
        }
        Type::Float => format!("writeFloat({v}, {up}, {key})"),
        Type::Timestamp => format!("writeTimestamp({v}, {up}, {key})"),
        Type::Any => format!("writeAny({v}, {up}, {key}, {level}, MAX_NESTING_DEPTH)"),
        Type::Array { items } => {
            let (x, p, i) = (format!("x{depth}"), format!("p{depth}"), format!("i{depth}"));
            let inner = write_expr(items, &x, &p, &i, &format!("{level} + 1"), depth + 1);
            format!("writeArray({v}, {up}, {key}, ({x}, {p}, {i}) => {inner})")
        }
        Type::Map { values } => {
            let (x, p, k) = (format!("x{depth}"), format!("p{depth}"), format!("k{depth}"));
            let inner = write_expr(values, &x, &p, &k, &format!("{level} + 1"), depth + 1);
            format!("writeMap({v}, {up}, {key}, ({x}, {p}, {k}) => {inner})")
        }
        Type::Named { name } => format!("write{name}({v}, {up}, {key}, {level} + 1)"),
    }
}

/// A JavaScript expression building a default value of `ty` (a fresh object each time).
fn default_expr(ty: &Type, value: &Value, at: &str) -> Result<String> {
    Ok(match (ty, value) {
        (Type::String, Value::String(s)) => lit(s),
        (Type::Bool, Value::Bool(b)) => b.to_string(),
        (Type::Integer { .. }, Value::Number(n)) => {
            let v = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
                .ok_or_else(|| anyhow!("{at}: integer default `{n}` is not an integer"))?;
            int_literal(v)
        }
        (Type::Float, Value::Number(n)) => {
            let f = n.as_f64().ok_or_else(|| anyhow!("{at}: float default `{n}`"))?;
            serde_json::to_string(&f)?
        }
        (Type::Any, v) => any_literal(v),
        (Type::Array { items }, Value::Array(values)) => {
            let items: Result<Vec<String>> = values.iter().map(|v| default_expr(items, v, at)).collect();
            format!("[{}]", items?.join(", "))
        }
        (Type::Map { values }, Value::Object(map)) => {
            let entries: Result<Vec<String>> =
                map.iter().map(|(k, v)| Ok(format!("{}: {}", lit(k), default_expr(values, v, at)?))).collect();
            format!("{{{}}}", entries?.join(", "))
        }
        (Type::Named { .. }, Value::String(s)) => lit(s),
        (ty, v) => bail!("unsupported default at {at}: `{v}` for a field of type {ty:?}"),
    })
}

/// A decoded-shape literal of any JSON value (integral floats as `JsonFloat`, big integers as
/// `bigint`), as the decoders would produce it.
fn any_literal(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 { format!("new JsonFloat({})", serde_json::to_string(&f).unwrap_or_default()) } else { n.to_string() }
        }
        Value::Number(n) => {
            let v = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).unwrap_or(0);
            int_literal(v)
        }
        Value::Array(items) => format!("[{}]", items.iter().map(any_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", lit(k), any_literal(v))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Template models

/// A field, with everything the templates need already written out.
struct FieldTs {
    /// JSDoc block (indented for an interface member).
    doc: String,
    /// Property name as declared (quoted when not an identifier).
    prop: String,
    /// Wire name as a string literal.
    key: String,
    /// Decoded declaration, e.g. `job_id: string` or `result?: JsonValue`.
    decoded_decl: String,
    /// Encoding-input declaration, e.g. `deadline?: Timestamp | Date | null`.
    init_decl: String,
    /// Reads the raw value `v` (maybe `undefined`) of this field from object `o` at `path`.
    read: String,
    /// Reads a present raw value `v` (for the document-order error pass).
    read_present: String,
    /// Statement appending `,"name":value` to `out` (or nothing when the field is omitted).
    write: String,
    /// Whether the field must be present (its `missing` check).
    required: bool,
    /// Expression of the raw value of this field in object `o`.
    get: String,
    /// The expectation of its value in error messages, as a literal.
    expected: String,
}

struct StructTs {
    name: String,
    doc: String,
    /// JSDoc of the `…Init` shape.
    init_doc: String,
    fields: Vec<FieldTs>,
}

struct EnumMemberTs {
    doc: String,
    key: String,
    value: String,
}

struct EnumTs {
    name: String,
    doc: String,
    members: Vec<EnumMemberTs>,
    /// `"a" | "b"`.
    union: String,
    /// Its expectation in error messages (`one of "a", "b"`), as a literal.
    expected: String,
}

struct VariantTs {
    doc: String,
    /// The JSON text before the content, e.g. `{"type":"request","payload":`, as a literal.
    prefix: String,
    tag: String,
    ty: String,
    content_doc: String,
    /// The expectation of the content, as a literal.
    expected: String,
}

struct UnionTs {
    name: String,
    doc: String,
    tag_prop: String,
    tag_key: String,
    content_prop: String,
    content_key: String,
    tag_access: String,
    content_access: String,
    variants: Vec<VariantTs>,
    expected: String,
}

impl FieldTs {
    fn new(ir: &Ir, owner: &str, field: &Field) -> Result<Self> {
        let at = format!("{owner}.{}", field.name);
        let key = lit(&field.name);
        let p = prop(&field.name);
        let decoded = decoded_type(&field.ty);
        let init = init_type(ir, &field.ty);
        let expected = lit(&field_expectation(ir, field)?);
        let present = read_expr(ir, &field.ty, "v", "path", &key, &expected, 0)?;
        // What a decoded object holds when the wire has no value: `null` for fields serde
        // writes as `null`, `undefined` for fields it omits.
        let none = if field.always_written { "null" } else { "undefined" };
        let default = match &field.default {
            Some(Value::Null) | None => None,
            Some(value) => Some(default_expr(&field.ty, value, &at)?),
        };
        let (decoded_decl, read_present) = if field.nullable {
            // `null` means "no value", for `any` fields too (it is not read as a JSON null).
            let read = format!("v === null ? {none} : {present}");
            let decl = if field.always_written { format!("{p}: {decoded} | null") } else { format!("{p}?: {decoded}") };
            (decl, read)
        } else {
            (format!("{p}: {decoded}"), present.clone())
        };
        let read = if let Some(default) = &default {
            format!("v === undefined ? {default} : {read_present}")
        } else if field.nullable {
            format!("v === undefined ? {none} : {read_present}")
        } else {
            format!("v === undefined ? missing(path, {key}, {expected}) : {read_present}")
        };
        let init_decl = if field.required && !field.nullable && default.is_none() {
            format!("{p}: {init}")
        } else if field.nullable {
            format!("{p}?: {init} | null")
        } else {
            format!("{p}?: {init}")
        };
        // `out` opens with `{`; `sep` is empty before the first field written, then `,`.
        let json_key = lit(&format!("{}:", lit(&field.name)));
        let value = write_expr(&field.ty, "v", "path", &key, "level", 0);
        let write = if field.nullable {
            if field.always_written {
                format!("out += sep + {json_key} + (v == null ? \"null\" : {value}); sep = \",\";")
            } else {
                // `null` means no value, for `any` fields too: the reference omits a `null`
                // result or details.
                format!("if (v != null) {{ out += sep + {json_key} + {value}; sep = \",\"; }}")
            }
        } else if let Some(default) = &default {
            let text = write_expr(&field.ty, default, "path", &key, "level", 0);
            format!("out += sep + {json_key} + (v === undefined ? {text} : {value}); sep = \",\";")
        } else if field.always_written {
            format!("out += sep + {json_key} + (v === undefined ? missing(path, {key}, {expected}) : {value}); sep = \",\";")
        } else {
            format!("if (v !== undefined) {{ out += sep + {json_key} + {value}; sep = \",\"; }}")
        };
        Ok(FieldTs {
            doc: jsdoc(&field.doc, "  "),
            prop: p,
            key,
            decoded_decl,
            init_decl,
            read,
            read_present,
            write,
            required: field.required && default.is_none() && !field.nullable,
            get: access("o", &field.name),
            expected,
        })
    }
}

fn enum_ts(name: &str, doc: &str, values: &[EnumValue]) -> EnumTs {
    EnumTs {
        name: name.to_string(),
        doc: jsdoc(doc, ""),
        members: values
            .iter()
            .map(|v| EnumMemberTs { doc: jsdoc(&v.doc, "  "), key: pascal(&v.value), value: lit(&v.value) })
            .collect(),
        union: values.iter().map(|v| lit(&v.value)).collect::<Vec<_>>().join(" | "),
        expected: lit(&one_of(values.iter().map(|v| v.value.as_str()))),
    }
}

// ---------------------------------------------------------------------------------------------
// The runner runtime's view of the protocol

/// The runtime's roles ([`Roles`], shared with Python) in TypeScript names: property names,
/// string literals of tags, statuses and message names.
struct Glue {
    root: String,
    tag_prop: String,
    content_prop: String,
    content_key: String,
    /// Variant tag literals by role.
    run_tag: String,
    reply_tag: String,
    stop_tag: String,
    request_type: String,
    outcome_type: String,
    cancel_type: String,
    /// Property accessors on a request.
    req_protocol_version: String,
    req_request_id: String,
    req_job_id: String,
    /// String literals of the request's id keys (read from undecodable bodies).
    req_request_id_key: String,
    req_job_id_key: String,
    req_function_name: String,
    req_context: String,
    /// The handler's input properties `(wire name literal, property)`, and the input map's.
    req_inputs: Vec<(String, String)>,
    req_input_map: Option<String>,
    ctx_deadline: String,
    ctx_job_id: String,
    /// Property names of an outcome and its error.
    out_job_id: String,
    out_request_id: String,
    out_status: String,
    out_result: String,
    out_error: String,
    out_retry_after: String,
    err_message: String,
    err_type: String,
    /// Status literals.
    status_success: String,
    status_retry: String,
    status_timeout: String,
    status_error: String,
    /// Cancel properties.
    cancel_job_id: String,
    cancel_request_id: String,
    cancel_hard_kill: String,
    /// Messages by situation: `(role, name literal, error type literal)`.
    messages: Vec<(String, String, String)>,
}

impl Glue {
    fn new(ir: &Ir) -> Result<Self> {
        let r = Roles::resolve(ir)?.ok_or_else(|| anyhow!("the schema declares no runner roles"))?;
        let message = |role: &str, m: &RuntimeMessage| (role.to_string(), lit(&m.name), lit(&m.error_type));
        Ok(Glue {
            root: r.root.clone(),
            tag_prop: prop(&r.tag),
            content_prop: prop(&r.content),
            content_key: lit(&r.content),
            run_tag: lit(&r.request_tag),
            reply_tag: lit(&r.response_tag),
            stop_tag: lit(&r.cancel_tag),
            request_type: r.request.clone(),
            outcome_type: r.outcome.clone(),
            cancel_type: r.cancel.clone(),
            req_protocol_version: prop(&r.req_protocol_version),
            req_request_id: prop(&r.req_request_id),
            req_job_id: prop(&r.req_job_id),
            req_request_id_key: lit(&r.req_request_id),
            req_job_id_key: lit(&r.req_job_id),
            req_function_name: prop(&r.req_function_name),
            req_context: prop(&r.req_context),
            req_inputs: r.req_inputs.iter().map(|f| (lit(f), prop(f))).collect(),
            req_input_map: r.req_input_map.as_deref().map(prop),
            ctx_deadline: prop(&r.ctx_deadline),
            ctx_job_id: prop(&r.ctx_job_id),
            out_job_id: prop(&r.out_job_id),
            out_request_id: prop(&r.out_request_id),
            out_status: prop(&r.out_status),
            out_result: prop(&r.out_result),
            out_error: prop(&r.out_error),
            out_retry_after: prop(&r.out_retry_after),
            err_message: prop(&r.err_message),
            err_type: prop(&r.err_type),
            status_success: lit(&r.st_success),
            status_retry: lit(&r.st_retry),
            status_timeout: lit(&r.st_timeout),
            status_error: lit(&r.st_error),
            cancel_job_id: prop(&r.cancel_job_id),
            cancel_request_id: prop(&r.cancel_request_id),
            cancel_hard_kill: prop(&r.cancel_hard_kill),
            messages: vec![
                message("notFound", &r.msg_handler_not_found),
                message("cancelled", &r.msg_cancelled),
                message("shuttingDown", &r.msg_shutting_down),
                message("deadlinePassed", &r.msg_deadline_passed),
                message("deadlineExceeded", &r.msg_deadline_exceeded),
                message("busy", &r.msg_busy),
                message("invalidFrame", &r.msg_invalid_frame),
                message("unsupportedVersion", &r.msg_unsupported_protocol_version),
                message("unexpected", &r.msg_unexpected_message),
            ],
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Templates

#[derive(Template)]
#[template(path = "typescript/src/protocol.ts", escape = "none")]
struct ProtocolTemplate<'a> {
    header: &'a str,
    protocol_version: String,
    max_frame_len: u64,
    max_nesting_depth: u64,
    frame_header_len: usize,
    error_types: EnumTs,
    enums: Vec<EnumTs>,
    structs: Vec<StructTs>,
    unions: Vec<UnionTs>,
}

#[derive(Template)]
#[template(path = "typescript/src/codec.ts", escape = "none")]
struct CodecTemplate<'a> {
    header: &'a str,
    root: String,
    /// The expectation of the whole message, as a literal.
    root_expected: String,
    type_imports: String,
    enums: Vec<EnumTs>,
    structs: Vec<StructTs>,
    unions: Vec<UnionTs>,
}

#[derive(Template)]
#[template(path = "typescript/src/messages.ts", escape = "none")]
struct MessagesTemplate<'a> {
    header: &'a str,
    /// `(name, template, error type)` literals of `x-rrq.error_messages`.
    error_messages: Vec<(String, String, String)>,
    /// `(name, text)` literals of the frame-level error texts.
    frame_messages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "typescript/src/glue.ts", escape = "none")]
struct GlueTemplate<'a> {
    header: &'a str,
    g: &'a Glue,
}

#[derive(Template)]
#[template(path = "typescript/README.md", escape = "none")]
struct ReadmeTemplate<'a> {
    header: &'a str,
    package: &'a str,
    version: &'a str,
    protocol_version: &'a str,
    max_frame_len: u64,
    max_nesting_depth: u64,
    g: &'a Glue,
    /// The runtime's roles as plain wire names (for the text).
    r: &'a Roles,
    types: Vec<(String, String)>,
    error_types: &'a EnumTs,
}

#[derive(Template)]
#[template(path = "typescript/package.json", escape = "none")]
struct PackageTemplate<'a> {
    package: &'a str,
    version: &'a str,
    provenance: String,
}

/// The hand-written idiom files: only the provenance header is filled in.
macro_rules! idiom_files {
    ($($ty:ident => $path:literal),* $(,)?) => {
        $(
            #[derive(Template)]
            #[template(path = $path, escape = "none")]
            struct $ty<'a> {
                header: &'a str,
            }
        )*
        fn idiom(header: &str) -> Result<Vec<GeneratedFile>> {
            Ok(vec![$(GeneratedFile::new(format!("{ROOT}/{}", $path.trim_start_matches("typescript/")), $ty { header }.render()?)),*])
        }
    };
}

idiom_files! {
    ErrorsTs => "typescript/src/errors.ts",
    JsonTs => "typescript/src/json.ts",
    TimestampTs => "typescript/src/timestamp.ts",
    ValuesTs => "typescript/src/values.ts",
    RuntimeTs => "typescript/src/runtime.ts",
    CliTs => "typescript/src/cli.ts",
    IndexTs => "typescript/src/index.ts",
    TsconfigJson => "typescript/tsconfig.json",
}

fn structs_unions_enums(ir: &Ir) -> Result<(Vec<StructTs>, Vec<UnionTs>, Vec<EnumTs>)> {
    let (mut structs, mut unions, mut enums) = (Vec::new(), Vec::new(), Vec::new());
    for def in &ir.types {
        match def {
            TypeDef::Struct(s) => structs.push(StructTs {
                name: s.name.clone(),
                doc: jsdoc(&s.doc, ""),
                init_doc: jsdoc(&format!("{}\n\nThe shape accepted for encoding; {{@link {}}} is the decoded shape.", s.doc, s.name), ""),
                fields: s.fields.iter().map(|f| FieldTs::new(ir, &s.name, f)).collect::<Result<_>>()
                    .with_context(|| format!("rendering struct {}", s.name))?,
            }),
            TypeDef::Enum(e) => enums.push(enum_ts(&e.name, &e.doc, &e.values)),
            TypeDef::Union(u) => {
                for v in &u.variants {
                    if !matches!(ir.get(&v.ty), Some(TypeDef::Struct(_))) {
                        bail!("union `{}`: variant `{}` must hold a struct", u.name, v.tag_value);
                    }
                }
                unions.push(UnionTs {
                    name: u.name.clone(),
                    doc: jsdoc(&u.doc, ""),
                    tag_prop: prop(&u.tag),
                    tag_key: lit(&u.tag),
                    content_prop: prop(&u.content),
                    content_key: lit(&u.content),
                    tag_access: access("o", &u.tag),
                    content_access: access("o", &u.content),
                    variants: u
                        .variants
                        .iter()
                        .map(|v| {
                            Ok(VariantTs {
                                doc: jsdoc(&v.doc, "  "),
                                prefix: lit(&format!("{{{}:{},{}:", lit(&u.tag), lit(&v.tag_value), lit(&u.content))),
                                tag: lit(&v.tag_value),
                                ty: v.ty.clone(),
                                content_doc: jsdoc(&v.content_doc, "    "),
                                expected: lit(&expectation(ir, &Type::Named { name: v.ty.clone() })?),
                            })
                        })
                        .collect::<Result<_>>()?,
                    expected: lit(&tag_expectation(u)),
                });
            }
        }
    }
    Ok((structs, unions, enums))
}

/// Renders the npm package; every path starts with `typescript/`.
pub fn render(package: &Package) -> Result<Vec<GeneratedFile>> {
    let latest = package.latest();
    let (ir, provenance) = (&latest.ir, &latest.provenance(package));
    let header = provenance.header("//");
    let glue = Glue::new(ir)?;
    let error_types = enum_ts("ErrorType", "The `error.type` values the runner reports itself, with their meaning.", &ir.meta.error_types);
    let mut files = idiom(&header)?;

    let (structs, unions, enums) = structs_unions_enums(ir)?;
    let protocol = ProtocolTemplate {
        header: &header,
        protocol_version: lit(ir.meta.version.as_deref().unwrap_or_default()),
        max_frame_len: ir.meta.max_frame_len,
        max_nesting_depth: ir.meta.max_nesting_depth,
        frame_header_len: rrq_protocol::FRAME_HEADER_LEN,
        error_types: enum_ts("ErrorType", "The `error.type` values the runner reports itself, with their meaning.", &ir.meta.error_types),
        enums,
        structs,
        unions,
    };
    files.push(GeneratedFile::new(format!("{ROOT}/src/protocol.ts"), protocol.render()?));

    let (structs, unions, enums) = structs_unions_enums(ir)?;
    let mut names: Vec<String> = Vec::new();
    for def in &ir.types {
        names.push(def.name().to_string());
        if has_init(ir, def.name()) {
            names.push(format!("{}Init", def.name()));
        }
    }
    let codec = CodecTemplate {
        header: &header,
        root: ir.root.clone(),
        root_expected: lit(&expectation(ir, &Type::Named { name: ir.root.clone() })?),
        type_imports: names.join(", "),
        enums,
        structs,
        unions,
    };
    files.push(GeneratedFile::new(format!("{ROOT}/src/codec.ts"), codec.render()?));

    files.push(GeneratedFile::new(format!("{ROOT}/src/glue.ts"), GlueTemplate { header: &header, g: &glue }.render()?));
    let messages = MessagesTemplate {
        header: &header,
        error_messages: ir.meta.error_messages.iter().map(|m| (lit(&m.name), lit(&m.template), lit(&m.error_type))).collect(),
        frame_messages: frame_messages(ir).iter().map(|(name, text)| (lit(name), lit(text))).collect(),
    };
    files.push(GeneratedFile::new(format!("{ROOT}/src/messages.ts"), messages.render()?));

    let readme = ReadmeTemplate {
        header: &provenance.header(""),
        package: PACKAGE_NAME,
        version: &ir.meta.package_version,
        protocol_version: ir.meta.version.as_deref().unwrap_or_default(),
        max_frame_len: ir.meta.max_frame_len,
        max_nesting_depth: ir.meta.max_nesting_depth,
        g: &glue,
        r: &Roles::resolve(ir)?.ok_or_else(|| anyhow!("the schema declares no runner roles"))?,
        types: ir
            .types
            .iter()
            .map(|t| {
                let doc = match t {
                    TypeDef::Struct(s) => &s.doc,
                    TypeDef::Enum(e) => &e.doc,
                    TypeDef::Union(u) => &u.doc,
                };
                (t.name().to_string(), doc.lines().next().unwrap_or("").to_string())
            })
            .collect(),
        error_types: &error_types,
    };
    files.push(GeneratedFile::new(format!("{ROOT}/README.md"), readme.render()?));

    let mut provenance_json = serde_json::to_string_pretty(&provenance.json())?;
    provenance_json = provenance_json.replace('\n', "\n  ");
    let package = PackageTemplate { package: PACKAGE_NAME, version: &ir.meta.package_version, provenance: provenance_json };
    files.push(GeneratedFile::new(format!("{ROOT}/package.json"), package.render()? + "\n"));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
        let f = files.iter().find(|f| f.path.to_str() == Some(path)).unwrap_or_else(|| panic!("no {path}"));
        std::str::from_utf8(&f.contents).unwrap()
    }

    /// A field added to a copy of the schema shows up in the types, the reader and the writer,
    /// with no template change.
    #[test]
    fn new_schema_field_changes_the_output() {
        let schema = crate::schema::builtin_version("1").unwrap().schema();
        let base = render(&crate::Package::for_schema(&schema).unwrap()).unwrap();
        let mut changed = schema.clone();
        let context = changed["$defs"]["ExecutionContext"].as_object_mut().unwrap();
        context["properties"].as_object_mut().unwrap().insert(
            "priority_class".into(),
            serde_json::json!({"description": "Scheduling class of the job.", "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255}),
        );
        context["required"].as_array_mut().unwrap().push("priority_class".into());
        if let Some(written) = context.get_mut("x-rrq-always-written").and_then(Value::as_array_mut) {
            written.push("priority_class".into());
        }
        let files = render(&crate::Package::for_schema(&changed).unwrap()).unwrap();
        let protocol = file(&files, "typescript/src/protocol.ts");
        let codec = file(&files, "typescript/src/codec.ts");
        assert!(!file(&base, "typescript/src/protocol.ts").contains("priority_class"));
        assert!(protocol.contains("Scheduling class of the job."));
        assert!(protocol.contains("priority_class: number;"));
        assert!(codec.contains("readSafeInteger(v, path, \"priority_class\", 0, 255, \"integer in 0..=255\")"));
        assert!(codec.contains(r#"out += sep + "\"priority_class\":""#));
    }

    #[test]
    fn unknown_runtime_names_are_a_clear_error() {
        let mut schema = crate::schema::builtin_version("1").unwrap().schema();
        schema["$defs"]["ExecutionRequest"]["properties"].as_object_mut().unwrap().remove("function_name");
        let required = schema["$defs"]["ExecutionRequest"]["required"].as_array_mut().unwrap();
        required.retain(|v| v != "function_name");
        let err = render(&crate::Package::for_schema(&schema).unwrap()).err().unwrap();
        assert!(err.to_string().contains("function_name"), "{err}");
    }

    #[test]
    fn names_and_literals() {
        assert_eq!(pascal("handler_not_found"), "HandlerNotFound");
        assert_eq!(access("o", "type"), "o.type");
        assert_eq!(access("o", "a b"), "o[\"a b\"]");
        assert_eq!(access("o", "constructor"), "own(o, \"constructor\")");
        assert_eq!(int_literal(1 << 60), "1152921504606846976n");
        assert_eq!(jsdoc("a */ b", ""), "/**\n * a *\\/ b\n */\n");
    }
}
