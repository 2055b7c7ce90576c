//! Target languages. Each maps IR types to its own types and names, fills askama template
//! structs with the result, and returns the rendered files; the templates (under
//! `templates/<language>/`) hold only the language's idiom.
//!
//! What every language must agree on is decided here, once:
//! - [`Roles`]: which type, field, status and message of the IR the runner runtime uses for
//!   what (the function name, the ids, the deadline, the cancel target, …), with one clear error
//!   when the schema lacks one;
//! - [`expectation`] / [`field_expectation`]: the `expected …` text of a `FrameError` for every
//!   IR type, so that Python and TypeScript word every decoding error identically;
//! - [`FRAME_MESSAGES`]: the fixed texts of frame-level errors (length and JSON causes).

use crate::ir::{EnumValue, ErrorMessage, Field, FieldRole, Ir, Struct, Type, TypeDef, Union, ValueRole, VariantRole};
use crate::output::GeneratedFile;
use crate::Package;
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;

pub mod python;
pub mod typescript;

/// A language the generator renders bindings for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Lang {
    Python,
    Typescript,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Python, Lang::Typescript];

    /// Renders this language's package; paths start with the language's folder name.
    pub fn render(self, package: &Package) -> Result<Vec<GeneratedFile>> {
        match self {
            Lang::Python => python::render(package),
            Lang::Typescript => typescript::render(package),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error texts shared by every language

/// Lower and upper bound assumed for an integer the schema gives no bound for: Rust's i64/u64.
pub const INTEGER_MIN: i128 = i64::MIN as i128;
pub const INTEGER_MAX: i128 = u64::MAX as i128;

/// The expectation of a timestamp (docs/PROTOCOL.md, section 5).
pub const TIMESTAMP_EXPECTATION: &str =
    "an RFC 3339 timestamp YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm) in years 0001..=9999";

/// The inclusive bounds of an integer type, the unbounded sides filled in with i64/u64's.
pub fn integer_bounds(min: &Option<i128>, max: &Option<i128>) -> (i128, i128) {
    (min.unwrap_or(INTEGER_MIN), max.unwrap_or(INTEGER_MAX))
}

/// `one of "a", "b"`: the expectation of a string from a closed set.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> =
        values.into_iter().map(|v| serde_json::to_string(v).expect("strings serialize")).collect();
    format!("one of {}", quoted.join(", "))
}

/// What a `FrameError` says was expected of a value of `ty` (the text after `expected `), the
/// same in every language: `integer in 0..=4294967295`, `string`, `one of "success", …`.
pub fn expectation(ir: &Ir, ty: &Type) -> Result<String> {
    Ok(match ty {
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Integer { min, max } => {
            let (lo, hi) = integer_bounds(min, max);
            format!("integer in {lo}..={hi}")
        }
        Type::Float => "number".into(),
        Type::Timestamp => TIMESTAMP_EXPECTATION.into(),
        Type::Any => "any JSON value".into(),
        Type::Array { .. } => "array".into(),
        Type::Map { .. } => "object".into(),
        Type::Named { name } => match ir.get(name) {
            Some(TypeDef::Enum(e)) => one_of(e.values.iter().map(|v| v.value.as_str())),
            Some(TypeDef::Struct(_) | TypeDef::Union(_)) => "object".into(),
            None => bail!("the IR references `{name}`, which it does not define"),
        },
    })
}

/// The expectation of a struct field's value: its type's, `or null` when `null` is allowed.
pub fn field_expectation(ir: &Ir, field: &Field) -> Result<String> {
    let text = expectation(ir, &field.ty)?;
    Ok(if field.nullable { format!("{text} or null") } else { text })
}

/// The expectation of a union's tag: one of the variants' tag values.
pub fn tag_expectation(union: &Union) -> String {
    one_of(union.variants.iter().map(|v| v.tag_value.as_str()))
}

/// The texts of the frame-level errors, by name: `(name, text)`. A `FrameError`'s message is
/// `<path>: <text>` (the path is `$` for all of these); `{placeholder}`s are filled in by the
/// same helper as the runner's error messages.
pub const FRAME_MESSAGES: &[(&str, &str)] = &[
    ("length_header", "expected a frame of at least {header_len} bytes, got {got} bytes"),
    ("length_zero", "expected a frame length in 1..={max_frame_len}, got 0"),
    ("length_too_long", "expected a frame length in 1..={max_frame_len}, got {length}"),
    ("length_mismatch", "expected {length} bytes after the header, got {got}"),
    ("json_utf8", "expected a JSON document, got bytes that are not UTF-8"),
    ("json_bom", "expected a JSON document, got a byte-order mark"),
    ("json_syntax", "expected a JSON document, got a syntax error"),
    ("json_depth", "expected a JSON document, got arrays and objects nested deeper than {max_nesting_depth} levels"),
    ("json_surrogate", "expected a JSON document, got a lone surrogate escape"),
    ("json_number", "expected a JSON document, got a number beyond the range of a 64-bit float"),
];

/// [`FRAME_MESSAGES`] with the protocol's constants filled in (`max_frame_len`,
/// `max_nesting_depth`); the other placeholders stay for the runtime to fill.
pub fn frame_messages(ir: &Ir) -> Vec<(String, String)> {
    FRAME_MESSAGES
        .iter()
        .map(|(name, text)| {
            let text = text
                .replace("{max_frame_len}", &ir.meta.max_frame_len.to_string())
                .replace("{max_nesting_depth}", &ir.meta.max_nesting_depth.to_string());
            (name.to_string(), text)
        })
        .collect()
}

/// The protocol version a schema declares (its `x-rrq` object's version), if any.
pub fn spoken_version(ir: &Ir) -> Option<&str> {
    ir.meta.version.as_deref()
}

/// Which orchestrator releases speak the protocol and how they hand a runner its address
/// (`x-rrq.orchestrators`, `x-rrq.runner_address`), for the generated READMEs.
pub fn rrq_releases(ir: &Ir) -> Option<(&str, &str)> {
    Some((ir.meta.orchestrators.as_deref()?, ir.meta.runner_address.as_deref()?))
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry: what every language's tracing integration writes

/// A name the tracing integrations (Python `rrq_runner.otel`, npm `rrq-runner/otel`) write: `key`
/// is its constant's name in every language (UPPER_SNAKE; each language may add a prefix),
/// `value` the text on the span, `doc` what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceName {
    pub key: &'static str,
    pub value: String,
    pub doc: &'static str,
}

fn trace_name(key: &'static str, value: impl Into<String>, doc: &'static str) -> TraceName {
    TraceName { key, value: value.into(), doc }
}

/// The name upstream RRQ gives the attribute holding the value of a field with `role`: `rrq.` and
/// the role's name with `_` for `-` (role `attempt`: `rrq.attempt`).
fn role_attribute(role: FieldRole) -> String {
    format!("rrq.{}", role.as_str().replace('-', "_"))
}

/// The name of the span each job gets.
pub const TRACE_SPAN_NAME: &str = "rrq.runner";

/// The tracer (instrumentation scope), the span and the constant attribute values, as upstream
/// RRQ's runners write them (rrq-py `rrq/integrations/otel.py`, rrq-ts `src/otel.ts`): one table
/// for both languages, so a team switching runners keeps its queries and dashboards.
pub fn trace_constants() -> Vec<TraceName> {
    vec![
        trace_name("TRACER_NAME", "rrq", "The tracer's (instrumentation scope's) name."),
        trace_name("SPAN_NAME", TRACE_SPAN_NAME, "The name of the span each job gets (kind CONSUMER)."),
        trace_name("MESSAGING_SYSTEM_REDIS", "redis", "The value of `messaging.system`."),
        trace_name("MESSAGING_OPERATION_PROCESS", "process", "The value of `messaging.operation`."),
        trace_name("DESTINATION_KIND_QUEUE", "queue", "The value of `messaging.destination_kind`."),
        trace_name("SPAN_KIND_CONSUMER", "consumer", "The value of `span.kind`."),
    ]
}

/// The span's attributes, upstream RRQ's names. Those set when the span starts come first, then
/// those set when the job ends (after its answer was written); the entries of the request's
/// correlation context (where the protocol has one) are attributes under their own keys.
pub fn trace_attributes() -> Vec<TraceName> {
    vec![
        trace_name("JOB_ID", role_attribute(FieldRole::JobId), "The job's id."),
        trace_name("FUNCTION", "rrq.function", "The handler's (function's) name."),
        trace_name("QUEUE", "rrq.queue", "The queue the job came from."),
        trace_name("ATTEMPT", role_attribute(FieldRole::Attempt), "The attempt number, from 1."),
        trace_name("WORKER_ID", role_attribute(FieldRole::WorkerId), "The orchestrator worker that dispatched the job (when known)."),
        trace_name("DEADLINE", role_attribute(FieldRole::Deadline), "The job's deadline, as the protocol writes timestamps (RFC 3339, UTC, `Z`)."),
        trace_name("DEADLINE_REMAINING_MS", "rrq.deadline_remaining_ms", "Milliseconds left until the deadline when the job started (at least 0)."),
        trace_name("QUEUE_WAIT_MS", "rrq.queue_wait_ms", "Milliseconds from the enqueue time to the job's start (at least 0)."),
        trace_name("MESSAGING_SYSTEM", "messaging.system", "`redis`."),
        trace_name("MESSAGING_DESTINATION_NAME", "messaging.destination.name", "The queue the job came from."),
        trace_name("MESSAGING_DESTINATION_KIND", "messaging.destination_kind", "`queue` (upstream writes it; older semantic conventions)."),
        trace_name("MESSAGING_OPERATION", "messaging.operation", "`process`."),
        trace_name("SPAN_KIND", "span.kind", "`consumer` (upstream writes it besides the span's kind)."),
        trace_name("SERVICE_NAME", "service.name", "Only when `enable` is given a service name (upstream's `service_name`)."),
        trace_name("OUTCOME", "rrq.outcome", "How the job ended: one of the outcomes."),
        trace_name("DURATION_MS", "rrq.duration_ms", "Milliseconds from the request's arrival to its answer."),
        trace_name("RETRY_DELAY_MS", "rrq.retry_delay_ms", "The retry delay asked for, in milliseconds (retries that give one)."),
        trace_name("TIMEOUT_SECONDS", "rrq.timeout_seconds", "Timeouts: the seconds the job had from its start to its deadline."),
        trace_name("ERROR_MESSAGE", "rrq.error_message", "The message of the answer's error (every outcome but success)."),
        trace_name("ERROR_TYPE", "rrq.error_type", "The type of the answer's error, when it has one."),
        trace_name("REASON", "rrq.reason", "Retries and cancels: why (upstream's attribute; the answer's message)."),
    ]
}

/// The values of the `rrq.outcome` attribute: how a job ended. `cancelled` covers every answer to
/// a cancel, a shutdown or a closed connection (the protocol answers those with an error).
pub fn trace_outcomes() -> Vec<TraceName> {
    vec![
        trace_name("SUCCESS", "success", "The handler returned a result."),
        trace_name("RETRY", "retry", "The job asked to run again."),
        trace_name("TIMEOUT", "timeout", "The deadline passed (before or while the handler ran)."),
        trace_name("ERROR", "error", "The handler raised, or the runner refused the request."),
        trace_name("CANCELLED", "cancelled", "A cancel, the runner's shutdown or the closed connection ended the job."),
    ]
}

// ---------------------------------------------------------------------------------------------
// The runner runtime's view of the protocol

/// A message of `x-rrq.error_messages` the runtime writes, with the error type it goes with.
#[derive(Debug, Clone)]
pub struct RuntimeMessage {
    /// Its name in `x-rrq.error_messages` (the key the generated table uses).
    pub name: String,
    /// The `error.type` written with it.
    pub error_type: String,
}

/// The wire names the runner runtime acts on, each found in the IR by its runner role
/// (`x-rrq-role`, see [`FieldRole`], [`VariantRole`], [`ValueRole`]), never by name. Every
/// language module resolves these once and maps them to its own names; a schema that lacks a
/// role fails here, with a message naming the role and where it was looked for, instead of
/// rendering a runtime that does not compile or misbehaves. A schema without any role gets no
/// runtime at all (see [`Roles::resolve`]).
#[derive(Debug, Clone)]
pub struct Roles {
    /// The root union: its name, tag and content keys.
    pub root: String,
    pub tag: String,
    pub content: String,
    /// Tag values of the three variants the runtime handles.
    pub request_tag: String,
    pub response_tag: String,
    pub cancel_tag: String,
    /// Named types: the request, its context, the outcome, its error and status, the cancel.
    pub request: String,
    pub context: String,
    pub outcome: String,
    pub error: String,
    pub status: String,
    pub cancel: String,
    /// Fields of the request.
    pub req_protocol_version: String,
    pub req_request_id: String,
    pub req_job_id: String,
    pub req_function_name: String,
    /// The handler's input fields (role `input`), in declaration order; may be empty.
    pub req_inputs: Vec<String>,
    /// The first input field that is a map (named inputs), if any: examples read options from it.
    pub req_input_map: Option<String>,
    pub req_context: String,
    /// Fields of the context.
    pub ctx_job_id: String,
    pub ctx_deadline: String,
    /// Optional context fields (tracing and telemetry use them when present).
    pub ctx_attempt: Option<String>,
    pub ctx_enqueue_time: Option<String>,
    pub ctx_queue_name: Option<String>,
    pub ctx_worker_id: Option<String>,
    pub ctx_trace_context: Option<String>,
    pub ctx_correlation_context: Option<String>,
    /// Fields of the outcome and its error.
    pub out_job_id: String,
    pub out_request_id: String,
    pub out_status: String,
    pub out_result: String,
    pub out_error: String,
    pub out_retry_after: String,
    pub err_message: String,
    pub err_type: String,
    /// Fields of the cancel.
    pub cancel_protocol_version: Option<String>,
    pub cancel_job_id: String,
    pub cancel_request_id: String,
    pub cancel_hard_kill: String,
    /// Status values.
    pub st_success: String,
    pub st_retry: String,
    pub st_timeout: String,
    pub st_error: String,
    /// The protocol version the runtime speaks (declared in the schema's `x-rrq` object).
    pub version: String,
    /// Messages (and their error types) the runtime writes, by situation.
    pub msg_handler_not_found: RuntimeMessage,
    pub msg_cancelled: RuntimeMessage,
    pub msg_shutting_down: RuntimeMessage,
    pub msg_deadline_passed: RuntimeMessage,
    pub msg_deadline_exceeded: RuntimeMessage,
    pub msg_busy: RuntimeMessage,
    pub msg_invalid_frame: RuntimeMessage,
    pub msg_unsupported_protocol_version: RuntimeMessage,
    pub msg_unexpected_message: RuntimeMessage,
}

/// The situations the runtime answers itself: the name of their message in
/// `x-rrq.error_messages`, the placeholders the runtime fills in (a template may use fewer), and
/// the status of the answer.
const RUNTIME_PLACEHOLDERS: &[(&str, &[&str], ValueRole)] = &[
    ("handler_not_found", &["function"], ValueRole::Error),
    ("cancelled", &[], ValueRole::Error),
    ("shutting_down", &[], ValueRole::Error),
    ("deadline_passed", &["when"], ValueRole::Timeout),
    ("deadline_exceeded", &["when"], ValueRole::Timeout),
    ("busy", &["limit"], ValueRole::Error),
    ("invalid_frame", &["error"], ValueRole::Error),
    ("unsupported_protocol_version", &["received", "supported"], ValueRole::Error),
    ("unexpected_message", &["type"], ValueRole::Error),
];

/// Every situation the runtime answers itself, with the status value (on the wire) of its answer.
pub fn runtime_situations(roles: &Roles) -> Vec<(&RuntimeMessage, &str)> {
    roles
        .messages()
        .into_iter()
        .map(|m| {
            let (_, _, status) = RUNTIME_PLACEHOLDERS.iter().find(|(name, _, _)| *name == m.name).expect("a runtime message");
            let value = match status {
                ValueRole::Success => &roles.st_success,
                ValueRole::Retry => &roles.st_retry,
                ValueRole::Timeout => &roles.st_timeout,
                ValueRole::Error => &roles.st_error,
            };
            (m, value.as_str())
        })
        .collect()
}

fn struct_of<'a>(ir: &'a Ir, name: &str, what: &str) -> Result<&'a Struct> {
    match ir.get(name) {
        Some(TypeDef::Struct(s)) => Ok(s),
        _ => bail!("the runner runtime needs {what} (`{name}`) to be a struct"),
    }
}

