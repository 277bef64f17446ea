//! The streams last read or written through a stripe, kept between groups
//! behind the stripe's lock: whoever touches them holds it (a group's
//! writer holds the stripes of all its SKUs; a count or a sync outcome
//! holds its SKU's). A group
//! whose SKUs are all here and that refuses nothing skips the read: it is
//! decided on these states and written with the usual sequence guard, plus
//! the checks the read would have made (no operation id taken by a count,
//! no live hold on a SKU it sells). A stream another writer moved fails the
//! guard, is forgotten and is read again.

use std::collections::HashMap;

use domain::Sku;
use domain::store::StockItem;
use service_infra::event_streams::LockedStream;

use super::stripes::LockedStripes;

/// Most streams kept per stripe (256 stripes: about 16,000 SKUs of a few
/// hundred bytes each); when full the stripe starts over.
const CAPACITY: usize = 64;

/// Streams by SKU, at their state after their last write here.
#[derive(Default)]
pub struct StreamCache {
    streams: HashMap<Sku, LockedStream<StockItem>>,
}

impl StreamCache {
    /// Keeps `stream` as `sku`'s state now in the database, unless a later
    /// one is kept (written after `stream`, before its writer got here).
    pub fn keep(&mut self, sku: Sku, stream: LockedStream<StockItem>) {
        if let Some(kept) = self.streams.get(&sku)
            && kept.sequence > stream.sequence
        {
            return;
        }
        if self.streams.len() >= CAPACITY && !self.streams.contains_key(&sku) {
            self.streams.clear();
        }
        self.streams.insert(sku, stream);
    }

    /// Forgets `sku`'s stream (it moved, or may have).
    pub fn forget(&mut self, sku: &Sku) {
        self.streams.remove(sku);
    }
}

/// The kept streams of the stripes a group's writer holds.
pub type KeptStreams = LockedStripes<StreamCache>;

impl KeptStreams {
    /// Every stream of `skus`, keyed by aggregate id, if all are kept.
    pub fn all_of<'a>(
        &mut self,
        mut skus: impl Iterator<Item = &'a Sku>,
    ) -> Option<HashMap<String, LockedStream<StockItem>>> {
        skus.try_fold(HashMap::new(), |mut found, sku| {
            let stream = self.of(sku.as_str()).streams.get(sku)?.clone();
            found.insert(sku.to_string(), stream);
            Some(found)
        })
    }

    /// Keeps `stream` as `sku`'s state now in the database.
    pub fn keep(&mut self, sku: Sku, stream: LockedStream<StockItem>) {
        self.of(sku.as_str()).keep(sku, stream);
    }

    /// Forgets `sku`'s stream (it moved, or may have).
    pub fn forget(&mut self, sku: &Sku) {
        self.of(sku.as_str()).forget(sku);
    }
}
