//! Central's answer to one change, with the stable codes the APIs use.

use serde::{Deserialize, Serialize};

use super::CentralError;

/// How central decided a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    VersionConflict,
    VersionAhead,
    InsufficientStock,
    /// A transfer step the transfer does not allow (cancelled, already
    /// shipped, another store's, another quantity).
    TransferRefused,
    OperationIdReused,
    SkuNotFound,
}

impl Outcome {
    /// The outcome's code in API bodies and metrics.
    pub fn code(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::VersionConflict => "version_conflict",
            Self::VersionAhead => "version_ahead",
            Self::InsufficientStock => "insufficient_stock",
            Self::TransferRefused => "transfer_refused",
            Self::OperationIdReused => "operation_id_reused",
            Self::SkuNotFound => "sku_not_found",
        }
    }

    /// Final outcomes are recorded under the operation id and answered again
    /// on a replay; the others may turn out differently next time.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Applied | Self::VersionConflict | Self::InsufficientStock | Self::TransferRefused
        )
    }

    /// A change refused for good: later compare-and-set changes of the same
    /// stream in the batch were made on top of it and must be refused too.
    pub fn is_final_refusal(self) -> bool {
        matches!(
            self,
            Self::VersionConflict | Self::InsufficientStock | Self::TransferRefused
        )
    }
}

impl From<&CentralError> for Outcome {
    fn from(error: &CentralError) -> Self {
        match error {
            CentralError::SkuNotFound | CentralError::NegativeInitialQuantity(_) => {
                Self::SkuNotFound
            }
            CentralError::VersionConflict { .. } => Self::VersionConflict,
            CentralError::VersionAhead { .. } => Self::VersionAhead,
            CentralError::InsufficientStock { .. } => Self::InsufficientStock,
        }
    }
}
