//! The generated catalogue central_bench and sync_bench load (SKUs
//! `BENCH-SKU-0001`, `BENCH-SKU-0002`, ... with stock 1,000,000, so no
//! ±1 load ever runs out) and the store ids `STORE-001`, `STORE-002`, ...

use std::path::Path;

use anyhow::Context;

/// The `index`-th SKU (from 0): `BENCH-SKU-0001`, ...
pub fn sku(index: usize) -> String {
    format!("BENCH-SKU-{:04}", index + 1)
}

/// The `index`-th store (from 0): `STORE-001`, ...
pub fn store(index: usize) -> String {
    format!("STORE-{:03}", index + 1)
}

/// Writes a catalogue of `skus` SKUs as the `populate --catalogue` CSV;
/// returns its path as a string, ready to pass as an argument.
pub fn write(path: &Path, skus: usize) -> anyhow::Result<String> {
    let mut csv = String::from("sku,name,quantity\n");
    for i in 0..skus {
        csv.push_str(&format!("{},Bench item {},1000000\n", sku(i), i + 1));
    }
    std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_count_from_one() {
        assert_eq!(sku(0), "BENCH-SKU-0001");
        assert_eq!(sku(249), "BENCH-SKU-0250");
        assert_eq!(store(1), "STORE-002");
    }
}
