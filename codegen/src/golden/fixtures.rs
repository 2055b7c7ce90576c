//! The messages the cases start from, built by walking the IR: the minimal message of each
//! variant (required fields only) and the maximal one (every field holding a value, not `null`),
//! with deterministic, readable values chosen by runner role where a field has one (the
//! request id is `req-1`, the job id `job-1` everywhere in a message, …) and by type otherwise.
//! Also the small JSON helpers the cases use to change one spot of a message.

use crate::ir::{Field, FieldRole, Ir, Meta, Struct, Type, TypeDef, Union, ValueRole, Variant};
use anyhow::{anyhow, bail, Result};
use serde_json::{json, Map, Value};

/// Object keys from the envelope to a value: `[content, field, field, …]`.
pub type Path = Vec<String>;

/// Which of the two base messages a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// The minimal message: short values (`req-1`, attempt 1, …).
    Min,
    /// The maximal message: every field, with fuller values (`req-2`, nanoseconds, …).
    Max,
}

/// The enqueue time of the minimal request (the first timestamp of a minimal message).
pub const ENQUEUE_TIME: &str = "2024-05-01T12:00:00Z";

/// A value standing for any JSON in an array of any (the maximal message's).
fn any_items() -> Value {
    json!(["s3://bucket/cat.png", 640, 480.5, true, null, [1, "two"], {"format": "webp", "quality": 80}])
}

/// A value standing for any JSON in a map of any (the maximal message's).
fn any_values() -> Value {
    json!({"dry_run": false, "tags": ["a", "b"], "ratio": 0.75, "owner": {"id": 7, "name": "Zoë"}})
}

/// The text of a field with a string role, if its role has one.
fn role_text(role: FieldRole, flavor: Flavor) -> Option<&'static str> {
    use Flavor::{Max, Min};
    use FieldRole as R;
    Some(match (role, flavor) {
        (R::RequestId, Min) => "req-1",
        (R::RequestId, Max) => "req-2",
        (R::JobId, Min) => "job-1",
        (R::JobId, Max) => "job-2",
        (R::FunctionName, Min) => "echo",
        (R::FunctionName, Max) => "resize_image",
        (R::QueueName, Min) => "default",
        (R::QueueName, Max) => "images",
        (R::WorkerId, _) => "worker-7",
        (R::Message, Min) => "m",
        (R::Message, Max) => "upstream unavailable",
        (R::ErrorType, _) => "ConnectionError",
        _ => return None,
    })
}

/// The base messages of one schema, and edits of them that keep each struct's field order.
pub struct Fixtures<'a> {
    pub ir: &'a Ir,
    /// The root union: its tag and content keys, its variants.
    pub root: &'a Union,
}

impl<'a> Fixtures<'a> {
    pub fn new(ir: &'a Ir) -> Result<Self> {
        let Some(TypeDef::Union(root)) = ir.get(&ir.root) else {
            bail!("the golden corpus needs the root type `{}` to be a tagged union", ir.root);
        };
        Ok(Fixtures { ir, root })
    }

