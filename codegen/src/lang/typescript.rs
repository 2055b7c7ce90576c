//! TypeScript bindings (`generated/typescript/`): one npm package (named after the package,
//! `rrq-runner` for the built-in protocol) serving every protocol version of the package.
//!
//! Layout: the IR-independent modules (`json`, `errors`, `values`, `timestamp`, `frame`, and
//! with runner roles `runtime` and `cli`) are rendered once under `src/`; each protocol's
//! modules (`protocol`, `codec`, `messages`, `index`, and with runner roles `glue`: the
//! binding the shared runtime uses) under `src/v<N>/` (subpath export `<package>/v<N>`), or
//! under `src/` for a lone schema without a protocol version. The top level re-exports the
//! latest protocol.
//!
//! This module holds the logic: it maps IR types to TypeScript types (a decoded shape with
//! defaults filled in, and an `…Init` shape with optional fields for encoding), writes the
//! per-type reader (validator) and writer (canonical encoder) expressions, and maps the runner
//! roles ([`Roles`]) to TypeScript names. The templates under `templates/typescript/` hold only
//! TypeScript idiom and loop over the structs prepared here; no protocol field is named here or
//! there.

use super::{
    expectation, field_expectation, frame_messages, integer_bounds, one_of, rrq_releases, spoken_version, tag_expectation,
    Roles, RuntimeMessage, FRAME_MESSAGES,
};
use crate::ir::{EnumValue, Field, Ir, Type, TypeDef};
use crate::output::GeneratedFile;
use crate::{Package, Protocol};
use anyhow::{anyhow, bail, Context, Result};
use askama::Template;
use serde_json::Value;

/// Folder of the package under `generated/`.
const ROOT: &str = "typescript";

/// A generated file whose text ends with exactly one newline (askama drops the template's).
fn text_file(path: String, mut text: String) -> GeneratedFile {
    while text.ends_with("\n\n") {
        text.pop();
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    GeneratedFile::new(path, text)
}
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
    /// Decoded declaration, e.g. `name: string` or `value?: JsonValue`.
    decoded_decl: String,
    /// Encoding-input declaration, e.g. `when?: Timestamp | Date | null`.
    init_decl: String,
    /// Reads the raw value `v` (maybe `undefined`) of this field from object `o` at `path`.
    read: String,
    /// Reads a present raw value `v` (for the document-order error pass).
    read_present: String,
    /// Statement appending `,"name":value` to `out` (or nothing when the field is omitted).
    write: String,
    /// Whether `write` always appends (or throws): the field is never omitted.
    always_written: bool,
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

/// What a struct writer has written before a field: whether the field's key needs a `,`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Written {
    /// No field yet: no separator.
    Nothing,
    /// At least one field: `,`.
    Some,
    /// Only fields that may be omitted: the `sep` variable tells.
    Maybe,
}

impl Written {
    /// The state after a field that is always written (`always`) or may be omitted.
    fn then(self, always: bool) -> Written {
        match (self, always) {
            (_, true) | (Written::Some, false) => Written::Some,
            _ => Written::Maybe,
        }
    }
}

