//! When a low-stock alert is due: once per crossing of the reorder point,
//! not once per change.

use serde::{Deserialize, Serialize};

/// A crossing of a reorder point by available stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Crossing {
    /// Available stock fell to or below the level (`stock.low`).
    Low,
    /// Available stock rose above the level again (`stock.restored`).
    Restored,
}

impl Crossing {
    /// The message's routing-key prefix.
    pub fn routing_prefix(self) -> &'static str {
        match self {
            Self::Low => "stock.low",
            Self::Restored => "stock.restored",
        }
    }
}

/// The alert `available` stock calls for at reorder point `level`, given
/// whether the SKU is low already (an alert went out and stock has not been
/// restored since): `Low` when it is at or below the level and was not low,
/// `Restored` when it is above the level and was low, else none — one
/// message per crossing, however many changes move it on either side.
pub fn alert_due(level: i64, was_low: bool, available: i64) -> Option<Crossing> {
    match (was_low, available <= level) {
        (false, true) => Some(Crossing::Low),
        (true, false) => Some(Crossing::Restored),
        _ => None,
    }
}
