//! The replay rule shared by store and central: an operation id seen before
//! is a replay when the request is the same, and a reuse (refused, nothing
//! applied) when anything that decides the outcome differs.
//!
//! Storage enforces uniqueness; this module only says what a repeat means.

use serde::{Deserialize, Serialize};

use crate::movement::ChangeKind;
use crate::values::{Delta, Sku, Version};

/// The parts of a change request that decide its outcome. Two requests with
/// one operation id must agree on all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFingerprint {
    pub sku: Sku,
    pub kind: ChangeKind,
    pub delta: Delta,
    pub expected_version: Option<Version>,
}

/// What a repeated operation id amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Same request again: answer with the original outcome, apply nothing.
    Replay,
    /// Same id, different request: refuse with `operation_id_reused`.
    Reused,
}

impl ChangeFingerprint {
    /// Compares a repeated request with the one first recorded under its id.
    pub fn compare(&self, original: &ChangeFingerprint) -> Repeat {
        if self == original {
            Repeat::Replay
        } else {
            Repeat::Reused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(sku: &str, delta: i64, expected: Option<Version>) -> ChangeFingerprint {
        ChangeFingerprint {
            sku: sku.parse().expect("valid sku"),
            kind: ChangeKind::Sale,
            delta: Delta::try_from(delta).expect("valid delta"),
            expected_version: expected,
        }
    }

    #[test]
    fn the_same_request_is_a_replay() {
        let original = fingerprint("A-1", -2, Some(3));
        assert_eq!(original.clone().compare(&original), Repeat::Replay);
    }

    #[test]
    fn another_sku_delta_or_version_is_a_reuse() {
        let original = fingerprint("A-1", -2, Some(3));
        for other in [
            fingerprint("A-2", -2, Some(3)),
            fingerprint("A-1", -3, Some(3)),
            fingerprint("A-1", -2, None),
        ] {
            assert_eq!(other.compare(&original), Repeat::Reused);
        }
    }

    #[test]
    fn the_same_change_under_another_kind_is_a_reuse() {
        let original = fingerprint("A-1", -2, None);
        let damage = ChangeFingerprint {
            kind: ChangeKind::Damage,
            ..original.clone()
        };
        assert_eq!(damage.compare(&original), Repeat::Reused);
    }
}
