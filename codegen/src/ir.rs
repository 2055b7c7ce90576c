//! The language-neutral intermediate representation, and its lowering from a JSON Schema.
//!
//! The IR is the only thing templates see. It is small on purpose: named structs with ordered
//! fields, string enums, tagged unions, and field types built from scalars, timestamps,
//! any-JSON, arrays and maps. `rrq-codegen ir` prints it as JSON.
//!
//! Lowering reads only the schema (never the Rust types) and accepts a closed set of
//! constructs; anything else is an error naming its JSON pointer, so a schema change the
//! generators do not understand can never be silently dropped.

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The whole protocol: every named type, dependencies before the types that use them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ir {
    /// Name of the root type: the message every frame carries.
    pub root: String,
    pub meta: Meta,
    pub types: Vec<TypeDef>,
}

/// Facts about the protocol that are not types (the schema's optional `x-rrq` object; every
/// key is optional, with the defaults below).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    /// The protocol version requests and cancels carry (`x-rrq.protocol_version`); none for a
    /// schema that declares none.
    pub version: Option<String>,
    /// Which orchestrators speak this protocol (e.g. `RRQ 0.9.x`), for the generated docs.
    pub orchestrators: Option<String>,
    /// How those orchestrators hand a runner its address, for the generated docs.
    pub runner_address: Option<String>,
    /// The generated package's name in kebab case (`rrq-runner`), if the schema names one.
    pub package_name: Option<String>,
    /// Version of the protocol crate; the generated packages take it as theirs (default
    /// [`DEFAULT_PACKAGE_VERSION`]).
    pub package_version: String,
    /// Largest accepted frame body, in bytes (default [`DEFAULT_MAX_FRAME_LEN`]).
    pub max_frame_len: u64,
    /// Deepest accepted nesting of arrays and objects in a frame body (default
    /// [`DEFAULT_MAX_NESTING_DEPTH`]).
    pub max_nesting_depth: u64,
    /// The `error.type` values runners report themselves, with their meaning.
    pub error_types: Vec<EnumValue>,
    /// The messages runners write with those error types, identical in every language.
    pub error_messages: Vec<ErrorMessage>,
}

/// A message a runner writes in an `error` it produces itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorMessage {
    /// What the message is for (e.g. `handler_not_found`, `shutting_down`).
    pub name: String,
    /// The `error.type` it goes with (one of `Meta::error_types`).
    pub error_type: String,
    /// The text, with `{placeholder}`s for the values the runner fills in.
    pub template: String,
    /// The placeholders of `template`, in order of appearance.
    pub placeholders: Vec<String>,
}

/// `x-rrq.package_version` when a schema gives none.
pub const DEFAULT_PACKAGE_VERSION: &str = "0.1.0";
/// `x-rrq.max_frame_len` when a schema gives none: 16 MiB, RRQ's limit.
pub const DEFAULT_MAX_FRAME_LEN: u64 = 16 * 1024 * 1024;
/// `x-rrq.max_nesting_depth` when a schema gives none: serde_json's limit (127 levels parse).
pub const DEFAULT_MAX_NESTING_DEPTH: u64 = 127;

fn placeholders(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// The schema extension that names a runner role, on a property, a union variant or an enum
/// value: `"x-rrq-role": "request-id"`.
pub const ROLE_KEY: &str = "x-rrq-role";

/// Defines a role enum: its kebab-case names on the wire, `ALL`, `as_str` and `parse`.
macro_rules! roles {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$doc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum $name {
            $($(#[$doc])* #[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The role's name in the schema.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Reads the role at `pointer` (a string naming one of [`Self::ALL`]).
            fn parse(value: &Value, pointer: &str) -> Result<Self> {
                let text = value.as_str().ok_or_else(|| anyhow!("invalid {pointer}: a role must be a string"))?;
                Self::ALL.iter().copied().find(|r| r.as_str() == text).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
                    anyhow!("invalid {pointer}: unknown {} `{text}` (known: {})", $what, known.join(", "))
                })
            }
        }
    };
}

roles! {
    /// What a runner runtime does with a field. A role is unique within its struct.
    FieldRole, "field role" {
        /// The protocol version of the sender (requests, cancels); its default is the version.
        ProtocolVersion = "protocol-version",
        /// The request's identifier, echoed in its response; a cancel's request target.
        RequestId = "request-id",
        /// The job's identifier, echoed in the response; a cancel's job target.
        JobId = "job-id",
        /// The name of the handler to call.
        FunctionName = "function-name",
        /// The handler's input (arguments, parameters): given to handlers, echoed by examples.
        /// The only role a struct may give several fields.
        Input = "input",
        /// The request's execution context (a struct).
        Context = "context",
        /// The attempt number, from 1.
        Attempt = "attempt",
        /// When the job was enqueued (a timestamp).
        EnqueueTime = "enqueue-time",
        /// The queue the job came from.
        QueueName = "queue-name",
        /// The instant after which the runner answers `timeout` (a nullable timestamp).
        Deadline = "deadline",
        /// W3C trace-context propagation fields (a map of strings).
        TraceContext = "trace-context",
        /// Correlation fields attached by the producer (a map of strings).
        CorrelationContext = "correlation-context",
        /// The orchestrator worker that dispatched the job.
        WorkerId = "worker-id",
        /// How the request ended (an enum with value roles).
        Status = "status",
        /// The handler's return value.
        Result = "result",
        /// What went wrong (a struct with `message` and `error-type` roles).
        Error = "error",
        /// How long to wait before the next attempt, in seconds.
        RetryAfter = "retry-after",
        /// The text of an error.
        Message = "message",
        /// The kind of an error (`x-rrq.error_types` and handlers' own).
        ErrorType = "error-type",
        /// Ask the runner to stop the job forcibly.
        HardKill = "hard-kill",
    }
}

