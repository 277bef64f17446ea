//! In-process serialization of commands per SKU stream.
//!
//! The database lock alone would be correct, but concurrent requests for one
//! hot SKU would each hold a pooled connection while queueing on the same row
//! lock, starving every other SKU of connections. Striped mutexes queue them
//! in the process instead, one connection per stripe at a time; another
//! process's writers still meet the row lock.

use std::hash::{BuildHasher, RandomState};

use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 256;

/// A fixed set of mutexes, one chosen per stream id by hash.
pub struct StreamStripes {
    hasher: RandomState,
    stripes: Vec<Mutex<()>>,
}

impl Default for StreamStripes {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl StreamStripes {
    /// Waits for the stripe of `stream_id`; held until the guard drops.
    pub async fn lock(&self, stream_id: &str) -> MutexGuard<'_, ()> {
        let index = self.hasher.hash_one(stream_id) as usize % STRIPES;
        self.stripes[index].lock().await
    }
}
