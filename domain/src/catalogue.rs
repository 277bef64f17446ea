//! The sample catalogue every store and central start with, and the CSV
//! format (`sku,name,quantity`) for loading another one.

use crate::values::Sku;

/// One catalogue line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueItem {
    pub sku: Sku,
    pub name: String,
    pub quantity: i64,
}

/// Why a catalogue could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("catalogue is not valid CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The prototype's ten SKUs, with the same names and quantities.
pub const SAMPLE_CSV: &str = "sku,name,quantity
ELEC-LAPTOP-001,ThinkPad X1 Carbon,50
ELEC-PHONE-002,iPhone 15 Pro,100
ELEC-TABLET-003,iPad Air 5,75
ELEC-WATCH-004,Apple Watch Series 8,150
ELEC-HEAD-005,Sony WH-1000XM5,200
ELEC-CAM-006,Canon EOS R6,25
ELEC-GAME-007,PlayStation 5,30
ELEC-TV-008,\"LG OLED C2 65\"\"\",15
ELEC-SPEAK-009,Sonos Five,45
ELEC-MON-010,Dell Ultrasharp U2723QE,60
";

/// The sample catalogue's SKUs, in its order (for tests and benches that
/// load it).
pub const SAMPLE_SKUS: [&str; 10] = [
    "ELEC-LAPTOP-001",
    "ELEC-PHONE-002",
    "ELEC-TABLET-003",
    "ELEC-WATCH-004",
    "ELEC-HEAD-005",
    "ELEC-CAM-006",
    "ELEC-GAME-007",
    "ELEC-TV-008",
    "ELEC-SPEAK-009",
    "ELEC-MON-010",
];

/// The built-in sample catalogue.
pub fn sample() -> Vec<CatalogueItem> {
    parse(SAMPLE_CSV).unwrap_or_default()
}

/// Parses `sku,name,quantity` CSV with a header row.
pub fn parse(text: &str) -> Result<Vec<CatalogueItem>, CatalogueError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut items = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |reason: String| CatalogueError::Line { line, reason };
        let [sku, name, quantity] = [0, 1, 2].map(|i| record.get(i).unwrap_or("").trim());
        let sku: Sku = sku.parse().map_err(|e| bad(format!("{e}")))?;
        if name.is_empty() {
            return Err(bad("name is empty".into()));
        }
        let quantity: i64 = quantity.parse().ok().filter(|q| *q >= 0).ok_or_else(|| {
            bad(format!(
                "quantity must be an integer >= 0, got {quantity:?}"
            ))
        })?;
        items.push(CatalogueItem {
            sku,
            name: name.to_owned(),
            quantity,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_the_prototypes_ten_skus() {
        let items = sample();
        assert_eq!(items.len(), 10);
        assert_eq!(items[7].name, "LG OLED C2 65\"");
        assert_eq!(items.iter().map(|i| i.quantity).sum::<i64>(), 750);
        let skus: Vec<&str> = items.iter().map(|i| i.sku.as_str()).collect();
        assert_eq!(skus, SAMPLE_SKUS);
    }

    #[test]
    fn bad_lines_name_their_line() {
        let error = parse("sku,name,quantity\nA-1,Thing,3\nbad sku,Thing,1\n")
            .expect_err("invalid sku refused");
        assert!(error.to_string().starts_with("line 3"), "{error}");
        assert!(parse("sku,name,quantity\nA-1,Thing,-1\n").is_err());
    }
}
