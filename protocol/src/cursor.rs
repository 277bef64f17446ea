//! The position of a reader in an event log, as clients see it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Where a reader stands in a log: after the event of transaction `tx_id`
/// at `position`. Written `"<tx_id>-<position>"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogCursor {
    /// The writing transaction's id (PostgreSQL `xid8`).
    pub tx_id: u64,
    /// The event's insertion number.
    pub position: i64,
}

/// The pattern of a cursor's text.
/// The lengths keep every matching text within `u64` and `i64`, so the
/// parser accepts exactly what the pattern describes.
const PATTERN: &str = "^[0-9]{1,19}-[0-9]{1,18}$";

/// A cursor string that is not one we issued.
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor {0:?}: use the next_cursor or cursor value of an earlier page")]
pub struct InvalidCursor(pub String);

impl FromStr for LogCursor {
    type Err = InvalidCursor;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCursor(value.to_owned());
        let (tx, position) = value.split_once('-').ok_or_else(invalid)?;
        let digits = |s: &str, max: usize| {
            (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(tx, 19) || !digits(position, 18) {
            return Err(invalid());
        }
        Ok(Self {
            tx_id: tx.parse().map_err(|_| invalid())?,
            position: position.parse().map_err(|_| invalid())?,
        })
    }
}

impl fmt::Display for LogCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx_id, self.position)
    }
}

impl Serialize for LogCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LogCursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `after` query parameter of an event log: a cursor, or nothing (absent
/// or empty) to read from the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct After(pub Option<LogCursor>);

impl After {
    /// Where to read from: the start when no cursor was given.
    pub fn cursor(self) -> LogCursor {
        self.0.unwrap_or_default()
    }
}

impl Serialize for After {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(cursor) => cursor.serialize(serializer),
            None => serializer.serialize_str(""),
        }
    }
}

impl<'de> Deserialize<'de> for After {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(Self(None));
        }
        text.parse()
            .map(|cursor| Self(Some(cursor)))
            .map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for After {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!(
                "^({})?$",
                PATTERN.trim_start_matches('^').trim_end_matches('$')
            )))
            .description(Some(
                "Read after this cursor (an event's `cursor` or a page's `next_cursor`); \
                 from the start when absent or empty.",
            ))
            .examples([serde_json::json!("7491-12")])
            .into()
    }
}

impl ToSchema for After {}

impl PartialSchema for LogCursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(PATTERN))
            .description(Some(
                "A position in the log, as given by an event's `cursor` or a page's `next_cursor`.",
            ))
            .examples([serde_json::json!("7491-12")])
            .into()
    }
}

impl ToSchema for LogCursor {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor: LogCursor = "7491-12".parse().expect("valid");
        assert_eq!(cursor.to_string(), "7491-12");
        assert_eq!("0-0".parse::<LogCursor>().ok(), Some(LogCursor::default()));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        assert_eq!(
            serde_json::from_str::<After>("\"\"").ok(),
            Some(After(None))
        );
        assert!(serde_json::from_str::<After>("\"x\"").is_err());
        for bad in [
            "",
            "garbage",
            "-1",
            "1--1",
            "1-",
            "-",
            "+1-2",
            "1-+2",
            "1-99999999999999999999",
        ] {
            assert!(bad.parse::<LogCursor>().is_err(), "{bad:?} accepted");
        }
    }
}
