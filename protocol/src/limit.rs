//! Page sizes: `limit` query parameters with their range and default in the
//! type, so the document shows the bounds the server checks.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A page size between 1 and `MAX`; `DEFAULT` when the client sends none
/// (use it with `#[serde(default)]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Limit<const MAX: u32, const DEFAULT: u32>(u32);

impl<const MAX: u32, const DEFAULT: u32> Limit<MAX, DEFAULT> {
    /// The page size.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<const MAX: u32, const DEFAULT: u32> Default for Limit<MAX, DEFAULT> {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

/// The cursor that continues a page of `limit` rows: the last item's `key`
/// when the page is full (more may follow), none on a shorter, last page.
pub fn next_cursor<T, K>(items: &[T], limit: i64, key: impl Fn(&T) -> K) -> Option<K> {
    let full = i64::try_from(items.len()).is_ok_and(|n| n == limit);
    items.last().filter(|_| full).map(key)
}

/// A page size outside its range.
#[derive(Debug, thiserror::Error)]
#[error("limit must be between 1 and {max}, got {got}")]
pub struct LimitError {
    max: u32,
    got: i64,
}

impl<const MAX: u32, const DEFAULT: u32> TryFrom<i64> for Limit<MAX, DEFAULT> {
    type Error = LimitError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u32::try_from(value) {
            Ok(n) if (1..=MAX).contains(&n) => Ok(Self(n)),
            _ => Err(LimitError {
                max: MAX,
                got: value,
            }),
        }
    }
}

impl<const MAX: u32, const DEFAULT: u32> From<Limit<MAX, DEFAULT>> for i64 {
    fn from(value: Limit<MAX, DEFAULT>) -> i64 {
        value.0.into()
    }
}

impl<const MAX: u32, const DEFAULT: u32> PartialSchema for Limit<MAX, DEFAULT> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(1))
            .maximum(Some(MAX))
            .default(Some(DEFAULT.into()))
            .description(Some(format!("Page size, 1 to {MAX} (default {DEFAULT}).")))
            .into()
    }
}

impl<const MAX: u32, const DEFAULT: u32> ToSchema for Limit<MAX, DEFAULT> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Limit{MAX}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused() {
        type L = Limit<500, 100>;
        assert_eq!(L::default().get(), 100);
        assert_eq!(L::try_from(500).map(L::get).ok(), Some(500));
        for bad in [0, -1, 501, i64::MIN, i64::MAX] {
            assert!(L::try_from(bad).is_err(), "{bad} accepted");
        }
    }
}
