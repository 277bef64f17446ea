//! What kind of stock movement a change is, and the sign each kind must
//! have: the words retail people use ("how much did we sell, receive, write
//! off?"), on every change of the log.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::Delta;

/// The kind of a stock change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Units sold: removes stock.
    Sale,
    /// Units a customer brought back: adds stock.
    Return,
    /// Units delivered: adds stock.
    Receipt,
    /// Units written off (broken, lost, expired): removes stock.
    Damage,
    /// A correction either way; what a change without a kind is.
    #[default]
    Adjustment,
    /// The difference a physical count found, either way.
    Count,
    /// Units sent to another store: removes stock.
    TransferOut,
    /// Units received from another store: adds stock.
    TransferIn,
}

impl ChangeKind {
    /// Every kind, in the order above.
    pub const ALL: [ChangeKind; 8] = [
        Self::Sale,
        Self::Return,
        Self::Receipt,
        Self::Damage,
        Self::Adjustment,
        Self::Count,
        Self::TransferOut,
        Self::TransferIn,
    ];

    /// The kind's wire name (`sale`, `transfer_out`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Return => "return",
            Self::Receipt => "receipt",
            Self::Damage => "damage",
            Self::Adjustment => "adjustment",
            Self::Count => "count",
            Self::TransferOut => "transfer_out",
            Self::TransferIn => "transfer_in",
        }
    }

    /// Whether `delta`'s sign fits the kind: sales, damage and outgoing
    /// transfers remove stock, returns, receipts and incoming transfers add
    /// it, adjustments and counts go either way.
    pub fn fits(self, delta: Delta) -> bool {
        match self {
            Self::Sale | Self::Damage | Self::TransferOut => delta.get() < 0,
            Self::Return | Self::Receipt | Self::TransferIn => delta.get() > 0,
            Self::Adjustment | Self::Count => true,
        }
    }

    /// Whether a plain stock update may have this kind (counts and
    /// transfers have their own operations).
    pub fn is_plain(self) -> bool {
        !matches!(self, Self::Count | Self::TransferOut | Self::TransferIn)
    }

    /// The sign the kind needs, for messages: "negative", "positive" or
    /// "either".
    pub fn sign(self) -> &'static str {
        match self {
            Self::Sale | Self::Damage | Self::TransferOut => "negative",
            Self::Return | Self::Receipt | Self::TransferIn => "positive",
            Self::Adjustment | Self::Count => "either",
        }
    }
}

/// Returned when a text names no [`ChangeKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind {0:?}")]
pub struct UnknownKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownKind(text.to_owned()))
    }
}

impl TryFrom<String> for ChangeKind {
    type Error = UnknownKind;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(value: i64) -> Delta {
        Delta::try_from(value).expect("delta")
    }

    #[test]
    fn each_kind_takes_only_its_sign() {
        for kind in [
            ChangeKind::Sale,
            ChangeKind::Damage,
            ChangeKind::TransferOut,
        ] {
            assert!(kind.fits(delta(-1)) && !kind.fits(delta(1)), "{kind}");
        }
        for kind in [
            ChangeKind::Return,
            ChangeKind::Receipt,
            ChangeKind::TransferIn,
        ] {
            assert!(kind.fits(delta(1)) && !kind.fits(delta(-1)), "{kind}");
        }
        for kind in [ChangeKind::Adjustment, ChangeKind::Count] {
            assert!(kind.fits(delta(1)) && kind.fits(delta(-1)), "{kind}");
        }
    }

    #[test]
    fn wire_names_match_serde_and_a_missing_kind_is_an_adjustment() {
        for kind in ChangeKind::ALL {
            let json = serde_json::to_string(&kind).expect("json");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(ChangeKind::default(), ChangeKind::Adjustment);
    }
}