    /// The struct named `name`.
    pub fn strukt(&self, name: &str) -> Result<&'a Struct> {
        match self.ir.get(name) {
            Some(TypeDef::Struct(s)) => Ok(s),
            _ => bail!("`{name}` is not a struct"),
        }
    }

    /// The struct a variant's content holds.
    pub fn payload(&self, variant: &Variant) -> Result<&'a Struct> {
        self.strukt(&variant.ty)
            .map_err(|_| anyhow!("the content of the `{}` message, `{}`, is not a struct", variant.tag_value, variant.ty))
    }

    /// `{tag: <variant's tag value>, content: payload}`.
    pub fn envelope(&self, variant: &Variant, payload: Value) -> Value {
        let mut out = Map::new();
        out.insert(self.root.tag.clone(), json!(variant.tag_value));
        out.insert(self.root.content.clone(), payload);
        Value::Object(out)
    }

    /// The protocol version the schema speaks (the one its `x-rrq` object declares), which must
    /// agree with the default of every field with the `protocol-version` role.
    pub fn version(&self) -> Result<String> {
        let defaults: Vec<&str> = self
            .ir
            .types
            .iter()
            .filter_map(|t| match t {
                TypeDef::Struct(s) => Some(s),
                _ => None,
            })
            .flat_map(|s| &s.fields)
            .filter(|f| f.role == Some(FieldRole::ProtocolVersion))
            .filter_map(|f| f.default.as_ref().and_then(Value::as_str))
            .collect();
        let Meta { version: declared, .. } = &self.ir.meta;
        match (declared, defaults.first()) {
            (Some(declared), _) if defaults.iter().any(|d| d != declared) => {
                bail!("the schema's x-rrq declares protocol version {declared:?} but a `protocol-version` field defaults to another one")
            }
            (Some(declared), _) => Ok(declared.clone()),
            (None, Some(default)) => Ok(default.to_string()),
            (None, None) => bail!("the schema declares no protocol version (in its x-rrq object)"),
        }
    }

    /// A protocol version that is not the schema's: the next integer (or the version with
    /// `.1` appended when it is not an integer).
    pub fn other_protocol_version(&self) -> Result<String> {
        let version = self.version()?;
        Ok(match version.parse::<u64>() {
            Ok(n) => (n + 1).to_string(),
            Err(_) => format!("{version}.1"),
        })
    }

    /// The message of `variant` with only its required fields.
    pub fn minimal(&self, variant: &Variant) -> Result<Value> {
        Ok(self.envelope(variant, self.object(self.payload(variant)?, Flavor::Min)?))
    }

    /// The message of `variant` with every field holding a value.
    pub fn maximal(&self, variant: &Variant) -> Result<Value> {
        Ok(self.envelope(variant, self.object(self.payload(variant)?, Flavor::Max)?))
    }

    /// The minimal message plus the request and job ids it can carry (a response as a runner
    /// writes it: correlated to its request).
    pub fn typical(&self, variant: &Variant) -> Result<Value> {
        let st = self.payload(variant)?;
        let payload = self.pick(st, |f| {
            let id = matches!(f.role, Some(FieldRole::RequestId | FieldRole::JobId));
            (f.required || id).then(|| self.value(f, Flavor::Min)).transpose()
        })?;
        Ok(self.envelope(variant, payload))
    }

    /// A struct as a JSON object: its required fields (`Min`) or all of them (`Max`).
    pub fn object(&self, st: &Struct, flavor: Flavor) -> Result<Value> {
        self.pick(st, |f| (flavor == Flavor::Max || f.required).then(|| self.value(f, flavor)).transpose())
    }

    /// A struct as a JSON object holding the fields `pick` gives a value, in declaration order.
    pub fn pick(&self, st: &Struct, mut pick: impl FnMut(&Field) -> Result<Option<Value>>) -> Result<Value> {
        let mut out = Map::new();
        for field in &st.fields {
            if let Some(value) = pick(field)? {
                out.insert(field.name.clone(), value);
            }
        }
        Ok(Value::Object(out))
    }

    /// The value of one field in a base message: by its role where the role says what values
    /// look like, else by its type.
    pub fn value(&self, field: &Field, flavor: Flavor) -> Result<Value> {
        if let Some(role) = field.role {
            if let Some(value) = self.role_value(role, &field.ty, flavor)? {
                return Ok(value);
            }
        }
        self.of_type(&field.ty, flavor, &field.name)
    }

    fn role_value(&self, role: FieldRole, ty: &Type, flavor: Flavor) -> Result<Option<Value>> {
        use FieldRole as R;
        Ok(match (role, ty) {
            (R::ProtocolVersion, Type::String) => Some(json!(self.version()?)),
            (_, Type::String) => role_text(role, flavor).map(Value::from),
            (R::EnqueueTime, Type::Timestamp) => Some(json!(match flavor {
                Flavor::Min => ENQUEUE_TIME,
                Flavor::Max => "2024-05-01T12:00:00.123456789Z",
            })),
            (R::TraceContext, Type::Map { values }) if **values == Type::String => Some(json!({
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tracestate": "rojo=00f067aa0ba902b7"
            })),
            (R::CorrelationContext, Type::Map { values }) if **values == Type::String => {
                Some(json!({"tenant": "acme", "session": "s-42"}))
            }
            (R::Result, Type::Any) => Some(json!({"partial": [1, 2, 3], "done": false})),
            _ => None,
        })
    }

    /// A value of type `ty` (for a field called `name`).
    pub fn of_type(&self, ty: &Type, flavor: Flavor, name: &str) -> Result<Value> {
        let max = flavor == Flavor::Max;
        Ok(match ty {
            Type::Bool => json!(max),
            Type::String => json!(format!("{name}-{}", if max { 2 } else { 1 })),
            Type::Integer { min, max: upper } => {
                let wanted: i128 = if max { 3 } else { 1 };
                let n = wanted.max(min.unwrap_or(i128::MIN)).min(upper.unwrap_or(i128::MAX));
                integer(n).ok_or_else(|| anyhow!("no JSON integer fits the bounds of `{name}`"))?
            }
            Type::Float => json!(if max { 2.5 } else { 0.5 }),
            Type::Timestamp => json!(if max { "2024-05-01T12:05:00Z" } else { ENQUEUE_TIME }),
            Type::Any if max => json!({"host": "images.internal", "attempts": 2, "backoff": [0.5, 1.0]}),
            Type::Any => json!({}),
            Type::Array { items } if max && **items == Type::Any => any_items(),
            Type::Array { items } if max => json!([self.of_type(items, flavor, name)?]),
            Type::Array { .. } => json!([]),
            Type::Map { values } if max && **values == Type::Any => any_values(),
            Type::Map { values } if max => json!({"key": self.of_type(values, flavor, name)?}),
            Type::Map { .. } => json!({}),
            Type::Named { name: ty } => match self.ir.get(ty) {
                Some(TypeDef::Struct(st)) => self.object(st, flavor)?,
                Some(TypeDef::Enum(e)) => {
                    let wanted = if max { ValueRole::Retry } else { ValueRole::Success };
                    let value = e.values.iter().find(|v| v.role == Some(wanted)).or(e.values.first());
                    json!(value.ok_or_else(|| anyhow!("the enum `{ty}` has no values"))?.value)
                }
                _ => bail!("the field `{name}` has the type `{ty}`, which is neither a struct nor an enum"),
            },
        })
    }

    /// The structs along `path` (the variant's content first, then each nested struct): one per
    /// key of the path but the last.
    pub fn structs_along(&self, variant: &Variant, path: &[String]) -> Result<Vec<&'a Struct>> {
        let mut out = vec![self.payload(variant)?];
        for key in path.iter().skip(1).take(path.len().saturating_sub(2)) {
            let here = out.last().expect("not empty");
            let field = here
                .fields
                .iter()
                .find(|f| &f.name == key)
                .ok_or_else(|| anyhow!("`{}` has no field `{key}`", here.name))?;
            match &field.ty {
                Type::Named { name } => out.push(self.strukt(name)?),
                _ => bail!("`{}.{key}` is not a struct", here.name),
            }
        }
        Ok(out)
    }

    /// `message` with `new` at `path` (a field of `variant`'s payload or of a struct in it),
    /// in place when the field is there, else appended to its object (as a sender adding a
    /// field last would write it); the structs on the way are created (minimal) when absent.
    pub fn set(&self, variant: &Variant, mut message: Value, path: &[String], new: Value) -> Result<Value> {
        let structs = self.structs_along(variant, path)?;
        let mut new = Some(new);
        let mut at = &mut message;
        for (depth, key) in path.iter().enumerate() {
            let object = at.as_object_mut().ok_or_else(|| anyhow!("no object on the way to {}", path.join(".")))?;
            if depth + 1 == path.len() {
                object.insert(key.clone(), new.take().expect("set once, at the end of the path"));
            } else if !object.get(key).is_some_and(Value::is_object) {
                object.insert(key.clone(), self.object(structs[depth], Flavor::Min)?);
            }
            at = object.get_mut(key).expect("inserted above");
        }
        Ok(message)
    }
}

