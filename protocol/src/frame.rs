//! Frames: a 4-byte big-endian body length, then the JSON body. Written once for every protocol
//! version: the functions are generic over the [`Message`] a frame holds, and each version
//! module names them for its own `RunnerMessage`.

use crate::{FRAME_HEADER_LEN, MAX_FRAME_LEN};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::marker::PhantomData;

/// A message a frame can hold: encoded by serde (canonically, see `docs/PROTOCOL.md`), decoded
/// by the strict decoder from a parsed JSON value.
pub trait Message: Serialize + Sized {
    /// Reads the message strictly from a parsed JSON body.
    fn from_value(value: &Value) -> Result<Self, DecodeError>;
}

/// What kind of rule a rejected frame broke. Every language binding reports the same kind for
/// the same frame (the golden corpus records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The length header is zero, above [`MAX_FRAME_LEN`], or disagrees with the bytes given.
    Length,
    /// The body is not one well-formed JSON document in UTF-8 (syntax, encoding, number out of
    /// range, lone surrogate escape, nesting deeper than [`crate::MAX_NESTING_DEPTH`], trailing
    /// bytes).
    Json,
    /// A value has the wrong JSON type (including `null` where it is not allowed).
    Type,
    /// A required field is absent.
    Missing,
    /// A value has the right JSON type but is not allowed: an integer out of range, an unknown
    /// enum value or message type, a malformed timestamp.
    Value,
}

impl ErrorKind {
    /// The kind's name in the golden corpus and in other languages' bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Length => "length",
            ErrorKind::Json => "json",
            ErrorKind::Type => "type",
            ErrorKind::Missing => "missing",
            ErrorKind::Value => "value",
        }
    }
}

/// One step of the path to a rejected value: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A well-formed JSON body that is not a valid message: what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    kind: ErrorKind,
    /// Outermost segment first.
    path: Vec<PathSegment>,
    message: String,
}

impl DecodeError {
    pub(crate) fn new(kind: ErrorKind, message: String) -> Self {
        DecodeError { kind, path: Vec::new(), message }
    }

    /// The same error, one level further out: `segment` is prepended to the path.
    pub(crate) fn within(mut self, segment: PathSegment) -> Self {
        self.path.insert(0, segment);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The path to the offending value, as `payload.context.attempt`, `payload.args[2]` or
    /// `payload.kwargs["a key"]`; `$` for the whole message.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
                PathSegment::Key(k) => {
                    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if plain {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(k);
                    } else {
                        out.push('[');
                        out.push_str(&Value::String(k.clone()).to_string());
                        out.push(']');
                    }
                }
            }
        }
        if out.is_empty() {
            out.push('$');
        }
        out
    }

    /// What was expected and what was found, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path(), self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Why a frame could not be decoded or encoded.
#[derive(Debug)]
pub enum FrameError {
    /// The length header is wrong: the message says how.
    Length(String),
    /// The body is not well-formed JSON; serde_json's message, with line and column.
    Json(serde_json::Error),
    /// The body is well-formed JSON but not a valid message; names the field path.
    Invalid(DecodeError),
}

impl FrameError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            FrameError::Length(_) => ErrorKind::Length,
            FrameError::Json(_) => ErrorKind::Json,
            FrameError::Invalid(e) => e.kind(),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(msg) => write!(f, "invalid frame length: {msg}"),
            Self::Json(err) => write!(f, "json decode error: {err}"),
            Self::Invalid(err) => write!(f, "invalid message: {err}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Length(_) => None,
            Self::Json(err) => Some(err),
            Self::Invalid(err) => Some(err),
        }
    }
}

impl From<serde_json::Error> for FrameError {
    fn from(err: serde_json::Error) -> Self {
        Self::Json(err)
    }
}

impl From<DecodeError> for FrameError {
    fn from(err: DecodeError) -> Self {
        Self::Invalid(err)
    }
}

fn check_length(length: usize) -> Result<(), FrameError> {
    if length == 0 {
        return Err(FrameError::Length("zero-length frame".into()));
    }
    if length > MAX_FRAME_LEN {
        return Err(FrameError::Length(format!(
            "frame of {length} bytes exceeds MAX_FRAME_LEN ({MAX_FRAME_LEN})"
        )));
    }
    Ok(())
}

/// The canonical JSON body of a message (no header): compact, fields in declaration order,
/// object keys of dynamic values sorted by code point.
pub fn encode_message<M: Message>(message: &M) -> Result<Vec<u8>, FrameError> {
    Ok(serde_json::to_vec(message)?)
}

/// Decodes one JSON body (no header) strictly; see `docs/PROTOCOL.md` for what is accepted.
pub fn decode_message<M: Message>(body: &[u8]) -> Result<M, FrameError> {
    let value: Value = serde_json::from_slice(body)?;
    Ok(M::from_value(&value)?)
}

