//! The JSON Schema of the protocol: derived from the `rrq-protocol` types by schemars, with the
//! transforms that make it say exactly what serde accepts and writes.
//!
//! Transforms applied to schemars' draft 2020-12 output (deserialize contract):
//! - integers with a width `format` (`uint32`, `int64`, …) get both bounds (`attempt` becomes
//!   0..=4294967295; schemars writes only the lower one);
//! - `date-time` strings get the `pattern` of the protocol's strict RFC 3339 grammar;
//! - every object type gets `x-rrq-always-written`: the properties serde always writes (taken
//!   from schemars' serialize contract), so that the encoders know which empty fields to omit
//!   and which to write as `null`;
//! - the root gets `x-rrq`: protocol version, package version, the limits of the framing, and the error types runners report themselves
//!   and the messages they write with them.
//!
//! The runner roles (`x-rrq-role`) are declared on the Rust types and pass through unchanged.

use anyhow::{bail, Context, Result};
use schemars::generate::SchemaSettings;
use schemars::transform::{transform_subschemas, RecursiveTransform, Transform};
use rrq_protocol::frame::{self, Message};
use rrq_protocol::FrameError;
use schemars::{JsonSchema, Schema};
use serde_json::{json, Map, Value};
use std::path::Path;

/// Pattern of the strict RFC 3339 grammar of `rrq_protocol::timestamp` (the date and offset
/// ranges are checked beyond it).
pub const TIMESTAMP_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$";

/// Completes integer bounds from schemars' width formats.
#[derive(Clone)]
struct IntegerBounds;

impl Transform for IntegerBounds {
    fn transform(&mut self, schema: &mut Schema) {
        let bounds: Option<(Value, Value)> = match schema.get("format").and_then(Value::as_str) {
            Some("uint8") => Some((json!(0), json!(u8::MAX))),
            Some("uint16") => Some((json!(0), json!(u16::MAX))),
            Some("uint32") => Some((json!(0), json!(u32::MAX))),
            Some("uint64") => Some((json!(0), json!(u64::MAX))),
            Some("int8") => Some((json!(i8::MIN), json!(i8::MAX))),
            Some("int16") => Some((json!(i16::MIN), json!(i16::MAX))),
            Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
            Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
            _ => None,
        };
        if let (Some((min, max)), Some(object)) = (bounds, schema.as_object_mut()) {
            object.entry("minimum").or_insert(min);
            object.entry("maximum").or_insert(max);
        }
        transform_subschemas(self, schema);
    }
}

/// Adds the strict timestamp grammar to `date-time` strings.
fn timestamp_pattern(schema: &mut Schema) {
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        schema.insert("pattern".into(), TIMESTAMP_PATTERN.into());
    }
}

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(IntegerBounds))
        .with_transform(RecursiveTransform(timestamp_pattern))
}

/// The name of the package generated from the built-in schemas (`x-rrq.package_name`).
pub const BUILTIN_PACKAGE_NAME: &str = "rrq-runner";

/// A protocol version built into the generator: its schema comes from the `rrq-protocol` types
/// of its module, and its reference codec judges the golden corpus.
#[derive(Clone, Copy)]
pub struct Builtin {
    /// The version's `protocol_version` (also the name of its output folder, `v<version>`).
    pub version: &'static str,
    /// Which orchestrators speak the version (`x-rrq.orchestrators`), and how they hand a
    /// runner its address (`x-rrq.runner_address`).
    pub orchestrators: &'static str,
    pub runner_address: &'static str,
    schema: fn(&Builtin) -> Value,
    reencode: fn(&[u8]) -> Result<Vec<u8>, FrameError>,
    reencode_twice: fn(&[u8]) -> ReencodedTwice,
}

/// What [`Builtin::reencode_twice`] gives: the canonical frame and what encoding it again gave,
/// or the error that rejects the frame.
pub type ReencodedTwice = Result<(Vec<u8>, Reencoded), FrameError>;

/// What decoding and encoding a frame's canonical encoding again gave (see
/// [`Builtin::reencode_twice`]).
#[derive(Debug)]
pub enum Reencoded {
    /// The canonical frame does not decode (or its message does not encode): the error.
    Failed(FrameError),
    Done {
        /// `encode_frame(decode_frame(canonical))`.
        bytes: Vec<u8>,
        /// Whether the canonical frame decodes to the message the frame decodes to.
        same_message: bool,
    },
}

impl Builtin {
    /// The version's JSON Schema, as committed under `generated/v<version>/`.
    pub fn schema(&self) -> Value {
        (self.schema)(self)
    }

    /// The reference's verdict on one frame: the canonical frame of the decoded message, or
    /// the decoder's error.
    pub fn reencode(&self, frame: &[u8]) -> Result<Vec<u8>, FrameError> {
        (self.reencode)(frame)
    }

    /// [`Builtin::reencode`], and on success the same again on the canonical frame, with
    /// whether both frames decode to equal messages (each frame is decoded once).
    pub fn reencode_twice(&self, frame: &[u8]) -> ReencodedTwice {
        (self.reencode_twice)(frame)
    }

