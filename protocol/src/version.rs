//! Figures a client sends about a stream: a version (what a compare-and-set
//! change expects, or central's version reported back to a store) and a
//! quantity (central's, reported back to a store).
//!
//! Both are bounded by [`MAX_FIGURE`], the largest integer every JSON
//! client represents exactly, so a store adding its pending changes to a
//! figure from the wire never overflows.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The largest version or quantity accepted: 2^53 - 1.
pub const MAX_FIGURE: i64 = (1 << 53) - 1;

/// A figure outside `0..=MAX_FIGURE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be between 0 and {MAX_FIGURE}, got {got}")]
pub struct FigureError {
    what: &'static str,
    got: i64,
}

fn figure_schema(description: &str, example: i64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(MAX_FIGURE))
        .description(Some(description))
        .examples([serde_json::json!(example)])
        .into()
}

macro_rules! figure_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $description:literal, $example:literal) => {
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
                if (0..=MAX_FIGURE).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(FigureError { what: $what, got: value })
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
                figure_schema($description, $example)
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
    "A stream's version: 0 at registration, +1 per applied change.",
    3
);

figure_type!(
    /// Units of a SKU that central holds for a store.
    Quantity,
    "quantity",
    "Units of the SKU at central (never negative).",
    48
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
}