impl FieldTs {
    fn new(ir: &Ir, owner: &str, field: &Field, before: Written) -> Result<Self> {
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
        } else if !field.required && default.is_none() {
            // Optional without a default, and not nullable: absent is no value, `null` is refused.
            (format!("{p}?: {decoded}"), present.clone())
        } else {
            (format!("{p}: {decoded}"), present.clone())
        };
        let read = if let Some(default) = &default {
            format!("v === undefined ? {default} : {read_present}")
        } else if field.nullable {
            format!("v === undefined ? {none} : {read_present}")
        } else if !field.required {
            format!("v === undefined ? undefined : {read_present}")
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
        // `out` opens with `{`. The key's separator is known when no field, or an always
        // written one, comes before; else `sep` holds it: empty before the first field
        // written, then `,`.
        let (json_key, set_sep) = match before {
            Written::Nothing => (lit(&format!("{}:", lit(&field.name))), " sep = \",\";"),
            Written::Some => (lit(&format!(",{}:", lit(&field.name))), ""),
            Written::Maybe => (format!("sep + {}", lit(&format!("{}:", lit(&field.name)))), " sep = \",\";"),
        };
        let value = write_expr(&field.ty, "v", "path", &key, "level", 0);
        let always_written = if field.nullable { field.always_written } else { default.is_some() || field.always_written };
        let write = if field.nullable {
            if field.always_written {
                format!("out += {json_key} + (v == null ? \"null\" : {value});{set_sep}")
            } else {
                // `null` means no value, for `any` fields too: the reference omits a `null`
                // result or details.
                format!("if (v != null) {{ out += {json_key} + {value};{set_sep} }}")
            }
        } else if let Some(default) = &default {
            let text = write_expr(&field.ty, default, "path", &key, "level", 0);
            format!("out += {json_key} + (v === undefined ? {text} : {value});{set_sep}")
        } else if field.always_written {
            format!("out += {json_key} + (v === undefined ? missing(path, {key}, {expected}) : {value});{set_sep}")
        } else {
            format!("if (v !== undefined) {{ out += {json_key} + {value};{set_sep} }}")
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
            always_written,
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
// Names the package's API reserves

/// Names a schema's type may not have: the package's own exports next to the protocol types,
/// the helpers a `read…` / `write…` function would collide with, and globals the generated
/// code uses.
const RESERVED_TYPE_NAMES: &[&str] = &[
    // exports of every version module
    "FrameError", "FrameErrorKind", "FrameReader", "DecodeOptions", "Timestamp", "JsonFloat", "JsonValue", "JsonInput",
    "JsonObject", "ParseOptions", "ErrorMessage", "Registry", "Runner", "RetryError", "Handler", "Binding", "Address",
    "RunnerOptions", "ServeOptions", "Path", "Key",
    // read…/write… helpers of values.ts
    "Bool", "String", "SafeInteger", "Integer", "Float", "AnyArray", "AnyMap", "Array", "Map", "Str", "Any",
    // globals and utility types the generated code refers to
    "Date", "Record", "Uint8Array", "Object", "Error", "Promise", "Partial", "Required", "ReadonlyArray", "Symbol",
    "Number", "Boolean", "BigInt", "Function", "JSON", "Math", "Set", "AbortSignal", "TextDecoder", "Buffer",
];

/// JavaScript's reserved words (no type, enum or namespace may be named so).
const RESERVED_WORDS: &[&str] = &[
    "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum",
    "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof", "new", "null",
    "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield",
    "let", "static", "implements", "interface", "package", "private", "protected", "public", "await", "any",
    "boolean", "number", "string", "symbol", "bigint", "never", "unknown", "object", "undefined", "type",
];

/// Fails, naming the type, when a schema's type names cannot be TypeScript names of the package.
fn check_names(ir: &Ir) -> Result<()> {
    let names: Vec<&str> = ir.types.iter().map(TypeDef::name).collect();
    for def in &ir.types {
        let name = def.name();
        if !is_identifier(name) || RESERVED_WORDS.contains(&name) {
            bail!("type `{name}`: not a valid TypeScript type name (rename it in the schema's $defs)");
        }
        if RESERVED_TYPE_NAMES.contains(&name) || (name == "ErrorType" && !ir.meta.error_types.is_empty()) {
            bail!("type `{name}`: the TypeScript package exports a name `{name}` of its own (rename the type in the schema)");
        }
        if has_init(ir, name) && names.contains(&format!("{name}Init").as_str()) {
            bail!("type `{name}Init`: the TypeScript package names the encoding shape of `{name}` so (rename the type)");
        }
        if let TypeDef::Enum(e) = def {
            let mut keys: Vec<String> = Vec::new();
            for v in &e.values {
                let key = pascal(&v.value);
                if keys.contains(&key) {
                    bail!("enum `{name}`: two values map to the TypeScript member name `{key}`");
                }
                keys.push(key);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The runner runtime's view of one protocol version

/// A wire name as TypeScript code uses it.
struct Name {
    /// Property key in an object literal or a type (`status`, `"a b"`).
    key: String,
    /// Member access appended to an expression (`.status`, `["a b"]`).
    get: String,
    /// Optional-chaining member access (`?.status`, `?.["a b"]`).
    opt: String,
    /// The wire name as a string literal.
    lit: String,
}

fn name(wire: &str) -> Name {
    let (get, opt) =
        if is_identifier(wire) { (format!(".{wire}"), format!("?.{wire}")) } else { (format!("[{}]", lit(wire)), format!("?.[{}]", lit(wire))) };
    Name { key: prop(wire), get, opt, lit: lit(wire) }
}

/// The runtime's roles ([`Roles`], shared with Python) in TypeScript names: property names,
/// string literals of tags, statuses and message names. The template of the version's binding
/// (`glue.ts`) writes only these.
struct Glue {
    /// The version as text for documents (`"1"`).
    version_text: String,
    root: String,
    request_type: String,
    outcome_type: String,
    cancel_type: String,
    tag: Name,
    content: Name,
    /// Variant tag literals by role.
    run_tag: String,
    reply_tag: String,
    stop_tag: String,
    /// Fields of a request.
    req_protocol_version: Name,
    req_request_id: Name,
    req_job_id: Name,
    req_function_name: Name,
    req_context: Name,
    /// The handler's input fields, and the input map's (named inputs), if any.
    req_inputs: Vec<Name>,
    req_input_map: Option<Name>,
    /// Fields of the context.
    ctx_deadline: Name,
    ctx_job_id: Name,
    /// Optional fields of the context a tracing integration reads (`traceFacts`).
    ctx_queue: Option<Name>,
    ctx_attempt: Option<Name>,
    ctx_worker: Option<Name>,
    ctx_enqueued: Option<Name>,
    ctx_carrier: Option<Name>,
    ctx_correlation: Option<Name>,
    /// Fields of an outcome and its error.
    out_job_id: Name,
    out_request_id: Name,
    out_status: Name,
    out_result: Name,
    out_error: Name,
    out_retry_after: Name,
    err_message: Name,
    err_type: Name,
    /// Status literals.
    status_success: String,
    status_retry: String,
    status_timeout: String,
    status_error: String,
    /// Fields of a cancel.
    cancel_job_id: Name,
    cancel_request_id: Name,
    cancel_hard_kill: Name,
    /// Messages by situation (the runtime's `MessageRole`): `(role, name literal, error type literal)`.
    messages: Vec<(String, String, String)>,
}

impl Glue {
    fn new(r: &Roles, version: &str) -> Self {
        let message = |role: &str, m: &RuntimeMessage| (role.to_string(), lit(&m.name), lit(&m.error_type));
        Glue {
            version_text: lit(version),
            root: r.root.clone(),
            request_type: r.request.clone(),
            outcome_type: r.outcome.clone(),
            cancel_type: r.cancel.clone(),
            tag: name(&r.tag),
            content: name(&r.content),
            run_tag: lit(&r.request_tag),
            reply_tag: lit(&r.response_tag),
            stop_tag: lit(&r.cancel_tag),
            req_protocol_version: name(&r.req_protocol_version),
            req_request_id: name(&r.req_request_id),
            req_job_id: name(&r.req_job_id),
            req_function_name: name(&r.req_function_name),
            req_context: name(&r.req_context),
            req_inputs: r.req_inputs.iter().map(|f| name(f)).collect(),
            req_input_map: r.req_input_map.as_deref().map(name),
            ctx_deadline: name(&r.ctx_deadline),
            ctx_job_id: name(&r.ctx_job_id),
            ctx_queue: r.ctx_queue_name.as_deref().map(name),
            ctx_attempt: r.ctx_attempt.as_deref().map(name),
            ctx_worker: r.ctx_worker_id.as_deref().map(name),
            ctx_enqueued: r.ctx_enqueue_time.as_deref().map(name),
            ctx_carrier: r.ctx_trace_context.as_deref().map(name),
            ctx_correlation: r.ctx_correlation_context.as_deref().map(name),
            out_job_id: name(&r.out_job_id),
            out_request_id: name(&r.out_request_id),
            out_status: name(&r.out_status),
            out_result: name(&r.out_result),
            out_error: name(&r.out_error),
            out_retry_after: name(&r.out_retry_after),
            err_message: name(&r.err_message),
            err_type: name(&r.err_type),
            status_success: lit(&r.st_success),
            status_retry: lit(&r.st_retry),
            status_timeout: lit(&r.st_timeout),
            status_error: lit(&r.st_error),
            cancel_job_id: name(&r.cancel_job_id),
            cancel_request_id: name(&r.cancel_request_id),
            cancel_hard_kill: name(&r.cancel_hard_kill),
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
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Templates

#[derive(Template)]
#[template(path = "typescript/src/protocol.ts", escape = "none")]
struct ProtocolTemplate<'a> {
    header: &'a str,
    up: &'a str,
    /// What the module holds, for its doc comment.
    what: String,
    version: Option<String>,
    max_frame_len: u64,
    max_nesting_depth: u64,
    frame_header_len: usize,
    error_types: Option<EnumTs>,
    enums: Vec<EnumTs>,
    structs: Vec<StructTs>,
    unions: Vec<UnionTs>,
}

#[derive(Template)]
#[template(path = "typescript/src/codec.ts", escape = "none")]
struct CodecTemplate<'a> {
    header: &'a str,
    up: &'a str,
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
    up: &'a str,
    /// `(name, template, error type)` literals of `x-rrq.error_messages`.
    error_messages: Vec<(String, String, String)>,
    /// `(name, text)` literals of the frame-level error texts, this version's limits filled in.
    frame_messages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "typescript/src/glue.ts", escape = "none")]
struct GlueTemplate<'a> {
    header: &'a str,
    up: &'a str,
    g: &'a Glue,
}

#[derive(Template)]
#[template(path = "typescript/src/version-index.ts", escape = "none")]
struct VersionIndexTemplate<'a> {
    header: &'a str,
    up: &'a str,
    /// The module's doc comment lines (each starting with ` * `).
    doc: String,
    runtime: bool,
    version_text: String,
    request_type: String,
    outcome_type: String,
}

#[derive(Template)]
#[template(path = "typescript/src/index.ts", escape = "none")]
struct IndexTemplate<'a> {
    header: &'a str,
    package: &'a str,
    summary: &'a str,
    latest: &'a str,
    latest_text: String,
    /// `(module, description)` of every version.
    versions: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "typescript/src/frame.ts", escape = "none")]
struct FrameTemplate<'a> {
    header: &'a str,
    header_len: usize,
    /// `(name, text)` literals of the frame-level texts, placeholders kept.
    texts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "typescript/src/runtime.ts", escape = "none")]
struct RuntimeTemplate<'a> {
    header: &'a str,
    package_lit: String,
    /// The tracing outcomes (`super::trace_outcomes`): `(KEY, literal, doc)`.
    outcomes: Vec<(String, String, String)>,
}