    /// The name of the version's output folder and package module (`v1`, `v2`).
    pub fn module(&self) -> String {
        format!("v{}", self.version)
    }
}

fn builtin<M: Message + JsonSchema + PartialEq>(
    version: &'static str,
    orchestrators: &'static str,
    runner_address: &'static str,
) -> Builtin {
    Builtin {
        version,
        orchestrators,
        runner_address,
        schema: version_schema::<M>,
        reencode: |frame| frame::encode_frame(&frame::decode_frame::<M>(frame)?),
        reencode_twice: |frame| {
            let message = frame::decode_frame::<M>(frame)?;
            let canonical = frame::encode_frame(&message)?;
            let again = match frame::decode_frame::<M>(&canonical) {
                Ok(decoded) => match frame::encode_frame(&decoded) {
                    Ok(bytes) => Reencoded::Done { bytes, same_message: decoded == message },
                    Err(error) => Reencoded::Failed(error),
                },
                Err(error) => Reencoded::Failed(error),
            };
            Ok((canonical, again))
        },
    }
}

/// Every protocol version built in, oldest first; the last is the latest.
pub fn builtins() -> Vec<Builtin> {
    vec![
        builtin::<rrq_protocol::v1::RunnerMessage>(
            rrq_protocol::v1::PROTOCOL_VERSION,
            rrq_protocol::v1::ORCHESTRATORS,
            rrq_protocol::v1::RUNNER_ADDRESS,
        ),
        builtin::<rrq_protocol::v2::RunnerMessage>(
            rrq_protocol::v2::PROTOCOL_VERSION,
            rrq_protocol::v2::ORCHESTRATORS,
            rrq_protocol::v2::RUNNER_ADDRESS,
        ),
    ]
}

/// The built-in protocol version `version`, if there is one.
pub fn builtin_version(version: &str) -> Option<Builtin> {
    builtins().into_iter().find(|b| b.version == version)
}

/// The latest built-in protocol version's schema (`rrq-codegen schema` without `--protocol`).
pub fn latest_schema() -> Value {
    builtins().last().expect("at least one built-in version").schema()
}

/// The JSON Schema of one protocol version's `RunnerMessage` type.
fn version_schema<M: JsonSchema>(builtin: &Builtin) -> Value {
    let mut out = schema_of::<M>();
    out.as_object_mut().expect("an object schema").insert(
        "x-rrq".into(),
        json!({
            "protocol_version": builtin.version,
            "orchestrators": builtin.orchestrators,
            "runner_address": builtin.runner_address,
            "package_name": BUILTIN_PACKAGE_NAME,
            "package_version": rrq_protocol::PACKAGE_VERSION,
            "max_frame_len": rrq_protocol::MAX_FRAME_LEN,
            "max_nesting_depth": rrq_protocol::MAX_NESTING_DEPTH,
            "error_types": rrq_protocol::ERROR_TYPES
                .iter()
                .map(|(name, doc)| (name.to_string(), Value::from(*doc)))
                .collect::<Map<String, Value>>(),
            "error_messages": rrq_protocol::ERROR_MESSAGES
                .iter()
                .map(|(name, error_type, template)| {
                    (name.to_string(), json!({"error_type": error_type, "template": template}))
                })
                .collect::<Map<String, Value>>(),
        }),
    );
    out
}

/// The JSON Schema of any Rust type `M` (deriving `JsonSchema`, serialized with serde) with the
/// transforms above, and without `x-rrq`: what a team's own protocol types give the generator.
pub fn schema_of<M: JsonSchema>() -> Value {
    let deserialize = settings().for_deserialize().into_generator().into_root_schema_for::<M>().to_value();
    let serialize = settings().for_serialize().into_generator().into_root_schema_for::<M>().to_value();
    let mut schema = deserialize;
    let root = schema.as_object_mut().expect("schemars writes an object schema");
    if let Some(Value::Object(defs)) = root.get_mut("$defs") {
        for (name, def) in defs.iter_mut() {
            let written = serialize.pointer(&format!("/$defs/{name}/required"));
            if let (Some(Value::Object(def)), Some(written)) = (Some(def), written) {
                def.insert("x-rrq-always-written".into(), written.clone());
            }
        }
    }
    let mut out = Map::new();
    for (key, value) in std::mem::take(root) {
        out.insert(key.clone(), value);
        if key == "$schema" {
            out.insert(
                "$comment".into(),
                "Generated by `rrq-codegen schema` from the Rust types of rrq-protocol; do not edit.".into(),
            );
        }
    }
    Value::Object(out)
}

/// The schema as the bytes of the committed file (pretty JSON, trailing newline).
pub fn to_file_bytes(schema: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(schema).expect("a Value always serializes");
    bytes.push(b'\n');
    bytes
}

/// Reads a schema file (any schema built from the supported constructs).
pub fn load(path: &Path) -> Result<(Value, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    if !value.is_object() {
        bail!("{}: a schema must be a JSON object", path.display());
    }
    Ok((value, bytes))
}