/// The fields of `s` with `role`.
fn with_role(s: &Struct, role: FieldRole) -> impl Iterator<Item = &Field> {
    s.fields.iter().filter(move |f| f.role == Some(role))
}

/// The field of `s` with `role`, if any.
fn optional_role(s: &Struct, role: FieldRole) -> Option<String> {
    with_role(s, role).next().map(|f| f.name.clone())
}

/// The field of `s` with `role`.
fn field_with<'a>(s: &'a Struct, role: FieldRole) -> Result<&'a Field> {
    with_role(s, role).next().ok_or_else(|| {
        anyhow!("the runner runtime needs a field with the role `{}` (x-rrq-role) in `{}`", role.as_str(), s.name)
    })
}

fn named_with<'a>(s: &'a Struct, role: FieldRole) -> Result<&'a str> {
    let field = field_with(s, role)?;
    match &field.ty {
        Type::Named { name } => Ok(name),
        _ => bail!("the runner runtime needs `{}.{}` (role `{}`) to be a named type", s.name, field.name, role.as_str()),
    }
}

/// Whether the IR declares any runner role: a schema without one is rendered as a codec only.
pub fn has_roles(ir: &Ir) -> bool {
    ir.types.iter().any(|t| match t {
        TypeDef::Struct(s) => s.fields.iter().any(|f| f.role.is_some()),
        TypeDef::Enum(e) => e.values.iter().any(|v| v.role.is_some()),
        TypeDef::Union(u) => u.variants.iter().any(|v| v.role.is_some()),
    })
}