/// The OpenTelemetry integration (`otel.ts`, subpath `./otel`), rendered with the runtime: the
/// tracing names shared with Python (`super::trace_*`) as `(KEY, literal, doc)`.
#[derive(Template)]
#[template(path = "typescript/src/otel.ts", escape = "none")]
struct OtelTemplate<'a> {
    header: &'a str,
    package: &'a str,
    package_lit: String,
    version_lit: String,
    span_name: &'a str,
    constants: Vec<(String, String, String)>,
    attributes: Vec<(String, String, String)>,
}

/// A table of tracing names as `(KEY, literal, doc)`.
fn trace_rows(names: Vec<super::TraceName>) -> Vec<(String, String, String)> {
    names.into_iter().map(|n| (n.key.to_string(), lit(&n.value), n.doc.to_string())).collect()
}

#[derive(Template)]
#[template(path = "typescript/src/cli.ts", escape = "none")]
struct CliTemplate<'a> {
    header: &'a str,
    package_lit: String,
}

/// The parent watch (`lifecycle.ts`), rendered with the runtime.
#[derive(Template)]
#[template(path = "typescript/src/lifecycle.ts", escape = "none")]
struct LifecycleTs<'a> {
    header: &'a str,
}

/// The off-loop decoder of large bodies (`decoder.ts`), rendered with the runtime.
#[derive(Template)]
#[template(path = "typescript/src/decoder.ts", escape = "none")]
struct DecoderTs<'a> {
    header: &'a str,
}

/// One protocol version in the README.
struct VersionDoc {
    /// Where it is imported from (`rrq-runner/v1`; the package for a lone unversioned schema).
    import: String,
    /// Its namespace on the top level (`v1`).
    namespace: String,
    latest: bool,
    /// `protocol "1"`, or `unversioned`.
    version_label: String,
    /// The RRQ releases that speak it (built-in versions), else `—`.
    releases: String,
    /// How those releases hand over the runner's address (empty: not known).
    address: String,
    /// `(type, first line of its doc)`.
    types: Vec<(String, String)>,
    /// The types users handle most.
    api_types: Vec<String>,
    root: String,
    request_type: String,
    first_struct: String,
    /// Example handler expressions, from the runner roles.
    echo: String,
    option_seconds: String,
    option_message: String,
    option_retry: String,
    custom_outcome: String,
    status_success_text: String,
    /// Example `FrameError` paths of this schema.
    example_paths: Vec<String>,
    error_types: Vec<String>,
    /// Fields holding dynamic JSON values.
    any_fields: Vec<String>,
    bounded_example: Option<String>,
    max_frame_len: u64,
    max_nesting_depth: u64,
}

/// The runner's answers in the README, as wire text (of the latest version).
struct RuntimeDoc {
    busy: String,
    content: String,
    job_key: String,
    request_key: String,
    st_error: String,
    st_timeout: String,
    invalid_frame: String,
    response_tag: String,
    unexpected: String,
    unsupported: String,
    not_found: String,
    force_key: String,
    cancelled: String,
}

#[derive(Template)]
#[template(path = "typescript/README.md", escape = "none")]
struct ReadmeTemplate<'a> {
    header: &'a str,
    package: &'a str,
    version: &'a str,
    runtime: bool,
    versions: &'a [VersionDoc],
    latest: &'a VersionDoc,
    runtime_doc: Option<RuntimeDoc>,
    /// The span's name, its attributes (`name`, meaning), and the protocols whose requests carry
    /// a correlation context (its entries are attributes too), for the tracing section.
    span_name: &'a str,
    trace_attributes: Vec<(String, String)>,
    correlation_versions: Vec<String>,
}

#[derive(Template)]
#[template(path = "typescript/package.json", escape = "none")]
struct PackageTemplate<'a> {
    package: &'a str,
    version: &'a str,
    description: String,
    modules: Vec<String>,
    runtime: bool,
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
            Ok(vec![$(text_file(format!("{ROOT}/{}", $path.trim_start_matches("typescript/")), $ty { header }.render()?)),*])
        }
    };
}

