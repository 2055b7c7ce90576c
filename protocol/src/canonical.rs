//! Canonical serialization of dynamic JSON values.
//!
//! `serde_json::Value` keeps object keys in insertion order when serde_json's `preserve_order`
//! feature is on, and that feature is switched on for a whole build by any crate in it (Cargo
//! feature unification). The canonical encoding needs object keys sorted by code point at every
//! depth regardless, so dynamic values are written through [`Canonical`], which sorts.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// Serializes a JSON value with the keys of every object sorted by Unicode code point
/// (byte order of their UTF-8, which is how `str` compares).
struct Canonical<'a>(&'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Canonical(item))?;
                }
                seq.end()
            }
            Value::Object(object) => {
                let mut entries: Vec<(&String, &Value)> = object.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, &Canonical(value))?;
                }
                map.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

pub(crate) fn values<S: Serializer>(values: &[Value], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(Canonical))
}

pub(crate) fn value_map<S: Serializer>(
    map: &BTreeMap<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(map.iter().map(|(k, v)| (k, Canonical(v))))
}

/// An optional dynamic value is omitted when it is `None` or a JSON `null`: decoding reads a
/// `null` as `None`, so writing `null` would make `Some(Null)` encode differently from its own
/// decoded form. With this rule decode → encode is a fixed point for every constructed value.
pub(crate) fn is_absent(value: &Option<Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

pub(crate) fn option_value<S: Serializer>(
    value: &Option<Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(&Canonical(value)),
        None => serializer.serialize_none(),
    }
}
