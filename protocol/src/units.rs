//! Whole units a client states: what a shelf holds ([`Counted`]) and how
//! many units a transfer moves or a store received ([`Units`]). Both stay
//! within what one change may move ([`domain::values::MAX_ABS_DELTA`]), so
//! the change they become is always a valid one.

use domain::values::MAX_ABS_DELTA;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A figure outside its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be between {min} and {MAX_ABS_DELTA}, got {got}")]
pub struct UnitsError {
    what: &'static str,
    min: i64,
    got: i64,
}

macro_rules! units_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:literal, $description:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// The number of units.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = UnitsError;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                if ($min..=MAX_ABS_DELTA).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(UnitsError { what: $what, min: $min, got: value })
                }
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                value.0
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some($min))
                    .maximum(Some(MAX_ABS_DELTA))
                    .description(Some($description))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

units_type!(
    /// Units on a shelf, as a physical count found them.
    Counted,
    "counted",
    0,
    "Units on the shelf (0 to 1,000,000).",
    7
);

units_type!(
    /// A positive number of units: what a transfer moves, or what arrived.
    Units,
    "units",
    1,
    "A number of units (1 to 1,000,000).",
    5
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_bounded_both_ways() {
        assert!(Counted::try_from(-1).is_err());
        assert_eq!(Counted::try_from(0).map(Counted::get), Ok(0));
        assert!(Counted::try_from(MAX_ABS_DELTA + 1).is_err());
        assert!(Units::try_from(0).is_err());
        assert_eq!(
            Units::try_from(MAX_ABS_DELTA).map(Units::get),
            Ok(MAX_ABS_DELTA)
        );
    }
}