roles! {
    /// What a variant of the root union is to a runner.
    VariantRole, "variant role" {
        /// A job to execute: the runner answers it with one response.
        Request = "request",
        /// An outcome: what the runner writes (and refuses to read).
        Response = "response",
        /// A cancellation of a running request or job.
        Cancel = "cancel",
    }
}

roles! {
    /// What an enum value (of the status) means to a runner.
    ValueRole, "value role" {
        /// The handler returned a result.
        Success = "success",
        /// The job should run again later.
        Retry = "retry",
        /// The deadline passed.
        Timeout = "timeout",
        /// The handler or the runner failed.
        Error = "error",
    }
}

/// The role named at `pointer` in `schema`, if any.
fn role_of<R>(schema: &Value, pointer: &str, parse: fn(&Value, &str) -> Result<R>) -> Result<Option<R>> {
    schema.get(ROLE_KEY).map(|v| parse(v, &format!("{pointer}/{ROLE_KEY}"))).transpose()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeDef {
    Struct(Struct),
    Enum(Enum),
    Union(Union),
}

impl TypeDef {
    /// The named types this type refers to directly (with repetitions, in field order).
    pub fn dependencies(&self) -> Vec<String> {
        fn walk(ty: &Type, out: &mut Vec<String>) {
            match ty {
                Type::Named { name } => out.push(name.clone()),
                Type::Array { items } => walk(items, out),
                Type::Map { values } => walk(values, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        match self {
            TypeDef::Struct(s) => s.fields.iter().for_each(|f| walk(&f.ty, &mut out)),
            TypeDef::Enum(_) => {}
            TypeDef::Union(u) => out.extend(u.variants.iter().map(|v| v.ty.clone())),
        }
        out
    }

    pub fn name(&self) -> &str {
        match self {
            TypeDef::Struct(s) => &s.name,
            TypeDef::Enum(e) => &e.name,
            TypeDef::Union(u) => &u.name,
        }
    }
}

/// A JSON object with known fields, in declaration (wire) order. Unknown fields are ignored
/// when decoding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Struct {
    pub name: String,
    pub doc: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The name on the wire.
    pub name: String,
    pub doc: String,
    pub ty: Type,
    /// Decoding rejects an object without this field.
    pub required: bool,
    /// `null` is accepted and means "no value" (also for `any` fields: a `null` is read as
    /// absent, not as a JSON null value).
    pub nullable: bool,
    /// The value decoding uses when the field is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Encoding always writes the field (as `null` when it has no value); otherwise encoding
    /// omits it when it has no value.
    pub always_written: bool,
    /// What a runner runtime does with the field (`x-rrq-role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<FieldRole>,
}

impl Field {
    /// Whether a decoded value can lack this field (it is neither required nor defaulted, or
    /// it is nullable): the language type needs an "absent" state.
    pub fn optional_when_decoded(&self) -> bool {
        self.nullable || (!self.required && self.default.is_none())
    }
}

/// The type of a field, an array item or a map value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Type {
    Bool,
    String,
    /// An integer within inclusive bounds (JSON numbers without fraction or exponent, or
    /// whatever the reference decoder reads as an integer).
    Integer { min: Option<i128>, max: Option<i128> },
    /// A 64-bit float; integers are accepted.
    Float,
    /// An RFC 3339 instant, strict grammar (`docs/PROTOCOL.md`), nanosecond precision.
    Timestamp,
    /// Any JSON value; objects inside it are encoded with sorted keys.
    Any,
    Array { items: Box<Type> },
    /// A JSON object used as a map from string keys; encoded with sorted keys.
    Map { values: Box<Type> },
    /// A reference to a named type of the IR.
    Named { name: String },
}

/// A string enum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enum {
    pub name: String,
    pub doc: String,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumValue {
    pub value: String,
    pub doc: String,
    /// What the value means to a runner (`x-rrq-role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<ValueRole>,
}

/// A tagged union: an object whose `tag` field (a string) says which variant it is and whose
/// `content` field holds that variant's named type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Union {
    pub name: String,
    pub doc: String,
    pub tag: String,
    pub content: String,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// The tag's value on the wire.
    pub tag_value: String,
    pub doc: String,
    /// The named type of the content.
    pub ty: String,
    /// Description of the content field in this variant.
    pub content_doc: String,
    /// What the variant is to a runner (`x-rrq-role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<VariantRole>,
}

impl Ir {
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name() == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Lowering

/// Keywords that never change what is valid: read where useful, otherwise ignored.
const ANNOTATIONS: &[&str] =
    &["description", "title", "default", "$comment", "examples", "deprecated", "readOnly", "writeOnly"];

/// Escapes one segment of a JSON pointer (RFC 6901).
pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn doc(schema: &Map<String, Value>) -> String {
    schema.get("description").and_then(Value::as_str).unwrap_or("").to_string()
}

/// Fails on any keyword of `schema` outside `allowed` and the annotations.
fn only(schema: &Map<String, Value>, allowed: &[&str], pointer: &str, what: &str) -> Result<()> {
    for key in schema.keys() {
        if !allowed.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) && !key.starts_with("x-") {
            bail!("unsupported construct at {pointer}/{}: keyword `{key}` in {what}", escape_pointer(key));
        }
    }
    Ok(())
}

fn as_object<'a>(schema: &'a Value, pointer: &str) -> Result<Option<&'a Map<String, Value>>> {
    match schema {
        Value::Bool(true) => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        _ => bail!("unsupported construct at {pointer}: expected a schema object or `true`"),
    }
}

