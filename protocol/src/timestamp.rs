//! Timestamps on the wire: a strict RFC 3339 grammar for decoding, chrono's format for encoding.
//!
//! chrono's own parser accepts forms RFC 3339 does not (a space or a lowercase `t` for `T`,
//! `+0200`, leap seconds at any minute, more than nine fraction digits), which no other language
//! would reproduce. The protocol therefore decodes timestamps with this grammar, which every
//! binding implements identically (`docs/PROTOCOL.md`):
//!
//! ```text
//! YYYY-MM-DD "T" hh:mm:ss [ "." 1*9DIGIT ] ( "Z" / ("+" / "-") hh:mm )
//! ```
//!
//! with year 0001–9999, a day that exists in its month, hour 00–23, minute and second 00–59,
//! offset hours 00–23 and minutes 00–59, and the instant, once shifted to UTC, within
//! 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999999999Z.
//!
//! Encoding is chrono's: UTC with `Z`, and a fraction of 0, 3, 6 or 9 digits (the fewest of
//! those that are exact).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{de, Deserializer};

/// Why a timestamp string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(&'static str);

impl std::fmt::Display for TimestampError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for TimestampError {}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses a timestamp with the protocol's strict RFC 3339 grammar (see the module docs).
pub fn parse(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    const SHAPE: TimestampError =
        TimestampError("expected an RFC 3339 timestamp YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)");
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(SHAPE);
    }
    let field = |range: std::ops::Range<usize>| digits(&b[range]).ok_or(SHAPE);
    let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return Err(TimestampError("expected 1 to 9 digits of fractional seconds"));
        }
        nanos = digits(&fraction[..len]).ok_or(SHAPE)? * 10u32.pow(9 - len as u32);
        rest = &fraction[len..];
    }
    let offset_seconds = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2]).ok_or(SHAPE)?, digits(&[*m1, *m2]).ok_or(SHAPE)?);
            if oh > 23 || om > 59 {
                return Err(TimestampError("offset out of range"));
            }
            let seconds = (oh * 3600 + om * 60) as i32;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return Err(SHAPE),
    };
    if year == 0 {
        return Err(TimestampError("year out of range 0001..=9999"));
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or(TimestampError("no such date"))?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TimestampError("time of day out of range"));
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or(SHAPE)?;
    let offset = FixedOffset::east_opt(offset_seconds).ok_or(SHAPE)?;
    let local = offset.from_local_datetime(&date.and_time(time)).single().ok_or(SHAPE)?;
    let utc = local.with_timezone(&Utc);
    if !(1..=9999).contains(&utc.year()) {
        return Err(TimestampError("timestamp out of range once converted to UTC"));
    }
    Ok(utc)
}

struct Visitor;

impl de::Visitor<'_> for Visitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 timestamp string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text).map_err(|err| E::custom(format_args!("invalid timestamp {text:?}: {err}")))
    }
}

/// Deserializes with the strict grammar of [`parse`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Visitor)
}

/// The same, for `Option<DateTime<Utc>>` fields (`null` is `None`).
pub mod option {
    use super::*;

    struct OptionVisitor;

    impl<'de> de::Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp string or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }
}
