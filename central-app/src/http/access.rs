//! Who may call what, and the path segments every store route shares.

use domain::{Sku, StoreId};
use serde::Deserialize;
use serde_json::json;
use service_infra::ApiError;
use service_infra::auth::{Claims, Role};

/// Every role may read.
pub(super) const ANY_ROLE: &[Role] = &[Role::SyncWorker, Role::Store, Role::Admin];

/// 403 unless the token has one of `roles` and may act for `store_id`.
pub(super) fn authorize(
    claims: &Claims,
    roles: &[Role],
    store_id: &StoreId,
) -> Result<(), ApiError> {
    claims.require_role(roles)?;
    if claims.may_access_store(store_id.as_str()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this token may not act for store {store_id}"
        )))
    }
}

/// The store a list is about: the one asked for (if the token may read
/// it), else a store token's own, else every store (`None`).
pub(super) fn store_scope(
    claims: &Claims,
    asked: Option<&StoreId>,
) -> Result<Option<String>, ApiError> {
    match (asked, claims.role) {
        (Some(store_id), _) => {
            authorize(claims, ANY_ROLE, store_id)?;
            Ok(Some(store_id.to_string()))
        }
        (None, Role::Store) => Ok(claims.store_id.clone()),
        (None, _) => Ok(None),
    }
}

/// `{store_id}` and `{sku}` path segments, checked by the domain types.
#[derive(Debug, Deserialize)]
pub struct StoreSkuPath {
    pub(super) store_id: String,
    pub(super) sku: String,
}

impl StoreSkuPath {
    /// The validated pair, or 422 naming the bad segment.
    pub fn parse(self) -> Result<(StoreId, Sku), ApiError> {
        let store_id = parse_field("store_id", &self.store_id)?;
        let sku = parse_field("sku", &self.sku)?;
        Ok((store_id, sku))
    }
}

/// Parses a value with its domain type, or 422 naming `field`.
pub(super) fn parse_field<T>(field: &str, value: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|err: T::Err| {
        ApiError::validation(
            format!("{field} is not valid"),
            json!({ "field": field, "reason": err.to_string() }),
        )
    })
}
