//! The items `populate` registers for each store: the built-in sample
//! catalogue, or a CSV file with the columns `sku,name,quantity`.

use std::path::Path;

use domain::Sku;
use serde::Deserialize;

/// One catalogue line: a SKU, its name and the starting quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueItem {
    pub sku: Sku,
    pub name: String,
    pub quantity: i64,
}

/// The sample catalogue every store starts with in development.
const SAMPLE: &[(&str, &str, i64)] = &[
    ("ELEC-LAPTOP-001", "ThinkPad X1 Carbon", 50),
    ("ELEC-PHONE-002", "iPhone 15 Pro", 100),
    ("ELEC-TABLET-003", "iPad Air 5", 75),
    ("ELEC-WATCH-004", "Apple Watch Series 8", 150),
    ("ELEC-HEAD-005", "Sony WH-1000XM5", 200),
    ("ELEC-CAM-006", "Canon EOS R6", 25),
    ("ELEC-GAME-007", "PlayStation 5", 30),
    ("ELEC-TV-008", "LG OLED C2 65\"", 15),
    ("ELEC-SPEAK-009", "Sonos Five", 45),
    ("ELEC-MON-010", "Dell Ultrasharp U2723QE", 60),
];

/// The built-in sample catalogue.
pub fn sample() -> Vec<CatalogueItem> {
    SAMPLE
        .iter()
        .map(|(sku, name, quantity)| CatalogueItem {
            sku: sku
                .parse()
                .unwrap_or_else(|_| unreachable!("sample SKUs are valid")),
            name: (*name).to_owned(),
            quantity: *quantity,
        })
        .collect()
}

#[derive(Deserialize)]
struct CsvLine {
    sku: String,
    name: String,
    quantity: i64,
}

/// Reads a CSV catalogue with a `sku,name,quantity` header, checking every
/// line; the error names the first bad line.
pub fn from_csv(path: &Path) -> anyhow::Result<Vec<CatalogueItem>> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let mut items = Vec::new();
    for (index, line) in reader.deserialize::<CsvLine>().enumerate() {
        let line_no = index + 2;
        let line = line.map_err(|err| anyhow::anyhow!("line {line_no}: {err}"))?;
        let sku: Sku = line
            .sku
            .trim()
            .parse()
            .map_err(|err| anyhow::anyhow!("line {line_no}: {err}"))?;
        let name = line.name.trim().to_owned();
        if name.is_empty() || name.len() > 200 {
            anyhow::bail!("line {line_no}: name must have 1 to 200 characters");
        }
        if !(0..=1_000_000_000).contains(&line.quantity) {
            anyhow::bail!("line {line_no}: quantity must be between 0 and 1000000000");
        }
        items.push(CatalogueItem {
            sku,
            name,
            quantity: line.quantity,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_catalogue_has_ten_items() {
        let items = sample();
        assert_eq!(items.len(), 10);
        assert_eq!(items[7].name, "LG OLED C2 65\"");
    }

    #[test]
    fn csv_lines_are_validated() {
        let dir = std::env::temp_dir().join(format!("catalogue-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("good.csv");
        std::fs::write(&good, "sku,name,quantity\nA-1,Thing,3\n").expect("write");
        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "sku,name,quantity\na-1,Thing,3\n").expect("write");

        assert_eq!(from_csv(&good).expect("valid csv")[0].quantity, 3);
        let err = from_csv(&bad).expect_err("lowercase sku").to_string();
        assert!(err.contains("line 2"), "{err}");
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}
