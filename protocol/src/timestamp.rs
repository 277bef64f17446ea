//! A point in time a client sends (RFC 3339).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// An RFC 3339 time such as `2026-11-25T12:00:00Z`.
///
/// OpenAPI 3.1 treats `format: date-time` as a hint, so the document also
/// carries a pattern. It is a little narrower than what the server parses
/// (days 29 to 31 are left out, so every matching text is a real date);
/// nothing a client sends in the usual form is refused by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

const PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$";

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .pattern(Some(PATTERN))
            .examples([serde_json::json!("2026-11-25T12:00:00Z")])
            .into()
    }
}

impl ToSchema for Timestamp {}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse() {
        let time: Timestamp =
            serde_json::from_str("\"2026-11-25T12:00:00.5+01:00\"").expect("valid");
        assert_eq!(time.0.to_rfc3339(), "2026-11-25T11:00:00.500+00:00");
        assert!(serde_json::from_str::<Timestamp>("\"\"").is_err());
    }
}