impl Roles {
    /// Finds every role in `ir`: `Ok(None)` when the schema declares no runner role at all
    /// (the bindings are then a codec without a runtime), an error naming the first missing
    /// role when it declares some but not all the runtime needs.
    pub fn resolve(ir: &Ir) -> Result<Option<Roles>> {
        if !has_roles(ir) {
            return Ok(None);
        }
        Self::resolve_all(ir).map(Some)
    }

    fn resolve_all(ir: &Ir) -> Result<Roles> {
        let Some(TypeDef::Union(root)) = ir.get(&ir.root) else {
            bail!("the runner runtime needs the root type `{}` to be a tagged union", ir.root)
        };
        let variant = |role: VariantRole| {
            root.variants.iter().find(|v| v.role == Some(role)).ok_or_else(|| {
                anyhow!("the runner runtime needs a variant with the role `{}` (x-rrq-role) in `{}`", role.as_str(), root.name)
            })
        };
        let (req_v, resp_v, cancel_v) =
            (variant(VariantRole::Request)?, variant(VariantRole::Response)?, variant(VariantRole::Cancel)?);
        let request = struct_of(ir, &req_v.ty, "the request variant's content")?;
        let outcome = struct_of(ir, &resp_v.ty, "the response variant's content")?;
        let cancel = struct_of(ir, &cancel_v.ty, "the cancel variant's content")?;
        let context = struct_of(ir, named_with(request, FieldRole::Context)?, "the request's context")?;
        let error = struct_of(ir, named_with(outcome, FieldRole::Error)?, "the outcome's error")?;
        let status_name = named_with(outcome, FieldRole::Status)?;
        let Some(TypeDef::Enum(status)) = ir.get(status_name) else {
            bail!("the runner runtime needs the status `{status_name}` to be an enum")
        };
        let f = |s: &Struct, role: FieldRole| field_with(s, role).map(|f| f.name.clone());
        let member = |role: ValueRole| {
            status.values.iter().find(|v| v.role == Some(role)).map(|v| v.value.clone()).ok_or_else(|| {
                anyhow!("the runner runtime needs a value with the role `{}` (x-rrq-role) in `{}`", role.as_str(), status.name)
            })
        };
        let version = ir.meta.version.clone().ok_or_else(|| {
            anyhow!("the runner runtime needs /x-rrq/protocol_version: the version it speaks and answers requests of")
        })?;
        let messages = runtime_messages(ir)?;
        let m = |name: &str| messages[name].clone();
        Ok(Roles {
            root: root.name.clone(),
            tag: root.tag.clone(),
            content: root.content.clone(),
            request_tag: req_v.tag_value.clone(),
            response_tag: resp_v.tag_value.clone(),
            cancel_tag: cancel_v.tag_value.clone(),
            request: request.name.clone(),
            context: context.name.clone(),
            outcome: outcome.name.clone(),
            error: error.name.clone(),
            status: status.name.clone(),
            cancel: cancel.name.clone(),
            req_protocol_version: f(request, FieldRole::ProtocolVersion)?,
            req_request_id: f(request, FieldRole::RequestId)?,
            req_job_id: f(request, FieldRole::JobId)?,
            req_function_name: f(request, FieldRole::FunctionName)?,
            req_inputs: with_role(request, FieldRole::Input).map(|f| f.name.clone()).collect(),
            req_input_map: with_role(request, FieldRole::Input)
                .find(|f| matches!(f.ty, Type::Map { .. }))
                .map(|f| f.name.clone()),
            req_context: f(request, FieldRole::Context)?,
            ctx_job_id: f(context, FieldRole::JobId)?,
            ctx_deadline: f(context, FieldRole::Deadline)?,
            ctx_attempt: optional_role(context, FieldRole::Attempt),
            ctx_enqueue_time: optional_role(context, FieldRole::EnqueueTime),
            ctx_queue_name: optional_role(context, FieldRole::QueueName),
            ctx_worker_id: optional_role(context, FieldRole::WorkerId),
            ctx_trace_context: optional_role(context, FieldRole::TraceContext),
            ctx_correlation_context: optional_role(context, FieldRole::CorrelationContext),
            out_job_id: f(outcome, FieldRole::JobId)?,
            out_request_id: f(outcome, FieldRole::RequestId)?,
            out_status: f(outcome, FieldRole::Status)?,
            out_result: f(outcome, FieldRole::Result)?,
            out_error: f(outcome, FieldRole::Error)?,
            out_retry_after: f(outcome, FieldRole::RetryAfter)?,
            err_message: f(error, FieldRole::Message)?,
            err_type: f(error, FieldRole::ErrorType)?,
            cancel_protocol_version: optional_role(cancel, FieldRole::ProtocolVersion),
            cancel_job_id: f(cancel, FieldRole::JobId)?,
            cancel_request_id: f(cancel, FieldRole::RequestId)?,
            cancel_hard_kill: f(cancel, FieldRole::HardKill)?,
            st_success: member(ValueRole::Success)?,
            st_retry: member(ValueRole::Retry)?,
            st_timeout: member(ValueRole::Timeout)?,
            st_error: member(ValueRole::Error)?,
            version,
            msg_handler_not_found: m("handler_not_found"),
            msg_cancelled: m("cancelled"),
            msg_shutting_down: m("shutting_down"),
            msg_deadline_passed: m("deadline_passed"),
            msg_deadline_exceeded: m("deadline_exceeded"),
            msg_busy: m("busy"),
            msg_invalid_frame: m("invalid_frame"),
            msg_unsupported_protocol_version: m("unsupported_protocol_version"),
            msg_unexpected_message: m("unexpected_message"),
        })
    }

