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

/// The crossing a move of available stock from `before` to `after` makes
/// at reorder point `level`, if any: low when it ends at or below the level
/// from above it, restored when it ends above the level from at or below it.
pub fn crossing(level: i64, before: i64, after: i64) -> Option<Crossing> {
    match (before <= level, after <= level) {
        (false, true) => Some(Crossing::Low),
        (true, false) => Some(Crossing::Restored),
        _ => None,
    }
}