/// Encodes a message as one frame: header and canonical body.
pub fn encode_frame<M: Message>(message: &M) -> Result<Vec<u8>, FrameError> {
    let payload = encode_message(message)?;
    check_length(payload.len())?;
    let mut framed = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(&payload);
    Ok(framed)
}

fn header_length(header: &[u8]) -> usize {
    u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize
}

/// Decodes exactly one complete frame: the header's length must equal the bytes that follow it.
pub fn decode_frame<M: Message>(frame: &[u8]) -> Result<M, FrameError> {
    if frame.len() < FRAME_HEADER_LEN {
        return Err(FrameError::Length(format!(
            "{} bytes is shorter than the {FRAME_HEADER_LEN}-byte header",
            frame.len()
        )));
    }
    let length = header_length(frame);
    check_length(length)?;
    let actual = frame.len() - FRAME_HEADER_LEN;
    if actual != length {
        return Err(FrameError::Length(format!(
            "header says {length} bytes but {actual} follow it"
        )));
    }
    decode_message(&frame[FRAME_HEADER_LEN..])
}

/// Incremental frame decoder for byte streams: push bytes as they arrive, pop complete bodies.
///
/// A header announcing zero bytes or more than [`MAX_FRAME_LEN`] is an error as soon as its four
/// bytes are pushed, before any of its body is buffered. After an error the stream is out of
/// step and the decoder keeps returning it: close the connection.
#[derive(Debug)]
pub struct FrameDecoder<M> {
    buffer: Vec<u8>,
    /// Offset in `buffer` of the first frame not yet returned.
    start: usize,
    /// Offset in `buffer` of the first frame whose bytes are not all buffered yet.
    scan: usize,
    failed: Option<String>,
    message: PhantomData<fn() -> M>,
}

impl<M> Default for FrameDecoder<M> {
    fn default() -> Self {
        FrameDecoder { buffer: Vec::new(), start: 0, scan: 0, failed: None, message: PhantomData }
    }
}

impl<M: Message> FrameDecoder<M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Appends bytes read from the stream. Each header is checked as soon as its four bytes are
    /// in, before any byte of its body is buffered; a bad one fails this and every later call.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), FrameError> {
        if let Some(msg) = &self.failed {
            return Err(FrameError::Length(msg.clone()));
        }
        while !bytes.is_empty() {
            let have = self.buffer.len() - self.scan;
            let (want, header_done) = if have < FRAME_HEADER_LEN {
                (FRAME_HEADER_LEN - have, true)
            } else {
                (FRAME_HEADER_LEN + header_length(&self.buffer[self.scan..]) - have, false)
            };
            let take = want.min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if take < want {
                break;
            }
            if header_done {
                if let Err(err) = check_length(header_length(&self.buffer[self.scan..])) {
                    self.failed = Some(err.to_string());
                    return Err(err);
                }
            } else {
                self.scan = self.buffer.len();
            }
        }
        Ok(())
    }

    /// Removes and returns the next complete frame body, if one is buffered.
    pub fn next_body(&mut self) -> Option<Vec<u8>> {
        if self.start == self.scan {
            return None;
        }
        let end = self.start + FRAME_HEADER_LEN + header_length(&self.buffer[self.start..]);
        let body = self.buffer[self.start + FRAME_HEADER_LEN..end].to_vec();
        self.start = end;
        if self.start > self.buffer.len() / 2 {
            self.buffer.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        Some(body)
    }

    /// Removes and decodes the next complete frame, if one is buffered. A body that fails to
    /// decode is consumed (the stream stays in step), and its error returned.
    pub fn next_message(&mut self) -> Option<Result<M, FrameError>> {
        self.next_body().map(|body| decode_message(&body))
    }
}

/// The framing functions of one protocol version, named for its `RunnerMessage` (used inside
/// each version module).
macro_rules! version_framing {
    () => {
        /// The canonical JSON body of a message (no header): compact, fields in declaration
        /// order, object keys of dynamic values sorted by code point.
        pub fn encode_message(message: &RunnerMessage) -> Result<Vec<u8>, $crate::FrameError> {
            $crate::frame::encode_message(message)
        }

        /// Decodes one JSON body (no header) strictly; see `docs/PROTOCOL.md` for what is accepted.
        pub fn decode_message(body: &[u8]) -> Result<RunnerMessage, $crate::FrameError> {
            $crate::frame::decode_message(body)
        }

        /// Encodes a message as one frame: header and canonical body.
        pub fn encode_frame(message: &RunnerMessage) -> Result<Vec<u8>, $crate::FrameError> {
            $crate::frame::encode_frame(message)
        }

        /// Decodes exactly one complete frame: the header's length must equal the bytes that
        /// follow it.
        pub fn decode_frame(frame: &[u8]) -> Result<RunnerMessage, $crate::FrameError> {
            $crate::frame::decode_frame(frame)
        }

        /// Incremental frame decoder for this version's messages (see [`crate::frame::FrameDecoder`]).
        pub type FrameDecoder = $crate::frame::FrameDecoder<RunnerMessage>;
    };
}
pub(crate) use version_framing;
