//! Comparing JSON values the way the required cases do.
//!
//! The required level asks for the *same values*: the same structure, the same strings, keys
//! and booleans, and numbers of the same mathematical value (`1` and `1.0` are the same number;
//! `9007199254740993` and `9007199254740992` are not). Exact bytes — `1.0` written as `1.0`,
//! `-0.0` kept, keys sorted — are what the recommended canonical-bytes cases check.

use serde_json::{Number, Value};

/// Are `a` and `b` the same JSON value, numbers compared by value?
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn same_number(x: &Number, y: &Number) -> bool {
    match (integer(x), integer(y)) {
        (Some(a), Some(b)) => a == b,
        (Some(i), None) => float_is_integer(y.as_f64(), i),
        (None, Some(i)) => float_is_integer(x.as_f64(), i),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

fn float_is_integer(f: Option<f64>, i: i128) -> bool {
    match f {
        // |f| < 2^127 converts exactly; an integer-valued f64 equals `i` only if `i` is exact.
        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 => f as i128 == i,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn numbers_by_value() {
        assert!(same_value(
            &v("[1, 1.0, -0.0, 1e21]"),
            &v("[1.0, 1, 0, 1000000000000000000000]")
        ));
        assert!(!same_value(&v("9007199254740993"), &v("9007199254740992")));
        assert!(!same_value(
            &v("9007199254740993"),
            &v("9007199254740992.0")
        ));
        assert!(same_value(
            &v("18446744073709551615"),
            &v("18446744073709551615")
        ));
        assert!(!same_value(&v("0.1"), &v("0.10000000000000002")));
        assert!(same_value(
            &v(r#"{"a":[1],"b":null}"#),
            &v(r#"{"b":null,"a":[1.0]}"#)
        ));
        assert!(!same_value(&v(r#"{"a":1}"#), &v(r#"{"a":1,"b":2}"#)));
        assert!(!same_value(&v(r#""1""#), &v("1")));
    }
}