idiom_files! {
    ErrorsTs => "typescript/src/errors.ts",
    JsonTs => "typescript/src/json.ts",
    TimestampTs => "typescript/src/timestamp.ts",
    ValuesTs => "typescript/src/values.ts",
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
                fields: {
                    // Whether a field is written before each one decides its separator.
                    let mut before = Written::Nothing;
                    s.fields
                        .iter()
                        .map(|f| {
                            let field = FieldTs::new(ir, &s.name, f, before)?;
                            before = before.then(field.always_written);
                            Ok(field)
                        })
                        .collect::<Result<_>>()
                        .with_context(|| format!("rendering struct {}", s.name))?
                },
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

fn error_types_ts(ir: &Ir) -> Option<EnumTs> {
    (!ir.meta.error_types.is_empty())
        .then(|| enum_ts("ErrorType", "The `error.type` values the runner reports itself, with their meaning.", &ir.meta.error_types))
}

/// `protocol "1"`, or `unversioned`.
fn version_label(ir: &Ir) -> String {
    match spoken_version(ir) {
        Some(v) => format!("protocol {}", lit(v)),
        None => "unversioned".to_string(),
    }
}

/// Where a protocol's modules go (`typescript/src/v1/`) and the way up to the shared ones.
fn module_dir(protocol: &Protocol) -> (String, &'static str) {
    match &protocol.module {
        Some(m) => (format!("{ROOT}/src/{m}/"), "../"),
        None => (format!("{ROOT}/src/"), "./"),
    }
}

/// Renders one protocol's modules.
fn render_protocol(package: &Package, protocol: &Protocol, runtime: bool) -> Result<Vec<GeneratedFile>> {
    let ir = &protocol.ir;
    check_names(ir)?;
    let header = protocol.provenance(package).header("//");
    let (dir, up) = module_dir(protocol);
    let mut files = Vec::new();

    let what = match spoken_version(ir) {
        Some(v) => format!("protocol version {}", lit(v)),
        None => format!("the `{}` protocol", ir.root),
    };
    let (structs, unions, enums) = structs_unions_enums(ir)?;
    let protocol_ts = ProtocolTemplate {
        header: &header,
        up,
        what,
        version: spoken_version(ir).map(lit),
        max_frame_len: ir.meta.max_frame_len,
        max_nesting_depth: ir.meta.max_nesting_depth,
        frame_header_len: rrq_protocol::FRAME_HEADER_LEN,
        error_types: error_types_ts(ir),
        enums,
        structs,
        unions,
    };
    files.push(text_file(format!("{dir}protocol.ts"), protocol_ts.render()?));

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
        up,
        root: ir.root.clone(),
        root_expected: lit(&expectation(ir, &Type::Named { name: ir.root.clone() })?),
        type_imports: names.join(", "),
        enums,
        structs,
        unions,
    };
    files.push(text_file(format!("{dir}codec.ts"), codec.render()?));

    let messages = MessagesTemplate {
        header: &header,
        up,
        error_messages: ir.meta.error_messages.iter().map(|m| (lit(&m.name), lit(&m.template), lit(&m.error_type))).collect(),
        frame_messages: frame_messages(ir).iter().map(|(name, text)| (lit(name), lit(text))).collect(),
    };
    files.push(text_file(format!("{dir}messages.ts"), messages.render()?));

    let roles = if runtime { protocol.roles.as_ref() } else { None };
    if let Some(roles) = roles {
        let glue = Glue::new(roles, spoken_version(ir).unwrap_or_default());
        files.push(text_file(format!("{dir}glue.ts"), GlueTemplate { header: &header, up, g: &glue }.render()?));
    }
    let import = match &protocol.module {
        Some(m) => format!("{}/{m}", package.name),
        None => package.name.clone(),
    };
    let mut doc = match spoken_version(ir) {
        Some(v) => format!(" * `{import}`: protocol version {}", lit(v)),
        None => format!(" * `{import}`: the `{}` protocol", ir.root),
    };
    if let Some((releases, _)) = rrq_releases(ir) {
        doc.push_str(&format!(", spoken by {releases}"));
    }
    doc.push_str(if roles.is_some() {
        ": its types, codec (validators, canonical encoder, frames) and a\n * `Registry` of handlers served in this version by the shared runtime."
    } else {
        ": its types, validators, canonical encoder and frame codec (the schema\n * declares no runner roles: no runtime)."
    });
    let index = VersionIndexTemplate {
        header: &header,
        up,
        doc,
        runtime: roles.is_some(),
        version_text: spoken_version(ir).map(lit).unwrap_or_default(),
        request_type: roles.map(|r| r.request.clone()).unwrap_or_default(),
        outcome_type: roles.map(|r| r.outcome.clone()).unwrap_or_default(),
    };
    files.push(text_file(format!("{dir}index.ts"), index.render()?));
    Ok(files)
}

/// The first line of a doc text.
fn first_line(doc: &str) -> String {
    doc.lines().next().unwrap_or("").to_string()
}

fn contains_any(ty: &Type) -> bool {
    match ty {
        Type::Any => true,
        Type::Array { items } => contains_any(items),
        Type::Map { values } => contains_any(values),
        _ => false,
    }
}

/// A path segment as `FrameError` paths write it.
fn path_segment(path: &str, key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (plain, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", lit(key)),
    }
}