struct Lowering<'a> {
    defs: &'a Map<String, Value>,
}

impl Lowering<'_> {
    fn reference(&self, target: &str, pointer: &str) -> Result<String> {
        let name = target
            .strip_prefix("#/$defs/")
            .ok_or_else(|| anyhow!("unsupported construct at {pointer}/$ref: `{target}` is not a #/$defs/ reference"))?;
        if !self.defs.contains_key(name) {
            bail!("unresolved $ref at {pointer}/$ref: no type `{name}` under $defs");
        }
        Ok(name.to_string())
    }

    /// Lowers a field-level schema: returns the type and whether `null` is allowed.
    fn field_type(&self, schema: &Value, pointer: &str) -> Result<(Type, bool)> {
        // Any JSON (null included) is a value, not an absence: whether a `null` means "no value"
        // is decided by the field (an optional field without default is an `Option`).
        let Some(map) = as_object(schema, pointer)? else { return Ok((Type::Any, false)) };
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            only(map, &["$ref"], pointer, "a reference")?;
            return Ok((Type::Named { name: self.reference(target, pointer)? }, false));
        }
        if let Some(Value::Array(alternatives)) = map.get("anyOf") {
            only(map, &["anyOf"], pointer, "a nullable reference")?;
            let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null") && v.as_object().is_some_and(|o| o.len() == 1);
            let non_null: Vec<(usize, &Value)> = alternatives.iter().enumerate().filter(|(_, v)| !is_null(v)).collect();
            if alternatives.len() != 2 || non_null.len() != 1 {
                bail!("unsupported construct at {pointer}/anyOf: only `anyOf: [T, {{\"type\": \"null\"}}]` is supported");
            }
            let (index, inner) = non_null[0];
            let (ty, nullable) = self.field_type(inner, &format!("{pointer}/anyOf/{index}"))?;
            if nullable {
                bail!("unsupported construct at {pointer}/anyOf/{index}: nested nullable");
            }
            return Ok((ty, true));
        }
        let (names, nullable): (Vec<&str>, bool) = match map.get("type") {
            None => {
                only(map, &[], pointer, "an any-JSON schema")?;
                return Ok((Type::Any, false));
            }
            Some(Value::String(t)) => (vec![t.as_str()], false),
            Some(Value::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                let nullable = names.contains(&"null");
                (names.into_iter().filter(|t| *t != "null").collect(), nullable)
            }
            Some(_) => bail!("unsupported construct at {pointer}/type: expected a string or an array of strings"),
        };
        let [name] = names[..] else {
            bail!("unsupported construct at {pointer}/type: a union of types other than with `null`");
        };
        let ty = match name {
            "boolean" => {
                only(map, &["type"], pointer, "a boolean")?;
                Type::Bool
            }
            "string" => match map.get("format").and_then(Value::as_str) {
                Some("date-time") => {
                    only(map, &["type", "format", "pattern"], pointer, "a timestamp")?;
                    Type::Timestamp
                }
                Some(other) => bail!("unsupported construct at {pointer}/format: string format `{other}`"),
                None => {
                    only(map, &["type"], pointer, "a string")?;
                    Type::String
                }
            },
            "integer" => {
                only(map, &["type", "format", "minimum", "maximum"], pointer, "an integer")?;
                let bound = |key: &str| -> Result<Option<i128>> {
                    match map.get(key) {
                        None => Ok(None),
                        Some(Value::Number(n)) => n
                            .as_i64()
                            .map(i128::from)
                            .or_else(|| n.as_u64().map(i128::from))
                            .map(Some)
                            .ok_or_else(|| anyhow!("unsupported construct at {pointer}/{key}: an integer bound must be an integer")),
                        Some(_) => bail!("unsupported construct at {pointer}/{key}: expected a number"),
                    }
                };
                Type::Integer { min: bound("minimum")?, max: bound("maximum")? }
            }
            "number" => {
                only(map, &["type", "format"], pointer, "a number")?;
                Type::Float
            }
            "array" => {
                only(map, &["type", "items"], pointer, "an array")?;
                let items = map.get("items").unwrap_or(&Value::Bool(true));
                let (items, null_items) = self.field_type(items, &format!("{pointer}/items"))?;
                if null_items {
                    bail!("unsupported construct at {pointer}/items: nullable array items");
                }
                Type::Array { items: Box::new(items) }
            }
            "object" => {
                if map.contains_key("properties") {
                    bail!("unsupported construct at {pointer}/properties: an inline object type (give it a name under $defs)");
                }
                only(map, &["type", "additionalProperties"], pointer, "a map")?;
                let values = map.get("additionalProperties").unwrap_or(&Value::Bool(true));
                let (values, null_values) = self.field_type(values, &format!("{pointer}/additionalProperties"))?;
                if null_values {
                    bail!("unsupported construct at {pointer}/additionalProperties: nullable map values");
                }
                Type::Map { values: Box::new(values) }
            }
            other => bail!("unsupported construct at {pointer}/type: type `{other}`"),
        };
        Ok((ty, nullable))
    }

    fn strukt(&self, name: &str, map: &Map<String, Value>, pointer: &str) -> Result<Struct> {
        only(map, &["type", "properties", "required"], pointer, "a struct")?;
        let names = |key: &str| -> BTreeSet<String> {
            map.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let required = names("required");
        let written = match map.get("x-rrq-always-written") {
            Some(_) => names("x-rrq-always-written"),
            // A schema without the annotation: serde writes every field it requires.
            None => required.clone(),
        };
        let Some(Value::Object(properties)) = map.get("properties") else {
            bail!("unsupported construct at {pointer}/properties: expected an object");
        };
        for field in &required {
            if !properties.contains_key(field) {
                bail!("invalid schema at {pointer}/required: `{field}` is not a property");
            }
        }
        let mut fields = Vec::new();
        for (field, schema) in properties {
            let at = format!("{pointer}/properties/{}", escape_pointer(field));
            let (ty, nullable) = self.field_type(schema, &at)?;
            let is_required = required.contains(field);
            let default = schema.get("default").cloned();
            // An optional any-JSON field without a default is serde's `Option<Value>`, which
            // reads `null` as no value; other fields are nullable exactly when their schema
            // allows `null`.
            let nullable = nullable || (ty == Type::Any && !is_required && default.is_none());
            let role = role_of(schema, &at, FieldRole::parse)?;
            if let Some(role) = role.filter(|r| *r != FieldRole::Input && fields.iter().any(|f: &Field| f.role == Some(*r))) {
                bail!("invalid {at}/{ROLE_KEY}: the role `{}` is already on another field of `{name}`", role.as_str());
            }
            fields.push(Field {
                name: field.clone(),
                doc: schema.as_object().map(doc).unwrap_or_default(),
                ty,
                required: is_required,
                nullable,
                default,
                always_written: written.contains(field),
                role,
            });
        }
        Ok(Struct { name: name.to_string(), doc: doc(map), fields })
    }

    fn one_of(&self, name: &str, map: &Map<String, Value>, pointer: &str) -> Result<TypeDef> {
        only(map, &["oneOf"], pointer, "a oneOf")?;
        let Some(Value::Array(alternatives)) = map.get("oneOf") else {
            bail!("unsupported construct at {pointer}/oneOf: expected an array");
        };
        let is_value = |alt: &Value| {
            alt.get("const").is_some_and(Value::is_string) && alt.get("type").and_then(Value::as_str) == Some("string")
        };
        if alternatives.iter().all(is_value) {
            let mut values: Vec<EnumValue> = Vec::new();
            for (i, alt) in alternatives.iter().enumerate() {
                let at = format!("{pointer}/oneOf/{i}");
                only(alt.as_object().expect("checked above"), &["type", "const"], &at, "an enum value")?;
                let role = role_of(alt, &at, ValueRole::parse)?;
                if let Some(role) = role.filter(|r| values.iter().any(|v| v.role == Some(*r))) {
                    bail!("invalid {at}/{ROLE_KEY}: the role `{}` is already on another value of `{name}`", role.as_str());
                }
                let value = alt["const"].as_str().expect("checked above").to_string();
                values.push(EnumValue { value, doc: alt.as_object().map(doc).unwrap_or_default(), role });
            }
            return Ok(TypeDef::Enum(Enum { name: name.to_string(), doc: doc(map), values }));
        }
        let mut tag_name: Option<String> = None;
        let mut content_name: Option<String> = None;
        let mut variants = Vec::new();
        for (i, alt) in alternatives.iter().enumerate() {
            let at = format!("{pointer}/oneOf/{i}");
            let Some(alt) = alt.as_object() else { bail!("unsupported construct at {at}: expected an object schema") };
            only(alt, &["type", "properties", "required"], &at, "a tagged-union variant")?;
            let properties = alt.get("properties").and_then(Value::as_object);
            let shape = || anyhow!("unsupported construct at {at}: a oneOf variant must be an object with a string `const` tag property and one `$ref` content property, both required");
            let properties = properties.ok_or_else(shape)?;
            if properties.len() != 2 || alt.get("required").and_then(Value::as_array).map(Vec::len) != Some(2) {
                return Err(shape());
            }
            let (tag, tag_schema) = properties.iter().find(|(_, s)| s.get("const").is_some()).ok_or_else(shape)?;
            let (content, content_schema) = properties.iter().find(|(k, _)| *k != tag).ok_or_else(shape)?;
            let tag_value = tag_schema.get("const").and_then(Value::as_str).ok_or_else(shape)?;
            let target = content_schema.get("$ref").and_then(Value::as_str).ok_or_else(shape)?;
            let ty = self.reference(target, &format!("{at}/properties/{}", escape_pointer(content)))?;
            for (key, expected) in [(tag, &mut tag_name), (content, &mut content_name)] {
                match expected {
                    Some(previous) if previous != key => {
                        bail!("unsupported construct at {at}/properties: variants disagree on the tag or content field name (`{previous}` vs `{key}`)")
                    }
                    _ => *expected = Some(key.clone()),
                }
            }
            let role = role_of(&Value::Object(alt.clone()), &at, VariantRole::parse)?;
            if let Some(role) = role.filter(|r| variants.iter().any(|v: &Variant| v.role == Some(*r))) {
                bail!("invalid {at}/{ROLE_KEY}: the role `{}` is already on another variant of `{name}`", role.as_str());
            }
            variants.push(Variant {
                tag_value: tag_value.to_string(),
                doc: doc(alt),
                ty,
                content_doc: content_schema.as_object().map(doc).unwrap_or_default(),
                role,
            });
        }
        let (Some(tag), Some(content)) = (tag_name, content_name) else {
            bail!("unsupported construct at {pointer}/oneOf: an empty union");
        };
        Ok(TypeDef::Union(Union { name: name.to_string(), doc: doc(map), tag, content, variants }))
    }

    fn def(&self, name: &str, schema: &Value, pointer: &str) -> Result<TypeDef> {
        let Some(map) = as_object(schema, pointer)? else {
            bail!("unsupported construct at {pointer}: a named type must be an object schema");
        };
        if map.contains_key("oneOf") {
            return self.one_of(name, map, pointer);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            only(map, &["type", "enum"], pointer, "a string enum")?;
            let values = values
                .iter()
                .map(|v| v.as_str().map(|s| EnumValue { value: s.to_string(), doc: String::new(), role: None }))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow!("unsupported construct at {pointer}/enum: only string values"))?;
            return Ok(TypeDef::Enum(Enum { name: name.to_string(), doc: doc(map), values }));
        }
        if map.get("type").and_then(Value::as_str) == Some("object") && map.contains_key("properties") {
            return Ok(TypeDef::Struct(self.strukt(name, map, pointer)?));
        }
        bail!("unsupported construct at {pointer}: a named type must be a struct (object with properties), a string enum or a tagged union (oneOf)")
    }
}

