//! The strict decoder: a `serde::Deserializer` over a parsed `serde_json::Value` that tracks the
//! path of every error and refuses what serde would accept by surprise.
//!
//! Decoding is two steps: the body is parsed into a `Value` (JSON syntax, UTF-8, nesting depth;
//! duplicate keys keep the last value, in every object), then the typed message is read from the
//! value through [`Strict`]. Unlike `serde_json`'s own deserializers, [`Strict`] accepts a struct
//! only as a JSON object (never as an array), and a unit enum only as a string (never as
//! `{"variant": null}`); everything else follows serde's derived rules, so defaults, `null`
//! handling and ignored unknown fields are exactly those of the Rust types.

use crate::frame::{DecodeError, ErrorKind, PathSegment};
use crate::message::RunnerMessage;
use crate::outcome::ExecutionOutcome;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use serde::Deserializer;
use serde_json::Value;

impl de::Error for DecodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        DecodeError::new(ErrorKind::Value, msg.to_string())
    }

    fn invalid_type(unexpected: Unexpected, expected: &dyn de::Expected) -> Self {
        DecodeError::new(ErrorKind::Type, format!("invalid type: {unexpected}, expected {expected}"))
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        DecodeError::new(ErrorKind::Type, format!("invalid length {len}, expected {expected}"))
    }

    fn missing_field(field: &'static str) -> Self {
        DecodeError::new(ErrorKind::Missing, "missing required field".to_string())
            .within(PathSegment::Key(field.to_string()))
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A deserializer over one JSON value, strict about shapes (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct Strict<'a>(pub(crate) &'a Value);

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                _ => Err(DecodeError::new(ErrorKind::Value, "number out of range".into())),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Seq { items: items.iter(), index: 0 }),
            // Any-JSON values cannot fail inside, so their entries' order does not matter.
            Value::Object(map) => visitor.visit_map(Fields::new(map.iter().collect())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// Presents the known fields in declaration order (unknown ones are never looked at), so
    /// the first invalid field reported is the first in declaration order whatever the input's
    /// key order; absent required fields are reported after that, also in declaration order.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Object(map) => {
                let entries = fields.iter().filter_map(|f| map.get_key_value(*f)).collect();
                visitor.visit_map(Fields::new(entries))
            }
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    /// Presents the entries sorted by key (code point order), so the first invalid entry
    /// reported does not depend on the input's order or on serde_json's map implementation.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                visitor.visit_map(Fields::new(entries))
            }
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq { items: items.iter(), index: 0 }),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct tuple tuple_struct identifier
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Value>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        let Some(item) = self.items.next() else { return Ok(None) };
        let index = self.index;
        self.index += 1;
        seed.deserialize(Strict(item))
            .map(Some)
            .map_err(|e| e.within(PathSegment::Index(index)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Fields<'a> {
    entries: std::vec::IntoIter<(&'a String, &'a Value)>,
    current: Option<(&'a String, &'a Value)>,
}

impl<'a> Fields<'a> {
    fn new(entries: Vec<(&'a String, &'a Value)>) -> Self {
        Fields { entries: entries.into_iter(), current: None }
    }
}

impl<'de> de::MapAccess<'de> for Fields<'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        self.current = self.entries.next();
        match self.current {
            Some((key, _)) => seed.deserialize(key.as_str().into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DecodeError> {
        let (key, value) = self.current.expect("next_value_seed called before next_key_seed");
        seed.deserialize(Strict(value))
            .map_err(|e| e.within(PathSegment::Key(key.clone())))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

fn payload<T: DeserializeOwned>(payload: &Value) -> Result<T, DecodeError> {
    T::deserialize(Strict(payload)).map_err(|e| e.within(PathSegment::Key("payload".into())))
}

/// Reads a [`RunnerMessage`] from a parsed JSON value: an object whose `type` selects the
/// payload type; the keys may come in any order and unknown keys are ignored.
pub(crate) fn message<Request: DeserializeOwned, Cancel: DeserializeOwned>(
    value: &Value,
) -> Result<RunnerMessage<Request, Cancel>, DecodeError> {
    let Value::Object(map) = value else {
        return Err(de::Error::invalid_type(unexpected(value), &"a message object"));
    };
    let within_type = |e: DecodeError| e.within(PathSegment::Key("type".into()));
    let tag = match map.get("type") {
        None => return Err(de::Error::missing_field("type")),
        Some(Value::String(tag)) => tag.as_str(),
        Some(other) => {
            return Err(within_type(de::Error::invalid_type(unexpected(other), &"a message type string")))
        }
    };
    const TAGS: &[&str] = &["request", "response", "cancel"];
    if !TAGS.contains(&tag) {
        return Err(within_type(de::Error::unknown_variant(tag, TAGS)));
    }
    let Some(body) = map.get("payload") else {
        return Err(de::Error::missing_field("payload"));
    };
    Ok(match tag {
        "request" => RunnerMessage::Request { payload: payload(body)? },
        "response" => RunnerMessage::Response { payload: payload::<ExecutionOutcome>(body)? },
        _ => RunnerMessage::Cancel { payload: payload(body)? },
    })
}
