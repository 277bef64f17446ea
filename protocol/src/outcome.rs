//! Outcomes and statuses that cross process boundaries, as enums.
//!
//! Central's answer to a pushed change is [`domain::central::Outcome`]; the
//! reason of a rejection is [`domain::store::RejectionReason`]. Both are
//! serde enums of the domain, documented here through the `openapi`
//! feature. This module adds what only the wire needs.

use domain::Version;
use domain::central::Outcome;
use domain::store::{RejectionReason, SyncOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Central's final answer to a change, as the worker reports it to the
/// store. Other outcomes (`version_ahead`, …) may turn out differently on a
/// later push, so they are never recorded as final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FinalOutcome {
    Applied,
    VersionConflict,
    InsufficientStock,
    TransferRefused,
}

impl FinalOutcome {
    /// The final outcome `outcome` is, if it is one.
    pub fn of(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::Applied => Some(Self::Applied),
            Outcome::VersionConflict => Some(Self::VersionConflict),
            Outcome::InsufficientStock => Some(Self::InsufficientStock),
            Outcome::TransferRefused => Some(Self::TransferRefused),
            Outcome::VersionAhead | Outcome::OperationIdReused | Outcome::SkuNotFound => None,
        }
    }

    /// The store-side command for this outcome, with central's figures.
    pub fn into_sync_outcome(self, version: Version, quantity: i64) -> SyncOutcome {
        let rejected = |reason| SyncOutcome::Rejected {
            reason,
            version,
            quantity,
        };
        match self {
            Self::Applied => SyncOutcome::Applied { version, quantity },
            Self::VersionConflict => rejected(RejectionReason::VersionConflict),
            Self::InsufficientStock => rejected(RejectionReason::InsufficientStock),
            Self::TransferRefused => rejected(RejectionReason::TransferRefused),
        }
    }
}

/// Where a store change stands with central.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Waiting to be sent to central.
    Pending,
    /// Waiting to be sent again after a transient error.
    Retrying,
    /// Applied at central.
    Synced,
    /// Refused by central for good; its delta was given back locally.
    Rejected,
    /// Set aside: central refuses any batch holding it (an answer for the
    /// whole batch, not for the change); still pending, its delta still
    /// counted, until an operator retries it after a fix.
    Quarantined,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_outcomes_convert() {
        for outcome in [
            Outcome::Applied,
            Outcome::VersionConflict,
            Outcome::InsufficientStock,
        ] {
            assert!(FinalOutcome::of(outcome).is_some(), "{outcome:?}");
            assert!(outcome.is_final());
        }
        for outcome in [
            Outcome::VersionAhead,
            Outcome::OperationIdReused,
            Outcome::SkuNotFound,
        ] {
            assert_eq!(FinalOutcome::of(outcome), None);
        }
    }

    #[test]
    fn wire_names_match_the_domain_codes() {
        for (outcome, code) in [
            (FinalOutcome::Applied, Outcome::Applied.code()),
            (
                FinalOutcome::VersionConflict,
                Outcome::VersionConflict.code(),
            ),
            (
                FinalOutcome::InsufficientStock,
                Outcome::InsufficientStock.code(),
            ),
        ] {
            assert_eq!(serde_json::to_value(outcome).expect("serializes"), code);
        }
    }
}