/// Orders types so that each comes after the types it uses (stable otherwise); fails on cycles.
fn dependency_order(types: Vec<TypeDef>) -> Result<Vec<TypeDef>> {
    let mut by_name: BTreeMap<String, TypeDef> = types.iter().map(|t| (t.name().to_string(), t.clone())).collect();
    let mut ordered = Vec::new();
    fn visit(
        name: &str,
        by_name: &mut BTreeMap<String, TypeDef>,
        visiting: &mut Vec<String>,
        ordered: &mut Vec<TypeDef>,
    ) -> Result<()> {
        if visiting.iter().any(|v| v == name) {
            bail!("unsupported construct at #/$defs/{name}: recursive types ({} → {name})", visiting.join(" → "));
        }
        let Some(def) = by_name.remove(name) else { return Ok(()) };
        visiting.push(name.to_string());
        for dep in def.dependencies() {
            visit(&dep, by_name, visiting, ordered)?;
        }
        visiting.pop();
        ordered.push(def);
        Ok(())
    }
    for t in &types {
        visit(t.name(), &mut by_name, &mut Vec::new(), &mut ordered)?;
    }
    Ok(ordered)
}

/// Lowers a JSON Schema to the IR: the root (named by its `title`) and every type under `$defs`.
pub fn lower(schema: &Value) -> Result<Ir> {
    let Some(root) = schema.as_object() else { bail!("unsupported construct at (root): the schema must be an object") };
    let empty = Map::new();
    let defs = match root.get("$defs") {
        None => &empty,
        Some(Value::Object(defs)) => defs,
        Some(_) => bail!("unsupported construct at /$defs: expected an object"),
    };
    let root_name = root
        .get("title")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("unsupported construct at /title: the root schema needs a `title` naming its type"))?;
    if defs.contains_key(root_name) {
        bail!("invalid schema at /$defs/{root_name}: the root's name is also a $defs name");
    }
    let empty_meta = Value::Object(Map::new());
    let meta = match root.get("x-rrq") {
        None => &empty_meta,
        Some(meta @ Value::Object(_)) => meta,
        Some(_) => bail!("invalid /x-rrq: expected an object"),
    };
    let text = |key: &str| -> Result<Option<String>> {
        meta.get(key)
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| anyhow!("invalid /x-rrq/{key}: expected a string")))
            .transpose()
    };
    let number = |key: &str, default: u64| -> Result<u64> {
        meta.get(key)
            .map(|v| v.as_u64().ok_or_else(|| anyhow!("invalid /x-rrq/{key}: expected a non-negative integer")))
            .unwrap_or(Ok(default))
    };
    let meta = Meta {
        version: text("protocol_version")?,
        package_name: text("package_name")?,
        orchestrators: text("orchestrators")?,
        runner_address: text("runner_address")?,
        package_version: text("package_version")?.unwrap_or_else(|| DEFAULT_PACKAGE_VERSION.to_string()),
        max_frame_len: number("max_frame_len", DEFAULT_MAX_FRAME_LEN)?,
        max_nesting_depth: number("max_nesting_depth", DEFAULT_MAX_NESTING_DEPTH)?,
        error_types: match meta.get("error_types") {
            None => Vec::new(),
            Some(Value::Object(types)) => types
                .iter()
                .map(|(value, doc)| EnumValue { value: value.clone(), doc: doc.as_str().unwrap_or("").to_string(), role: None })
                .collect(),
            Some(_) => bail!("invalid /x-rrq/error_types: expected an object of descriptions"),
        },
        error_messages: match meta.get("error_messages") {
            None => Vec::new(),
            Some(Value::Object(messages)) => messages
                .iter()
                .map(|(name, m)| {
                    let field = |key: &str| {
                        m.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                            anyhow!("invalid /x-rrq/error_messages/{}/{key}: expected a string", escape_pointer(name))
                        })
                    };
                    let template = field("template")?;
                    Ok(ErrorMessage {
                        name: name.clone(),
                        error_type: field("error_type")?,
                        placeholders: placeholders(&template),
                        template,
                    })
                })
                .collect::<Result<_>>()?,
            Some(_) => bail!("invalid /x-rrq/error_messages: expected an object"),
        },
    };
    let lowering = Lowering { defs };
    let mut types = Vec::new();
    for (name, def) in defs {
        types.push(lowering.def(name, def, &format!("/$defs/{}", escape_pointer(name)))?);
    }
    let mut root_only = root.clone();
    for key in ["$schema", "$defs", "$id", "x-rrq"] {
        root_only.remove(key);
    }
    types.push(lowering.def(root_name, &Value::Object(root_only), "")?);
    Ok(Ir { root: root_name.to_string(), meta, types: dependency_order(types)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta() -> Value {
        json!({"protocol_version": "7", "package_version": "1.2.3", "max_frame_len": 100, "max_nesting_depth": 8})
    }

    fn schema(defs: Value, root: Value) -> Value {
        let mut root = root;
        let object = root.as_object_mut().unwrap();
        object.insert("title".into(), "Root".into());
        object.insert("$defs".into(), defs);
        object.insert("x-rrq".into(), meta());
        root
    }

    fn tagged(variants: &[(&str, &str)]) -> Value {
        let alternatives: Vec<Value> = variants
            .iter()
            .map(|(tag, ty)| {
                json!({"type": "object", "properties": {"kind": {"type": "string", "const": tag},
                    "body": {"$ref": format!("#/$defs/{ty}")}}, "required": ["kind", "body"]})
            })
            .collect();
        json!({"oneOf": alternatives})
    }

    fn lower_err(schema: &Value) -> String {
        format!("{:#}", lower(schema).unwrap_err())
    }

    fn strukt<'a>(ir: &'a Ir, name: &str) -> &'a Struct {
        match ir.get(name) {
            Some(TypeDef::Struct(s)) => s,
            other => panic!("{name} is not a struct: {other:?}"),
        }
    }

    fn field<'a>(s: &'a Struct, name: &str) -> &'a Field {
        s.fields.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no field {name}"))
    }

    /// Every built-in version's IR.
    fn builtins() -> Vec<(crate::schema::Builtin, Ir)> {
        crate::schema::builtins().into_iter().map(|b| (b, lower(&b.schema()).unwrap())).collect()
    }

    /// The struct a union variant with `role` holds.
    fn variant_struct(ir: &Ir, role: VariantRole) -> &Struct {
        let Some(TypeDef::Union(root)) = ir.get(&ir.root) else { panic!("the root is a union") };
        let variant = root.variants.iter().find(|v| v.role == Some(role)).expect("the variant");
        strukt(ir, &variant.ty)
    }

    fn with_role(s: &Struct, role: FieldRole) -> &Field {
        s.fields.iter().find(|f| f.role == Some(role)).unwrap_or_else(|| panic!("no {} in {}", role.as_str(), s.name))
    }

    fn named(ty: &Type) -> &str {
        match ty {
            Type::Named { name } => name,
            other => panic!("not a named type: {other:?}"),
        }
    }

    #[test]
    fn protocol_types_come_dependencies_first_with_the_root_last() {
        for (builtin, ir) in builtins() {
            let names: Vec<&str> = ir.types.iter().map(TypeDef::name).collect();
            assert_eq!(names.last(), Some(&ir.root.as_str()));
            for (i, def) in ir.types.iter().enumerate() {
                for dep in def.dependencies() {
                    assert!(names[..i].contains(&dep.as_str()), "{}: {dep} comes before {}", builtin.version, def.name());
                }
            }
            assert_eq!(ir.meta.version.as_deref(), Some(builtin.version));
            assert_eq!(ir.meta.max_frame_len, rrq_protocol::MAX_FRAME_LEN as u64);
            assert_eq!(ir.meta.error_types.len(), rrq_protocol::ERROR_TYPES.len());
            let busy = ir.meta.error_messages.iter().find(|m| m.name == "busy").unwrap();
            assert_eq!((busy.error_type.as_str(), busy.placeholders.as_slice()), ("busy", &["limit".to_string()][..]));
            for message in &ir.meta.error_messages {
                assert!(ir.meta.error_types.iter().any(|t| t.value == message.error_type), "{}", message.name);
            }
        }
    }

    /// The serde shapes of the fields the runtime acts on, found by role in every version.
    #[test]
    fn protocol_fields_keep_serde_shapes() {
        for (builtin, ir) in builtins() {
            let request = variant_struct(&ir, VariantRole::Request);
            let version = with_role(request, FieldRole::ProtocolVersion);
            assert_eq!((version.required, version.nullable, version.always_written), (false, false, true));
            assert_eq!(version.default, Some(json!(builtin.version)), "the version's default is the version");
            assert!(!version.optional_when_decoded());
            assert_eq!(request.fields.first().map(|f| f.role), Some(Some(FieldRole::ProtocolVersion)), "declaration order");
            for input in request.fields.iter().filter(|f| f.role == Some(FieldRole::Input)) {
                assert!(matches!(&input.ty, Type::Array { items } | Type::Map { values: items } if **items == Type::Any));
                assert!(!input.required && input.default.is_some() && input.always_written, "{}", input.name);
            }
            let context = strukt(&ir, named(&with_role(request, FieldRole::Context).ty));
            assert_eq!(with_role(context, FieldRole::Attempt).ty, Type::Integer { min: Some(0), max: Some(u32::MAX as i128) });
            assert_eq!(with_role(context, FieldRole::EnqueueTime).ty, Type::Timestamp);
            let deadline = with_role(context, FieldRole::Deadline);
            assert_eq!((deadline.required, deadline.nullable, deadline.always_written), (false, true, true));
            let trace = with_role(context, FieldRole::TraceContext);
            assert_eq!(trace.ty, Type::Map { values: Box::new(Type::String) });
            assert!(trace.nullable && trace.always_written);

            let outcome = variant_struct(&ir, VariantRole::Response);
            let result = with_role(outcome, FieldRole::Result);
            assert_eq!(result.ty, Type::Any);
            assert_eq!((result.required, result.nullable, result.always_written), (false, true, false));
            assert_eq!(with_role(outcome, FieldRole::RetryAfter).ty, Type::Float);
            let error = with_role(outcome, FieldRole::Error);
            assert_eq!((error.nullable, error.always_written), (true, false));
            let error = strukt(&ir, named(&error.ty));
            assert_ne!(with_role(error, FieldRole::ErrorType).name, "error_type", "serde renames reach the IR");
            let cancel = variant_struct(&ir, VariantRole::Cancel);
            assert_eq!(with_role(cancel, FieldRole::HardKill).default, Some(json!(false)));
            assert!(!with_role(cancel, FieldRole::RequestId).always_written);
            assert!(!with_role(cancel, FieldRole::JobId).doc.is_empty(), "docs flow from Rust");
        }
    }

    /// What protocol "2" changed from "1", through the IR: the inputs and the correlation context.
    #[test]
    fn protocol_two_differs_from_one_in_the_inputs_and_the_context() {
        let irs = builtins();
        let inputs = |ir: &Ir| -> Vec<Type> {
            variant_struct(ir, VariantRole::Request).fields.iter().filter(|f| f.role == Some(FieldRole::Input)).map(|f| f.ty.clone()).collect()
        };
        let any = Box::new(Type::Any);
        assert_eq!(inputs(&irs[0].1), [Type::Array { items: any.clone() }, Type::Map { values: any.clone() }]);
        assert_eq!(inputs(&irs[1].1), [Type::Map { values: any }]);
        let context = |ir: &Ir| strukt(ir, named(&with_role(variant_struct(ir, VariantRole::Request), FieldRole::Context).ty)).clone();
        assert!(!context(&irs[0].1).fields.iter().any(|f| f.role == Some(FieldRole::CorrelationContext)));
        let v2 = context(&irs[1].1);
        let correlation = with_role(&v2, FieldRole::CorrelationContext);
        assert!(correlation.nullable && correlation.default == Some(Value::Null));
        let position = |role| v2.fields.iter().position(|f| f.role == Some(role)).unwrap();
        assert_eq!(position(FieldRole::CorrelationContext), position(FieldRole::TraceContext) + 1);
    }

    #[test]
    fn protocol_enum_and_union() {
        for (_, ir) in builtins() {
            let outcome = variant_struct(&ir, VariantRole::Response);
            let Some(TypeDef::Enum(status)) = ir.get(named(&with_role(outcome, FieldRole::Status).ty)) else { panic!() };
            let roles: Vec<Option<ValueRole>> = status.values.iter().map(|v| v.role).collect();
            assert_eq!(roles, ValueRole::ALL.iter().copied().map(Some).collect::<Vec<_>>());
            assert!(status.values.iter().all(|v| !v.doc.is_empty()));
            let Some(TypeDef::Union(message)) = ir.get(&ir.root) else { panic!() };
            let roles: Vec<Option<VariantRole>> = message.variants.iter().map(|v| v.role).collect();
            assert_eq!(roles, VariantRole::ALL.iter().copied().map(Some).collect::<Vec<_>>());
        }
    }

    #[test]
    fn roles_are_checked_where_they_are_declared() {
        let defs = json!({"T": {"type": "object", "properties": {
            "a": {"type": "string", "x-rrq-role": "request-id"},
            "b": {"type": "string", "x-rrq-role": "request-id"}}}});
        assert!(lower_err(&schema(defs, tagged(&[("t", "T")]))).contains("already on another field"));
        let defs = json!({"T": {"type": "object", "properties": {"a": {"type": "string", "x-rrq-role": "request_id"}}}});
        let err = lower_err(&schema(defs, tagged(&[("t", "T")])));
        assert!(err.contains("/$defs/T/properties/a/x-rrq-role") && err.contains("unknown field role `request_id`"), "{err}");
        let defs = json!({"T": {"type": "object", "properties": {
            "i": {"type": "array", "x-rrq-role": "input"}, "j": {"type": "object", "x-rrq-role": "input"}}}});
        let ir = lower(&schema(defs, tagged(&[("t", "T")]))).unwrap();
        assert_eq!(strukt(&ir, "T").fields.iter().filter(|f| f.role == Some(FieldRole::Input)).count(), 2, "inputs may repeat");
    }

    #[test]
    fn small_schema_lowers_every_construct() {
        let defs = json!({
            "Thing": {"type": "object", "description": "A thing.", "properties": {
                "n": {"type": "integer", "format": "int8", "minimum": -128, "maximum": 127},
                "when": {"type": ["string", "null"], "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "any": true,
                "flag": {"type": "boolean", "default": false},
                "kind": {"anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]},
                "ratio": {"type": "number"}
            }, "required": ["n", "any"], "x-rrq-always-written": ["n", "when", "tags", "any", "flag"]},
            "Kind": {"type": "string", "enum": ["a", "b"]}
        });
        let ir = lower(&schema(defs, tagged(&[("thing", "Thing")]))).unwrap();
        assert_eq!(ir.meta.version.as_deref(), Some("7"));
        let names: Vec<&str> = ir.types.iter().map(TypeDef::name).collect();
        assert_eq!(names, ["Kind", "Thing", "Root"]);
        let thing = strukt(&ir, "Thing");
        assert_eq!(thing.doc, "A thing.");
        let shapes: Vec<(&str, bool, bool, bool)> =
            thing.fields.iter().map(|f| (f.name.as_str(), f.required, f.nullable, f.always_written)).collect();
        assert_eq!(
            shapes,
            [
                ("n", true, false, true),
                ("when", false, true, true),
                ("tags", false, false, true),
                ("any", true, false, true),
                ("flag", false, false, true),
                ("kind", false, true, false),
                ("ratio", false, false, false),
            ]
        );
        assert_eq!(field(thing, "n").ty, Type::Integer { min: Some(-128), max: Some(127) });
        assert_eq!(field(thing, "tags").ty, Type::Array { items: Box::new(Type::String) });
        let Some(TypeDef::Enum(kind)) = ir.get("Kind") else { panic!() };
        assert_eq!(kind.values.len(), 2);
    }

    #[test]
    fn without_always_written_annotation_required_fields_are_written() {
        let defs = json!({"T": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": ["string", "null"]}}, "required": ["a"]}});
        let ir = lower(&schema(defs, tagged(&[("t", "T")]))).unwrap();
        let t = strukt(&ir, "T");
        assert!(field(t, "a").always_written && !field(t, "b").always_written);
    }

    #[test]
    fn unsupported_constructs_name_their_json_pointer() {
        let cases = [
            (json!({"T": {"type": "object", "properties": {"a": {"type": "string", "minLength": 1}}}}),
             "/$defs/T/properties/a/minLength"),
            (json!({"T": {"type": "object", "properties": {"a/b": {"allOf": []}}}}),
             "/$defs/T/properties/a~1b/allOf"),
            (json!({"T": {"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}}),
             "/$defs/T/properties/a/type"),
            (json!({"T": {"type": "object", "properties": {"a": {"type": "object", "properties": {}}}}}),
             "/$defs/T/properties/a/properties"),
            (json!({"T": {"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}}}),
             "/$defs/T/properties/a/$ref"),
            (json!({"T": {"type": "object", "properties": {"a": {"type": "string", "format": "uuid"}}}}),
             "/$defs/T/properties/a/format"),
            (json!({"T": {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}),
             "/$defs/T/properties/a/anyOf"),
            (json!({"T": {"type": "object", "properties": {}, "additionalProperties": false}}),
             "/$defs/T/additionalProperties"),
            (json!({"T": {"type": "string"}}), "/$defs/T"),
        ];
        for (defs, pointer) in cases {
            let err = lower_err(&schema(defs.clone(), tagged(&[("t", "T")])));
            assert!(err.contains(pointer), "expected {pointer} in: {err}");
        }
        let err = lower_err(&schema(json!({"T": {"type": "object", "properties": {}}}), json!({"oneOf": [{"type": "object"}]})));
        assert!(err.contains("/oneOf/0"), "{err}");
    }

    #[test]
    fn recursive_types_and_missing_metadata_are_errors() {
        let defs = json!({"T": {"type": "object", "properties": {"next": {"anyOf": [{"$ref": "#/$defs/T"}, {"type": "null"}]}}}});
        assert!(lower_err(&schema(defs, tagged(&[("t", "T")]))).contains("recursive"));
        // Without `x-rrq` the metadata takes its documented defaults.
        let mut s = schema(json!({"T": {"type": "object", "properties": {}}}), tagged(&[("t", "T")]));
        s.as_object_mut().unwrap().remove("x-rrq");
        let meta = lower(&s).unwrap().meta;
        assert_eq!(meta.version, None);
        assert_eq!((meta.max_frame_len, meta.max_nesting_depth), (DEFAULT_MAX_FRAME_LEN, DEFAULT_MAX_NESTING_DEPTH));
        assert_eq!(meta.package_version, DEFAULT_PACKAGE_VERSION);
        s["x-rrq"] = json!({"max_frame_len": "big"});
        assert!(lower_err(&s).contains("/x-rrq/max_frame_len"));
    }
}