/// Example `FrameError` paths in this schema: a bounded integer, a map entry, an array item
/// (the first of each found from the root, depth first).
fn example_paths(ir: &Ir) -> (Option<String>, Vec<String>) {
    fn walk(ir: &Ir, name: &str, path: &str, depth: usize, found: &mut [Option<String>; 3]) {
        if depth > 8 {
            return;
        }
        match ir.get(name) {
            Some(TypeDef::Union(u)) => {
                for v in &u.variants {
                    walk(ir, &v.ty, &path_segment(path, &u.content), depth + 1, found);
                }
            }
            Some(TypeDef::Struct(s)) => {
                for f in &s.fields {
                    let at = path_segment(path, &f.name);
                    match &f.ty {
                        Type::Integer { min, max } if (min.is_some() || max.is_some()) && found[0].is_none() => found[0] = Some(at),
                        Type::Map { .. } if found[1].is_none() => found[1] = Some(format!("{at}[\"a b\"]")),
                        Type::Array { .. } if found[2].is_none() => found[2] = Some(format!("{at}[2]")),
                        Type::Named { name } => walk(ir, name, &at, depth + 1, found),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let mut found: [Option<String>; 3] = [None, None, None];
    walk(ir, &ir.root, "", 0, &mut found);
    let bounded = found[0].clone();
    (bounded, found.into_iter().flatten().collect())
}

fn version_doc(package: &Package, protocol: &Protocol, runtime: bool) -> VersionDoc {
    let ir = &protocol.ir;
    let roles = if runtime { protocol.roles.as_ref() } else { None };
    let (import, namespace) = match &protocol.module {
        Some(m) => (format!("{}/{m}", package.name), m.clone()),
        None => (package.name.clone(), String::new()),
    };
    let release = rrq_releases(ir);
    let doc_of = |t: &TypeDef| match t {
        TypeDef::Struct(s) => first_line(&s.doc),
        TypeDef::Enum(e) => first_line(&e.doc),
        TypeDef::Union(u) => first_line(&u.doc),
    };
    let types: Vec<(String, String)> = ir.types.iter().map(|t| (t.name().to_string(), doc_of(t))).collect();
    let api_types = match roles {
        Some(r) => vec![&r.request, &r.context, &r.outcome, &r.error, &r.cancel, &r.status, &r.root].into_iter().cloned().collect(),
        None => ir.types.iter().map(|t| t.name().to_string()).collect(),
    };
    let first_struct = ir
        .types
        .iter()
        .find_map(|t| match t {
            TypeDef::Struct(s) => Some(s.name.clone()),
            _ => None,
        })
        .unwrap_or_else(|| ir.root.clone());
    let mut any_fields: Vec<String> = Vec::new();
    for t in &ir.types {
        if let TypeDef::Struct(s) = t {
            for f in &s.fields {
                if contains_any(&f.ty) && !any_fields.contains(&f.name) {
                    any_fields.push(f.name.clone());
                }
            }
        }
    }
    let (bounded_example, example_paths) = example_paths(ir);
    let (echo, option_seconds, option_message, option_retry, custom_outcome, status_success_text) = match roles {
        Some(r) => {
            let inputs: Vec<String> = r.req_inputs.iter().map(|f| format!("{}: request{}", prop(f), name(f).get)).collect();
            let option = |key: &str, default: &str| match &r.req_input_map {
                Some(m) => format!("request{}{} ?? {default}", name(m).get, name(key).get),
                None => default.to_string(),
            };
            (
                format!("{{ {} }}", inputs.join(", ")),
                option("seconds", "1"),
                option("message", "\"failed on purpose\""),
                option("seconds", "5"),
                format!("{{ {}: {}, {}: 30 }}", prop(&r.out_status), lit(&r.st_retry), prop(&r.out_retry_after)),
                r.st_success.clone(),
            )
        }
        None => Default::default(),
    };
    VersionDoc {
        import,
        namespace,
        latest: std::ptr::eq(protocol, package.latest()),
        version_label: version_label(ir),
        releases: release.map(|(r, _)| r.to_string()).unwrap_or_else(|| "—".to_string()),
        address: release.map(|(_, a)| a.to_string()).unwrap_or_default(),
        types,
        api_types,
        root: ir.root.clone(),
        request_type: roles.map(|r| r.request.clone()).unwrap_or_default(),
        first_struct,
        echo,
        option_seconds,
        option_message,
        option_retry,
        custom_outcome,
        status_success_text,
        example_paths,
        error_types: ir.meta.error_types.iter().map(|t| t.value.clone()).collect(),
        any_fields,
        bounded_example,
        max_frame_len: ir.meta.max_frame_len,
        max_nesting_depth: ir.meta.max_nesting_depth,
    }
}

fn runtime_doc(r: &Roles) -> RuntimeDoc {
    RuntimeDoc {
        busy: r.msg_busy.error_type.clone(),
        content: r.content.clone(),
        job_key: r.req_job_id.clone(),
        request_key: r.req_request_id.clone(),
        st_error: r.st_error.clone(),
        st_timeout: r.st_timeout.clone(),
        invalid_frame: r.msg_invalid_frame.error_type.clone(),
        response_tag: r.response_tag.clone(),
        unexpected: r.msg_unexpected_message.error_type.clone(),
        unsupported: r.msg_unsupported_protocol_version.error_type.clone(),
        not_found: r.msg_handler_not_found.error_type.clone(),
        force_key: r.cancel_hard_kill.clone(),
        cancelled: r.msg_cancelled.error_type.clone(),
    }
}

/// Renders the npm package; every path starts with `typescript/`.
pub fn render(package: &Package) -> Result<Vec<GeneratedFile>> {
    let runtime = package.has_runtime();
    let provenance = package.provenance();
    let header = provenance.header("//");
    let latest = package.latest();
    let package_lit = lit(&package.name);

    // Shared, IR-independent modules: once for every version.
    let mut files = idiom(&header)?;
    let frame = FrameTemplate {
        header: &header,
        header_len: rrq_protocol::FRAME_HEADER_LEN,
        texts: FRAME_MESSAGES.iter().map(|(name, text)| (lit(name), lit(text))).collect(),
    };
    files.push(text_file(format!("{ROOT}/src/frame.ts"), frame.render()?));
    if runtime {
        let rt = RuntimeTemplate { header: &header, package_lit: package_lit.clone(), outcomes: trace_rows(super::trace_outcomes()) };
        files.push(text_file(format!("{ROOT}/src/runtime.ts"), rt.render()?));
        let otel = OtelTemplate {
            header: &header,
            package: &package.name,
            package_lit: package_lit.clone(),
            version_lit: lit(&package.version),
            span_name: super::TRACE_SPAN_NAME,
            constants: trace_rows(super::trace_constants()),
            attributes: trace_rows(super::trace_attributes()),
        };
        files.push(text_file(format!("{ROOT}/src/otel.ts"), otel.render()?));
        let cli = CliTemplate { header: &header, package_lit: package_lit.clone() };
        files.push(text_file(format!("{ROOT}/src/cli.ts"), cli.render()?));
        files.push(text_file(format!("{ROOT}/src/lifecycle.ts"), LifecycleTs { header: &header }.render()?));
        files.push(text_file(format!("{ROOT}/src/decoder.ts"), DecoderTs { header: &header }.render()?));
    }

    // Each version's modules.
    for protocol in &package.protocols {
        files.extend(render_protocol(package, protocol, runtime).with_context(|| format!("TypeScript bindings of `{}`", protocol.ir.root))?);
    }
    let versioned: Vec<&Protocol> = package.protocols.iter().filter(|p| p.module.is_some()).collect();
    let summary = if runtime {
        "RRQ runner bindings generated from the protocol's schemas — for each protocol version its types, a codec byte-identical to the Rust reference and a registry of handlers, served by one shared runner runtime."
    } else {
        "bindings generated from the schemas — for each protocol version its types, validators, canonical encoder and frame codec."
    };
    if let Some(latest_module) = &latest.module {
        let versions = versioned
            .iter()
            .map(|p| {
                let mut text = version_label(&p.ir);
                if let Some((releases, _)) = rrq_releases(&p.ir) {
                    text.push_str(&format!(" ({releases})"));
                }
                (p.module.clone().unwrap_or_default(), text)
            })
            .collect();
        let index = IndexTemplate {
            header: &header,
            package: &package.name,
            summary,
            latest: latest_module,
            latest_text: spoken_version(&latest.ir).map(lit).unwrap_or_default(),
            versions,
        };
        files.push(text_file(format!("{ROOT}/src/index.ts"), index.render()?));
    }

    let docs: Vec<VersionDoc> = package.protocols.iter().map(|p| version_doc(package, p, runtime)).collect();
    let readme = ReadmeTemplate {
        header: &provenance.header(""),
        package: &package.name,
        version: &package.version,
        runtime,
        versions: &docs,
        latest: docs.last().expect("a package has at least one protocol"),
        runtime_doc: if runtime { latest.roles.as_ref().map(runtime_doc) } else { None },
        span_name: super::TRACE_SPAN_NAME,
        trace_attributes: super::trace_attributes().into_iter().map(|n| (n.value, n.doc.to_string())).collect(),
        correlation_versions: package
            .protocols
            .iter()
            .filter(|p| p.roles.as_ref().is_some_and(|r| r.ctx_correlation_context.is_some()))
            .map(|p| version_label(&p.ir))
            .collect(),
    };
    files.push(text_file(format!("{ROOT}/README.md"), readme.render()?));

    let mut provenance_json = serde_json::to_string_pretty(&provenance.json())?;
    provenance_json = provenance_json.replace('\n', "\n  ");
    let description = if runtime {
        "RRQ runner bindings generated from the RRQ protocol schemas (one subpath per protocol version): protocol types, a canonical codec byte-identical to the Rust reference, and a node:net runner runtime.".to_string()
    } else {
        format!("Bindings generated from the {} schema: types, validators, a canonical encoder and a frame codec.", latest.ir.root)
    };
    let package_json = PackageTemplate {
        package: &package.name,
        version: &package.version,
        description: lit(&description),
        modules: versioned.iter().filter_map(|p| p.module.clone()).collect(),
        runtime,
        provenance: provenance_json,
    };
    files.push(text_file(format!("{ROOT}/package.json"), package_json.render()?));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::FieldRole;
    use serde_json::json;

    /// The foreign schema the TypeScript suite renders and builds (tests/typescript/foreign):
    /// no x-rrq, u64 and i64, an enum, nested arrays, maps, a nullable timestamp.
    const LEDGER: &str = include_str!("../../../tests/typescript/foreign/ledger.schema.json");

    fn ledger() -> Value {
        serde_json::from_str(LEDGER).unwrap()
    }

    fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
        let f = files.iter().find(|f| f.path.to_str() == Some(path)).unwrap_or_else(|| panic!("no {path}"));
        std::str::from_utf8(&f.contents).unwrap()
    }

    fn paths(files: &[GeneratedFile]) -> Vec<String> {
        files.iter().map(|f| f.path.to_string_lossy().into_owned()).collect()
    }

    fn builtin_package() -> Package {
        Package::new(&crate::Source::BuiltIn, &crate::Options::default()).unwrap()
    }

    #[test]
    fn a_foreign_schema_without_x_rrq_renders_the_codec_only() {
        let package = Package::for_schema(&ledger()).unwrap();
        assert_eq!(package.name, "ledger-event");
        let files = render(&package).unwrap();
        let all = paths(&files);
        for shared in ["json.ts", "errors.ts", "values.ts", "timestamp.ts", "frame.ts"] {
            assert!(all.contains(&format!("typescript/src/{shared}")), "{shared}");
        }
        // A lone schema without a protocol version: its modules at src/, no runtime.
        for module in ["protocol.ts", "codec.ts", "messages.ts", "index.ts"] {
            assert!(all.contains(&format!("typescript/src/{module}")), "{module}");
        }
        for absent in ["runtime.ts", "cli.ts", "glue.ts"] {
            assert!(!all.iter().any(|p| p.ends_with(absent)), "{absent}: {all:?}");
        }
        let manifest: Value = serde_json::from_str(file(&files, "typescript/package.json")).unwrap();
        assert_eq!(manifest["name"], "ledger-event");
        assert!(manifest.get("bin").is_none());
        assert_eq!(manifest["exports"].as_object().unwrap().keys().collect::<Vec<_>>(), [".", "./package.json"]);
        let index = file(&files, "typescript/src/index.ts");
        assert!(!index.contains("Registry") && !index.contains("runtime.js"), "{index}");
        assert!(file(&files, "typescript/README.md").contains("no runner runtime"));

        let protocol = file(&files, "typescript/src/protocol.ts");
        assert!(!protocol.contains("PROTOCOL_VERSION") && !protocol.contains("ErrorType"), "no version, no error types");
        assert!(protocol.contains("account: number | bigint;"), "u64 beyond 2^53");
        assert!(protocol.contains("amount: number | bigint;"), "i64");
        assert!(protocol.contains("booked_at?: Timestamp;"), "a nullable timestamp the wire omits");
        assert!(protocol.contains("rate?: number;"), "optional, not nullable, no default");
        assert!(protocol.contains("matrix: Array<Array<number>>;"));
        assert!(protocol.contains("buckets?: { [key: string]: Array<number> };"));
        assert!(protocol.contains("export type Side = \"debit\" | \"credit\" | \"memo-only\";"));
        assert!(protocol.contains("MemoOnly: \"memo-only\""));

        let codec = file(&files, "typescript/src/codec.ts");
        assert!(codec.contains(r#"readInteger(v, path, "account", 0n, 18446744073709551615n, "integer in 0..=18446744073709551615")"#));
        assert!(codec.contains(r#"readInteger(v, path, "amount", -9223372036854775808n, 9223372036854775807n,"#));
        assert!(codec.contains(r#"readArray(v, path, "matrix", "array", (x0, p0, i0) => readArray(x0, p0, i0, "array", (x1, p1, i1) => readSafeInteger(x1, p1, i1, 0, 255, "integer in 0..=255")))"#));
        assert!(codec.contains(r#"readMap(v, path, "buckets", "object", (x0, p0, k0) => readArray(x0, p0, k0, "array", (x1, p1, i1) => readFloat(x1, p1, i1, "number")))"#));
        assert!(codec.contains("or null\")"), "the nullable timestamp's expectation");
        assert!(codec.contains(r#"v === undefined ? undefined : readFloat(v, path, "rate", "number")"#));
        assert!(codec.contains(r#"from "./values.js""#), "modules at the root import their neighbours");
    }

    #[test]
    fn every_builtin_version_gets_its_modules_and_one_shared_runtime() {
        let package = builtin_package();
        assert_eq!(package.name, crate::schema::BUILTIN_PACKAGE_NAME);
        let files = render(&package).unwrap();
        let all = paths(&files);
        for shared in ["json.ts", "errors.ts", "values.ts", "timestamp.ts", "frame.ts", "runtime.ts", "cli.ts", "index.ts"] {
            let path = format!("typescript/src/{shared}");
            assert_eq!(all.iter().filter(|p| **p == path).count(), 1, "{path}");
            assert!(!all.iter().any(|p| p.ends_with(&format!("/v1/{shared}")) && shared != "index.ts"), "{shared} is not copied per version");
        }
        let manifest: Value = serde_json::from_str(file(&files, "typescript/package.json")).unwrap();
        assert_eq!(manifest["name"], package.name.as_str());
        assert_eq!(manifest["bin"][package.name.as_str()], "dist/cli.js");
        let runtime = file(&files, "typescript/src/runtime.ts");
        assert!(!runtime.contains("glue.js") && !runtime.contains("from \"./v"), "the runtime imports no version");
        let readme = file(&files, "typescript/README.md");
        let top = file(&files, "typescript/src/index.ts");
        for protocol in &package.protocols {
            let module = protocol.module.as_deref().unwrap();
            let version = spoken_version(&protocol.ir).unwrap();
            assert_eq!(manifest["exports"][format!("./{module}")]["import"], format!("./dist/{module}/index.js"));
            for per in ["protocol.ts", "codec.ts", "messages.ts", "glue.ts", "index.ts"] {
                assert!(all.contains(&format!("typescript/src/{module}/{per}")), "{module}/{per}");
            }
            assert!(file(&files, &format!("typescript/src/{module}/protocol.ts")).contains(&format!("export const PROTOCOL_VERSION = {};", lit(version))));
            let (releases, _) = rrq_releases(&protocol.ir).expect("every built-in version has its RRQ releases");
            assert!(readme.contains(&format!("| `{}/{module}`", package.name)) && readme.contains(releases), "{module} in the README");
            assert!(top.contains(&format!("export * as {module} from \"./{module}/index.js\";")));

            // The binding reads every runner role from the IR: each one's wire name is there.
            let roles = protocol.roles.as_ref().unwrap();
            let glue = file(&files, &format!("typescript/src/{module}/glue.ts"));
            for wire in [&roles.req_request_id, &roles.req_job_id, &roles.req_function_name, &roles.ctx_deadline, &roles.cancel_hard_kill, &roles.out_retry_after] {
                assert!(glue.contains(&name(wire).get), "{module}: {wire}");
            }
            let inputs: Vec<String> = roles.req_inputs.iter().map(|f| lit(f)).collect();
            assert!(glue.contains(&format!("export const INPUTS: readonly string[] = [{}];", inputs.join(", "))), "{module} inputs");
            let index = file(&files, &format!("typescript/src/{module}/index.ts"));
            assert!(index.contains(&format!("export class Registry extends AnyRegistry<{}, {}Init>", roles.request, roles.outcome)));
        }
        let latest = package.latest().module.as_deref().unwrap();
        assert!(top.contains(&format!("export * from \"./{latest}/index.js\";")));
    }

    #[test]
    fn the_package_name_names_the_package_its_command_and_its_imports() {
        let options = crate::Options { package: Some("billing-runner".into()) };
        let package = Package::new(&crate::Source::BuiltIn, &options).unwrap();
        let files = render(&package).unwrap();
        let manifest: Value = serde_json::from_str(file(&files, "typescript/package.json")).unwrap();
        assert_eq!(manifest["name"], "billing-runner");
        assert_eq!(manifest["bin"]["billing-runner"], "dist/cli.js");
        assert!(file(&files, "typescript/src/cli.ts").contains("const NAME = \"billing-runner\";"));
        assert!(file(&files, "typescript/src/runtime.ts").contains("const NAME = \"billing-runner\";"));
        let readme = file(&files, "typescript/README.md");
        assert!(readme.starts_with("<!--") && readme.contains("# billing-runner "));
        assert!(readme.contains("npx billing-runner --handlers") && readme.contains("from \"billing-runner/v1\""));
        assert!(!files.iter().any(|f| String::from_utf8_lossy(&f.contents).contains(crate::schema::BUILTIN_PACKAGE_NAME)), "no trace of the default name");
    }

    /// Every field of every struct renamed (`x_` + name), the runner roles kept: the bindings
    /// follow the roles, and no former name is left in the binding or the runtime.
    #[test]
    fn renamed_fields_keep_their_roles_and_leave_no_trace() {
        for builtin in crate::schema::builtins() {
            let original = builtin.schema();
            let ir = crate::ir::lower(&original).unwrap();
            let mut renamed = original.clone();
            for def in renamed["$defs"].as_object_mut().unwrap().values_mut() {
                let Some(object) = def.as_object_mut() else { continue };
                if let Some(Value::Object(properties)) = object.get("properties") {
                    let properties: serde_json::Map<String, Value> =
                        properties.iter().map(|(k, v)| (format!("x_{k}"), v.clone())).collect();
                    object.insert("properties".into(), Value::Object(properties));
                    for list in ["required", "x-rrq-always-written"] {
                        if let Some(Value::Array(names)) = object.get_mut(list) {
                            for n in names.iter_mut() {
                                *n = Value::String(format!("x_{}", n.as_str().unwrap()));
                            }
                        }
                    }
                }
            }
            let files = render(&Package::for_schema(&renamed).unwrap()).unwrap();
            let module = format!("v{}", builtin.version);
            let glue = file(&files, &format!("typescript/src/{module}/glue.ts"));
            // The shared modules do not depend on the schema at all.
            let before = render(&Package::for_schema(&original).unwrap()).unwrap();
            for shared in ["runtime.ts", "cli.ts", "json.ts", "values.ts", "frame.ts", "errors.ts", "timestamp.ts"] {
                let path = format!("typescript/src/{shared}");
                let strip = |text: &str| text.lines().skip(2).collect::<Vec<_>>().join("\n");
                assert_eq!(strip(file(&files, &path)), strip(file(&before, &path)), "{path}");
            }
            let Some(TypeDef::Union(root)) = ir.get(&ir.root) else { panic!("a union root") };
            // The envelope's tag and content keys are not struct fields: they are not renamed.
            let envelope = [name(&root.tag).get, name(&root.content).get];
            let mut checked = 0;
            for def in &ir.types {
                if let TypeDef::Struct(s) = def {
                    for f in s.fields.iter().filter(|f| f.role.is_some()) {
                        let renamed_access = name(&format!("x_{}", f.name)).get;
                        let former = name(&f.name).get;
                        // `.x_name` contains `_name`, never `.name`.
                        if !envelope.contains(&former) {
                            assert!(!glue.replace(&renamed_access, "").contains(&former), "{module}: `{former}` left in glue.ts");
                        }
                        if f.role != Some(FieldRole::Attempt) && f.role != Some(FieldRole::EnqueueTime) && f.role != Some(FieldRole::QueueName)
                            && f.role != Some(FieldRole::WorkerId) && f.role != Some(FieldRole::TraceContext) && f.role != Some(FieldRole::CorrelationContext)
                        {
                            assert!(glue.contains(&renamed_access) || glue.contains(&lit(&format!("x_{}", f.name))), "{module}: {renamed_access} used");
                            checked += 1;
                        }
                    }
                }
            }
            assert!(checked >= 15, "{module}: {checked} role fields checked");
        }
    }

    /// A field added to a copy of a schema shows up in the types, the reader and the writer,
    /// with no template change.
    #[test]
    fn a_new_schema_field_changes_the_output() {
        let base = render(&Package::for_schema(&ledger()).unwrap()).unwrap();
        let mut changed = ledger();
        let posting = changed["$defs"]["Posting"].as_object_mut().unwrap();
        posting["properties"].as_object_mut().unwrap().insert(
            "priority_class".into(),
            json!({"description": "Scheduling class of the posting.", "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255}),
        );
        posting["required"].as_array_mut().unwrap().push("priority_class".into());
        let files = render(&Package::for_schema(&changed).unwrap()).unwrap();
        let protocol = file(&files, "typescript/src/protocol.ts");
        let codec = file(&files, "typescript/src/codec.ts");
        assert!(!file(&base, "typescript/src/protocol.ts").contains("priority_class"));
        assert!(protocol.contains("Scheduling class of the posting."));
        assert!(protocol.contains("priority_class: number;"));
        assert!(codec.contains("readSafeInteger(v, path, \"priority_class\", 0, 255, \"integer in 0..=255\")"));
        assert!(codec.contains(r#"out += ",\"priority_class\":""#), "an always written field after others: its `,` is known");
    }

    #[test]
    fn a_missing_role_is_a_clear_error() {
        for builtin in crate::schema::builtins() {
            let mut schema = builtin.schema();
            let role = crate::ir::ROLE_KEY;
            for def in schema["$defs"].as_object_mut().unwrap().values_mut() {
                if let Some(Value::Object(properties)) = def.get_mut("properties") {
                    for property in properties.values_mut() {
                        if property.get(role).and_then(Value::as_str) == Some(FieldRole::FunctionName.as_str()) {
                            property.as_object_mut().unwrap().remove(role);
                        }
                    }
                }
            }
            let err = Package::for_schema(&schema).err().expect("a schema missing a role").to_string();
            assert!(err.contains(FieldRole::FunctionName.as_str()), "{err}");
        }
    }

    #[test]
    fn type_names_the_package_cannot_export_are_refused() {
        for bad in ["Registry", "Map", "Date", "class"] {
            let mut schema = ledger();
            let defs = schema["$defs"].as_object_mut().unwrap();
            defs.insert(bad.into(), json!({"type": "object", "properties": {"a": {"type": "string"}}}));
            defs["Batch"]["properties"].as_object_mut().unwrap().insert("b".into(), json!({"$ref": format!("#/$defs/{bad}")}));
            let err = render(&Package::for_schema(&schema).unwrap()).err().unwrap();
            assert!(format!("{err:#}").contains(&format!("`{bad}`")), "{bad}: {err:#}");
        }
        let mut schema = ledger();
        schema["$defs"]["Side"]["enum"] = json!(["a-b", "a_b"]);
        let err = render(&Package::for_schema(&schema).unwrap()).err().unwrap();
        assert!(format!("{err:#}").contains("`AB`"), "{err:#}");
    }

    #[test]
    fn names_and_literals() {
        assert_eq!(pascal("handler_not_found"), "HandlerNotFound");
        assert_eq!(access("o", "type"), "o.type");
        assert_eq!(access("o", "a b"), "o[\"a b\"]");
        assert_eq!(access("o", "constructor"), "own(o, \"constructor\")");
        assert_eq!(name("a b").get, "[\"a b\"]");
        assert_eq!(name("a b").opt, "?.[\"a b\"]");
        assert_eq!(name("status").key, "status");
        assert_eq!(int_literal(1 << 60), "1152921504606846976n");
        assert_eq!(jsdoc("a */ b", ""), "/**\n * a *\\/ b\n */\n");
        assert_eq!(path_segment("", "payload"), "payload");
        assert_eq!(path_segment("payload", "a b"), "payload[\"a b\"]");
    }

    #[test]
    fn every_file_ends_with_one_newline() {
        for files in [render(&builtin_package()).unwrap(), render(&Package::for_schema(&ledger()).unwrap()).unwrap()] {
            for f in &files {
                assert!(f.contents.ends_with(b"\n") && !f.contents.ends_with(b"\n\n"), "{}", f.path.display());
            }
        }
    }
}
