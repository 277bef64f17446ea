//! The items `populate` registers for each store: the sample catalogue of
//! `domain::catalogue`, or a CSV file in its `sku,name,quantity` format.

use std::path::Path;

use anyhow::Context;
pub use domain::catalogue::{CatalogueItem, sample};

/// Reads and checks a CSV catalogue; the error names the first bad line.
pub fn from_csv(path: &Path) -> anyhow::Result<Vec<CatalogueItem>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    domain::catalogue::parse(&text).with_context(|| format!("catalogue {}", path.display()))
}
