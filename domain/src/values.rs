//! Validated value types. Anything that reaches the aggregates has passed
//! through one of these constructors, so the rules live here once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Central's version of a (store, SKU) stream: 0 after registration, +1 per
/// applied change.
pub type Version = i64;

/// The largest absolute value a single delta may have.
pub const MAX_ABS_DELTA: i64 = 1_000_000;

/// The shape of a store id (checked by [`StoreId`]).
pub const STORE_ID_PATTERN: &str = "^[A-Z0-9][A-Z0-9-]{0,31}$";

/// The shape of a SKU (checked by [`Sku`]).
pub const SKU_PATTERN: &str = "^[A-Z0-9][A-Z0-9-]{0,63}$";

/// Why a raw value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("store id must match ^[A-Z0-9][A-Z0-9-]{{0,31}}$, got {0:?}")]
    StoreId(String),
    #[error("sku must match ^[A-Z0-9][A-Z0-9-]{{0,63}}$, got {0:?}")]
    Sku(String),
    #[error("delta must be a non-zero integer with |delta| <= {MAX_ABS_DELTA}, got {0}")]
    Delta(i64),
    #[error("operation id must be a UUID, got {0:?}")]
    OperationId(String),
    #[error("version must be >= 0, got {0}")]
    Version(i64),
    #[error("transfer id must be a UUID, got {0:?}")]
    TransferId(String),
    #[error("unknown transfer status {0:?}")]
    TransferStatus(String),
    #[error("reservation id must be a UUID, got {0:?}")]
    ReservationId(String),
    #[error("unknown reservation status {0:?}")]
    HoldStatus(String),
}

/// `^[A-Z0-9][A-Z0-9-]{0,max_rest}$`, the shape shared by store ids and SKUs.
fn is_code(value: &str, max_len: usize) -> bool {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    first_ok
        && value.len() <= max_len
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $err:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                if is_code(&value, $max) {
                    Ok(Self(value))
                } else {
                    Err(ValueError::$err(value))
                }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(
    /// A store's id, e.g. `STORE-001`.
    StoreId,
    32,
    StoreId
);
code_type!(
    /// A stock-keeping unit, e.g. `ELEC-LAPTOP-001`.
    Sku,
    64,
    Sku
);

/// Identifies one change; unique per store across all SKUs. Stores mint
/// UUIDv7 so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperationId(Uuid);

/// The UUIDv5 namespace of [`OperationId::reapplication`].
const REAPPLICATION_NAMESPACE: Uuid = Uuid::from_u128(0x6a1d_7c0e_5b2f_4e0a_9d3c_8f41_2b6e_0a17);

impl OperationId {
    /// A fresh time-ordered id.
    pub fn new_v7() -> Self {
        Self(Uuid::now_v7())
    }

    /// The id of the change that reapplies this one after central refused
    /// it: derived from this id (UUIDv5), so asking twice is one change and
    /// anyone holding either id can find the other.
    pub fn reapplication(&self) -> Self {
        Self(Uuid::new_v5(&REAPPLICATION_NAMESPACE, self.0.as_bytes()))
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for OperationId {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl FromStr for OperationId {
    type Err = ValueError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| ValueError::OperationId(value.to_owned()))
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A non-zero stock movement, |delta| <= [`MAX_ABS_DELTA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Delta(i64);

impl Delta {
    /// The signed amount.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Delta {
    type Error = ValueError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        // `unsigned_abs`: `i64::MIN.abs()` overflows (and wraps to a negative
        // number that would pass the bound in a release build).
        if value != 0 && value.unsigned_abs() <= MAX_ABS_DELTA.unsigned_abs() {
            Ok(Self(value))
        } else {
            Err(ValueError::Delta(value))
        }
    }
}

impl From<Delta> for i64 {
    fn from(value: Delta) -> i64 {
        value.0
    }
}

/// Checks a client-supplied version.
pub fn parse_version(value: i64) -> Result<Version, ValueError> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(ValueError::Version(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_follow_the_pattern() {
        assert!("STORE-001".parse::<StoreId>().is_ok());
        assert!("9".parse::<StoreId>().is_ok());
        for bad in ["", "-STORE", "store-001", "STORE_001", &"A".repeat(33)] {
            assert!(bad.parse::<StoreId>().is_err(), "{bad:?} accepted");
        }
        assert!("A".repeat(32).parse::<StoreId>().is_ok());
    }

    #[test]
    fn skus_allow_sixty_four_characters() {
        assert!("ELEC-LAPTOP-001".parse::<Sku>().is_ok());
        assert!("A".repeat(64).parse::<Sku>().is_ok());
        assert!("A".repeat(65).parse::<Sku>().is_err());
        assert!("elec".parse::<Sku>().is_err());
    }

    #[test]
    fn delta_must_be_non_zero_and_bounded() {
        assert!(Delta::try_from(0).is_err());
        assert!(Delta::try_from(1_000_001).is_err());
        assert!(Delta::try_from(-1_000_001).is_err());
        assert_eq!(Delta::try_from(-1_000_000).map(Delta::get), Ok(-1_000_000));
    }

    #[test]
    fn a_reapplication_id_is_derived_from_its_original() {
        let original: OperationId = "0192f1d6-7c1a-7cc0-9a51-3c1fe4a7a001".parse().expect("id");
        assert_eq!(original.reapplication(), original.reapplication());
        assert_ne!(original.reapplication(), original);
        assert_ne!(
            original.reapplication().reapplication(),
            original.reapplication()
        );
        assert_eq!(original.reapplication().as_uuid().get_version_num(), 5);
    }

    #[test]
    fn the_smallest_i64_is_not_a_delta() {
        assert_eq!(Delta::try_from(i64::MIN), Err(ValueError::Delta(i64::MIN)));
        assert!(Delta::try_from(i64::MAX).is_err());
    }

    #[test]
    fn patterns_describe_what_the_types_accept() {
        assert_eq!(STORE_ID_PATTERN, "^[A-Z0-9][A-Z0-9-]{0,31}$");
        assert_eq!(SKU_PATTERN, "^[A-Z0-9][A-Z0-9-]{0,63}$");
        assert_eq!(
            ValueError::Sku(String::new()).to_string(),
            format!("sku must match {SKU_PATTERN}, got \"\"")
        );
    }

    #[test]
    fn values_deserialize_through_validation() {
        assert!(serde_json::from_str::<Sku>("\"bad sku\"").is_err());
        assert!(serde_json::from_str::<Delta>("0").is_err());
        let sku: Sku = serde_json::from_str("\"A-1\"").expect("valid sku");
        assert_eq!(sku.as_str(), "A-1");
    }

    #[test]
    fn negative_versions_are_refused() {
        assert!(parse_version(-1).is_err());
        assert_eq!(parse_version(0), Ok(0));
    }
}