    /// Every error type the runtime writes (deduplicated, in role order).
    pub fn error_types(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for m in self.messages() {
            if !out.contains(&m.error_type.as_str()) {
                out.push(&m.error_type);
            }
        }
        out
    }

    /// Every message the runtime writes.
    pub fn messages(&self) -> [&RuntimeMessage; 9] {
        [
            &self.msg_handler_not_found,
            &self.msg_cancelled,
            &self.msg_shutting_down,
            &self.msg_deadline_passed,
            &self.msg_deadline_exceeded,
            &self.msg_busy,
            &self.msg_invalid_frame,
            &self.msg_unsupported_protocol_version,
            &self.msg_unexpected_message,
        ]
    }
}

/// The messages the runtime needs, checked: present, of a known error type, and using only
/// placeholders the runtime fills in.
fn runtime_messages(ir: &Ir) -> Result<BTreeMap<&'static str, RuntimeMessage>> {
    let mut out = BTreeMap::new();
    for (name, supplied, _) in RUNTIME_PLACEHOLDERS {
        let message: &ErrorMessage = ir
            .meta
            .error_messages
            .iter()
            .find(|m| m.name == *name)
            .ok_or_else(|| anyhow!("the runner runtime needs the message `{name}` in x-rrq.error_messages"))?;
        if !ir.meta.error_types.iter().any(|t: &EnumValue| t.value == message.error_type) {
            bail!(
                "x-rrq.error_messages `{name}`: error type `{}` is not one of x-rrq.error_types",
                message.error_type
            );
        }
        for p in &message.placeholders {
            if !supplied.contains(&p.as_str()) {
                bail!(
                    "x-rrq.error_messages `{name}`: the runner runtime cannot fill the placeholder `{{{p}}}` (it fills {})",
                    if supplied.is_empty() { "none".to_string() } else { supplied.iter().map(|s| format!("`{{{s}}}`")).collect::<Vec<_>>().join(", ") }
                );
            }
        }
        out.insert(*name, RuntimeMessage { name: message.name.clone(), error_type: message.error_type.clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ir() -> Ir {
        crate::ir::lower(&crate::schema::builtin_version("1").unwrap().schema()).unwrap()
    }

    #[test]
    fn expectations() {
        let ir = ir();
        assert_eq!(expectation(&ir, &Type::Integer { min: Some(0), max: Some(4294967295) }).unwrap(), "integer in 0..=4294967295");
        assert_eq!(expectation(&ir, &Type::String).unwrap(), "string");
        let roles = Roles::resolve(&ir).unwrap().unwrap();
        let Some(TypeDef::Enum(status)) = ir.get(&roles.status) else { panic!() };
        let values: Vec<&str> = status.values.iter().map(|v| v.value.as_str()).collect();
        assert_eq!(expectation(&ir, &Type::Named { name: roles.status.clone() }).unwrap(), one_of(values));
        assert!(expectation(&ir, &Type::Named { name: roles.status.clone() }).unwrap().starts_with("one of \""));
        let Some(TypeDef::Struct(context)) = ir.get(&roles.context) else { panic!() };
        let worker = context.fields.iter().find(|f| f.role == Some(FieldRole::WorkerId)).unwrap();
        assert_eq!(field_expectation(&ir, worker).unwrap(), "string or null");
    }

    /// Removes the `x-rrq-role` of every property with `role` (wherever it is declared).
    fn strip_role(schema: &mut serde_json::Value, role: FieldRole) {
        for def in schema["$defs"].as_object_mut().unwrap().values_mut() {
            if let Some(properties) = def.get_mut("properties").and_then(serde_json::Value::as_object_mut) {
                for property in properties.values_mut() {
                    if property.get(crate::ir::ROLE_KEY).and_then(serde_json::Value::as_str) == Some(role.as_str()) {
                        property.as_object_mut().unwrap().remove(crate::ir::ROLE_KEY);
                    }
                }
            }
        }
    }

    #[test]
    fn roles_resolve_from_the_schema_and_name_what_is_missing() {
        for builtin in crate::schema::builtins() {
            let ir = crate::ir::lower(&builtin.schema()).unwrap();
            let roles = Roles::resolve(&ir).unwrap().expect("the built-in schemas declare roles");
            let Some(TypeDef::Struct(request)) = ir.get(&roles.request) else { panic!() };
            let named = request.fields.iter().find(|f| f.name == roles.req_function_name).unwrap();
            assert_eq!(named.role, Some(FieldRole::FunctionName));
            assert!(!roles.req_inputs.is_empty(), "protocol {}: inputs", builtin.version);
            assert_eq!(roles.version, builtin.version);
            assert_eq!(roles.msg_shutting_down.error_type, "cancelled");

            let mut schema = builtin.schema();
            strip_role(&mut schema, FieldRole::HardKill);
            let err = Roles::resolve(&crate::ir::lower(&schema).unwrap()).unwrap_err().to_string();
            assert_eq!(err, format!("the runner runtime needs a field with the role `hard-kill` (x-rrq-role) in `{}`", roles.cancel));

            let mut schema = builtin.schema();
            let messages = schema["x-rrq"]["error_messages"].as_object_mut().unwrap();
            messages.insert("busy".into(), serde_json::json!({"error_type": "busy", "template": "busy with {what}"}));
            let err = Roles::resolve(&crate::ir::lower(&schema).unwrap()).unwrap_err().to_string();
            assert!(err.contains("cannot fill the placeholder `{what}`"), "{err}");
        }
    }

    #[test]
    fn trace_names_are_distinct_constants() {
        for table in [trace_constants(), trace_attributes(), trace_outcomes()] {
            let keys: BTreeSet<&str> = table.iter().map(|n| n.key).collect();
            let values: BTreeSet<&str> = table.iter().map(|n| n.value.as_str()).collect();
            assert_eq!((keys.len(), values.len()), (table.len(), table.len()), "{table:?}");
            for n in &table {
                assert!(n.key.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{}", n.key);
                assert!(!n.value.is_empty() && !n.doc.is_empty(), "{}", n.key);
            }
        }
        assert!(trace_attributes().iter().all(|a| a.value.starts_with("rrq.") || a.value.contains('.')));
    }

    #[test]
    fn a_schema_without_roles_has_no_runtime() {
        let mut schema = crate::schema::latest_schema();
        for role in FieldRole::ALL {
            strip_role(&mut schema, *role);
        }
        let text = serde_json::to_string(&schema).unwrap();
        let text = text.replace("\"x-rrq-role\":", "\"x-not-a-role\":");
        let ir = crate::ir::lower(&serde_json::from_str(&text).unwrap()).unwrap();
        assert!(!has_roles(&ir));
        assert!(Roles::resolve(&ir).unwrap().is_none());
    }
}

/// `PascalCase` of a wire value (`hard_kill` → `HardKill`, `request` → `Request`): ASCII letters and
/// digits kept, every other character a word break. Each language makes it a valid identifier.
pub(crate) fn pascal_case(raw: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}
