//! Deterministic JSON for case outcomes: compact, byte for byte the same for runners that behave alike.

use serde_json::Value;

/// A JSON value to print: report objects in a fixed key order, protocol bytes verbatim.
#[derive(Debug, Clone)]
pub enum Out {
    /// Bytes that are already canonical JSON (a protocol value).
    Raw(Vec<u8>),
    /// A plain JSON value (scalars, or values built by the orchestrator).
    Json(Value),
    /// An object whose keys are written in this order.
    Obj(Vec<(String, Out)>),
    /// An array.
    Arr(Vec<Out>),
}

impl Out {
    pub fn str(s: impl Into<String>) -> Out {
        Out::Json(Value::String(s.into()))
    }

    pub fn obj<K: Into<String>>(entries: impl IntoIterator<Item = (K, Out)>) -> Out {
        Out::Obj(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Out::Raw(bytes) => out.extend_from_slice(bytes),
            Out::Json(value) => write_sorted(value, out),
            Out::Obj(entries) => {
                out.push(b'{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut *out, key).expect("a string always serializes");
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
            Out::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

impl From<Value> for Out {
    fn from(value: Value) -> Out {
        Out::Json(value)
    }
}

/// Writes `value` as compact JSON with the keys of every object sorted by code point, whatever
/// order the map holds them in (serde_json's `preserve_order` may be on in a workspace build).
pub fn write_sorted(value: &Value, out: &mut Vec<u8>) {
    write_ordered(value, out, false)
}

/// Like [`write_sorted`] but with every object's keys in *reverse* code-point order: the same
/// value, not canonically ordered (used to check that runners sort keys themselves).
pub fn write_reversed(value: &Value, out: &mut Vec<u8>) {
    write_ordered(value, out, true)
}

fn write_ordered(value: &Value, out: &mut Vec<u8>, reverse: bool) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_ordered(item, out, reverse);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            if reverse {
                entries.reverse();
            }
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).expect("a string always serializes");
                out.push(b':');
                write_ordered(item, out, reverse);
            }
            out.push(b'}');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("a scalar always serializes"),
    }
}