/// `n` as a JSON integer, if it fits i64 or u64.
pub fn integer(n: i128) -> Option<Value> {
    i64::try_from(n).ok().map(Value::from).or_else(|| u64::try_from(n).ok().map(Value::from))
}

/// The value at `path` (object keys from the root), if present.
pub fn get<'v>(value: &'v Value, path: &[impl AsRef<str>]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key.as_ref()))
}

fn parent<'v>(value: &'v mut Value, path: &[impl AsRef<str>]) -> &'v mut Map<String, Value> {
    let (_, parents) = path.split_last().expect("a non-empty path");
    let mut at = value;
    for key in parents {
        at = at.get_mut(key.as_ref()).unwrap_or_else(|| panic!("no {:?} on the way to a value", key.as_ref()));
    }
    at.as_object_mut().expect("the parent of a value is an object")
}

/// `value` with the key at `path` set to `new` (in place if present, else appended).
pub fn with(mut value: Value, path: &[impl AsRef<str>], new: Value) -> Value {
    let key = path.last().expect("a non-empty path").as_ref().to_string();
    parent(&mut value, path).insert(key, new);
    value
}

/// `value` without the key at `path` (the other keys keep their order).
pub fn without(mut value: Value, path: &[impl AsRef<str>]) -> Value {
    let key = path.last().expect("a non-empty path").as_ref().to_string();
    parent(&mut value, path).shift_remove(&key);
    value
}

/// Compact JSON text of `value`, keys in the order it holds them.
pub fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

const MARK: &str = "\u{1}golden-splice\u{1}";

/// The text of `value` with the JSON text `raw` spliced in at `path` instead of its value, for
/// inputs a `Value` cannot hold (odd number syntax, escapes, invalid JSON).
pub fn splice(value: &Value, path: &[impl AsRef<str>], raw: &str) -> String {
    replace_mark(&with(value.clone(), path, json!(MARK)), raw)
}

/// The text of `value` (which holds the string [`MARK`] once) with the mark replaced by `raw`.
fn replace_mark(marked: &Value, raw: &str) -> String {
    let quoted = serde_json::to_string(MARK).expect("a string serializes");
    let text = text(marked);
    assert_eq!(text.matches(&quoted).count(), 1, "splice marker must occur once");
    text.replace(&quoted, raw)
}

impl Fixtures<'_> {
    /// [`splice`] at a field of `variant` that `message` may lack (see [`Fixtures::set`]).
    pub fn splice(&self, variant: &Variant, message: &Value, path: &[String], raw: &str) -> Result<String> {
        Ok(replace_mark(&self.set(variant, message.clone(), path, json!(MARK))?, raw))
    }
}

/// Nesting depth of JSON text: the deepest level of open arrays and objects, strings skipped.
pub fn depth(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}
