//! OpenAPI schemas of the value types (feature `openapi`), written beside
//! the rules they describe: the pattern and bounds a document shows are the
//! constants the constructors check, so the two cannot disagree.

use serde_json::json;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::reservation::ReservationId;
use crate::transfer::TransferId;
use crate::values::{
    Delta, MAX_ABS_DELTA, OperationId, SKU_PATTERN, STORE_ID_PATTERN, Sku, StoreId,
};

fn code(pattern: &str, max_len: usize, example: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(Some(max_len))
        .description(Some(description))
        .examples([json!(example)])
        .into()
}

impl PartialSchema for StoreId {
    fn schema() -> RefOr<Schema> {
        code(STORE_ID_PATTERN, 32, "STORE-001", "A store's id.")
    }
}
impl ToSchema for StoreId {}

impl PartialSchema for Sku {
    fn schema() -> RefOr<Schema> {
        code(SKU_PATTERN, 64, "ELEC-LAPTOP-001", "A stock-keeping unit.")
    }
}
impl ToSchema for Sku {}

fn uuid(description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        // OpenAPI 3.1 treats formats as hints; the pattern is binding.
        .pattern(Some(
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        ))
        .description(Some(description))
        .examples([json!(example)])
        .into()
}

impl PartialSchema for OperationId {
    fn schema() -> RefOr<Schema> {
        uuid(
            "Identifies one change, unique per store; repeating it makes a retry safe.",
            "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001",
        )
    }
}
impl ToSchema for OperationId {}

impl PartialSchema for TransferId {
    fn schema() -> RefOr<Schema> {
        uuid(
            "Identifies one transfer between stores; repeating it makes a retry safe.",
            "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7b001",
        )
    }
}
impl ToSchema for TransferId {}

impl PartialSchema for ReservationId {
    fn schema() -> RefOr<Schema> {
        uuid(
            "Identifies one reservation (a hold); repeating it makes a retry safe.",
            "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7c001",
        )
    }
}
impl ToSchema for ReservationId {}

impl PartialSchema for Delta {
    /// A non-zero integer within ±[`MAX_ABS_DELTA`]: two ranges, since JSON
    /// Schema has no "not zero" that every generator understands.
    fn schema() -> RefOr<Schema> {
        let range = |min: i64, max: i64| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(min))
                .maximum(Some(max))
        };
        OneOfBuilder::new()
            .item(range(-MAX_ABS_DELTA, -1))
            .item(range(1, MAX_ABS_DELTA))
            .description(Some(
                "Units added (> 0) or removed (< 0); non-zero, at most 1,000,000 either way.",
            ))
            .examples([json!(-2)])
            .into()
    }
}
impl ToSchema for Delta {}
