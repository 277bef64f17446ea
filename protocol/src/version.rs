//! Bounded figures on the wire. About a stream: a version (what a
//! compare-and-set change expects, or central's version reported back to a
//! store) and a quantity (central's, reported back to a store), both bounded
//! by [`MAX_FIGURE`], the largest integer every JSON client represents
//! exactly, so a store adding its pending changes to a figure from the wire
//! never overflows. Units a client states: what a shelf holds ([`Counted`])
//! and what a transfer moves or a store received ([`Units`]), bounded like
//! one change ([`MAX_ABS_DELTA`]), so the change they become is valid.

use domain::values::MAX_ABS_DELTA;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The largest version or quantity accepted: 2^53 - 1.
pub const MAX_FIGURE: i64 = (1 << 53) - 1;

/// A figure outside its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be between {min} and {max}, got {got}")]
pub struct FigureError {
    what: &'static str,
    min: i64,
    max: i64,
    got: i64,
}

fn figure_schema(range: (i64, i64), description: &str, example: i64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(range.0))
        .maximum(Some(range.1))
        .description(Some(description))
        .examples([serde_json::json!(example)])
        .into()
}

macro_rules! figure_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:expr, $max:expr, $description:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// The figure.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = FigureError;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                if ($min..=$max).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(FigureError { what: $what, min: $min, max: $max, got: value })
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
                figure_schema(($min, $max), $description, $example)
            }
        }

        impl ToSchema for $name {}
    };
}

figure_type!(
    /// A (store, SKU) stream's version: 0 at registration, +1 per applied
    /// change.
    StreamVersion,
    "version",
    0,
    MAX_FIGURE,
    "A stream's version: 0 at registration, +1 per applied change.",
    3
);

figure_type!(
    /// Units of a SKU that central holds for a store.
    Quantity,
    "quantity",
    0,
    MAX_FIGURE,
    "Units of the SKU at central (never negative).",
    48
);

figure_type!(
    /// Units on a shelf, as a physical count found them.
    Counted,
    "counted",
    0,
    MAX_ABS_DELTA,
    "Units on the shelf (0 to 1,000,000).",
    7
);

figure_type!(
    /// A positive number of units: what a transfer moves, or what arrived.
    Units,
    "units",
    1,
    MAX_ABS_DELTA,
    "A number of units (1 to 1,000,000).",
    5
);

figure_type!(
    /// How long a hold lasts, in seconds (a week at most).
    HoldSeconds,
    "expires_in",
    1,
    604_800,
    "Seconds until a hold lets go by itself (1 to 604,800: a week).",
    7200
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_bounded_both_ways() {
        assert!(StreamVersion::try_from(-1).is_err());
        assert!(StreamVersion::try_from(MAX_FIGURE + 1).is_err());
        assert_eq!(
            StreamVersion::try_from(MAX_FIGURE).map(StreamVersion::get),
            Ok(MAX_FIGURE)
        );
        assert!(Quantity::try_from(i64::MAX).is_err());
        assert_eq!(Quantity::try_from(0).map(Quantity::get), Ok(0));
    }

    #[test]
    fn units_are_bounded_like_one_change() {
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
