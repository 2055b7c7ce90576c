//! Wire types and framing of the RRQ runner protocol.
//!
//! This crate is the single source of truth of the protocol: its types derive the JSON Schema
//! (`schemars`) from which `rrq-codegen` renders every other language's bindings, and its
//! encoder and decoder define the canonical bytes and the verdicts every binding must reproduce
//! (see `docs/PROTOCOL.md`).
//!
//! A frame is a 4-byte big-endian length `N` followed by `N` bytes of UTF-8 JSON holding a
//! `RunnerMessage`.
//!
//! Every supported protocol version is a module: [`v1`] (RRQ 0.9.x) and [`v2`] (RRQ 0.10 onward),
//! each with its own types, schema and golden corpus. What the versions share is written once:
//! the envelope ([`message`]), the outcome types ([`outcome`]), framing ([`frame`]), strict
//! decoding, canonical encoding and timestamps.
//!
//! Runner roles: every field, union variant and enum value that a runner runtime acts on is
//! marked with an `x-rrq-role` schema extension (`#[schemars(extend("x-rrq-role" = …))]`), so
//! that generators find the request id, the deadline, the cancel target, … through the schema,
//! never by field name. The roles are listed in `docs/PROTOCOL.md`.

mod canonical;
pub mod frame;
pub mod message;
pub mod outcome;
mod strict;
pub mod timestamp;
pub mod v1;
pub mod v2;

pub use frame::{DecodeError, ErrorKind, FrameError, Message};

/// The latest protocol version's module (what generated packages re-export at their top level).
pub use v2 as latest;

/// The protocol versions this crate speaks, oldest first.
pub const PROTOCOL_VERSIONS: &[&str] = &[v1::PROTOCOL_VERSION, v2::PROTOCOL_VERSION];

/// Version of this crate; the generated packages take their version from it.
pub const PACKAGE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Length of the frame header: a big-endian `u32` giving the length of the JSON body.
pub const FRAME_HEADER_LEN: usize = 4;
/// Largest accepted JSON body, in bytes (16 MiB). Longer frames are rejected from their header,
/// before any of the body is buffered.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
/// Deepest accepted nesting of JSON arrays and objects in a frame body, counted over the whole
/// document (ignored fields included); the envelope object itself is depth 1. This is where
/// serde_json's recursion limit (128) bites: 127 nested containers parse, the 128th fails with
/// `recursion limit exceeded`; the golden corpus pins both sides.
pub const MAX_NESTING_DEPTH: usize = 127;

/// Values of [`ExecutionError::error_type`] that runners produce themselves (handlers may report
/// others, such as the name of an exception), with their meaning. Generated bindings take them
/// from the schema (`x-rrq.error_types`).
pub const ERROR_TYPES: &[(&str, &str)] = &[
    ("handler_not_found", "No handler is registered under the request's `function_name`."),
    ("cancelled", "The request was cancelled by a `cancel` frame, or the runner shut down."),
    ("timeout", "The request's `context.deadline` passed before the handler finished."),
    ("busy", "The connection already has as many requests in flight as the runner allows."),
    ("invalid_frame", "The frame had a sound length but content that is not a valid message."),
    ("unsupported_protocol_version", "The request's `protocol_version` is not one this runner speaks."),
    ("unexpected_message", "A `response` frame reached the runner, which only accepts requests and cancels."),
];

/// The messages runners write with the error types above, so that every runner, whatever its
/// language, answers the same situation with the same bytes: `(name, error type, template)`.
/// `{placeholder}`s are replaced by the value named (timestamps in the canonical format); the
/// generated bindings take them from the schema (`x-rrq.error_messages`).
pub const ERROR_MESSAGES: &[(&str, &str, &str)] = &[
    ("handler_not_found", "handler_not_found", "no handler is registered for function `{function}`"),
    ("cancelled", "cancelled", "the request was cancelled"),
    ("shutting_down", "cancelled", "the runner is shutting down"),
    ("deadline_passed", "timeout", "the deadline {when} passed before the handler started"),
    ("deadline_exceeded", "timeout", "the deadline {when} passed while the handler was running"),
    ("busy", "busy", "the connection already has {limit} requests in flight"),
    ("invalid_frame", "invalid_frame", "{error}"),
    (
        "unsupported_protocol_version",
        "unsupported_protocol_version",
        "protocol version `{received}` is not supported (this runner speaks `{supported}`)",
    ),
    ("unexpected_message", "unexpected_message", "a runner accepts requests and cancels, not `{type}` frames"),
];

#[cfg(test)]
mod tests;
