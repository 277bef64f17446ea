//! In-process serialization of commands per SKU stream, and the queue of
//! changes waiting for a stripe's next group commit.
//!
//! The database alone would be correct, but concurrent requests for one hot
//! SKU would each hold a pooled connection while racing on the same stream.
//! Striped queues line them up in the process instead: one writer per
//! stripe at a time, which takes everything queued behind it (group commit,
//! `group_commit.rs`); another process's writers are caught by the write's
//! sequence check.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

const STRIPES: usize = 256;

/// A fixed set of stripes, one chosen per stream id by hash; `J` is what
/// waits in a stripe's queue, `C` what its writer keeps between writes.
pub struct StreamStripes<J, C> {
    hasher: RandomState,
    stripes: Vec<Arc<Stripe<J, C>>>,
}

/// The queue and the writer lock of the streams that hash alike; the lock
/// guards what the writer keeps.
pub struct Stripe<J, C> {
    queue: Mutex<Vec<J>>,
    writer: Arc<AsyncMutex<C>>,
}

impl<J, C: Default> Default for StreamStripes<J, C> {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            stripes: (0..STRIPES)
                .map(|_| {
                    Arc::new(Stripe {
                        queue: Mutex::new(Vec::new()),
                        writer: Arc::default(),
                    })
                })
                .collect(),
        }
    }
}

impl<J, C> StreamStripes<J, C> {
    /// The stripe of `stream_id`.
    pub fn of(&self, stream_id: &str) -> Arc<Stripe<J, C>> {
        let index = self.hasher.hash_one(stream_id) as usize % STRIPES;
        Arc::clone(&self.stripes[index])
    }
}

impl<J, C> Stripe<J, C> {
    /// Waits to be the stripe's only writer; held until the guard drops.
    pub async fn write_lock(&self) -> OwnedMutexGuard<C> {
        Arc::clone(&self.writer).lock_owned().await
    }

    /// Queues `job` for the stripe's next writer.
    pub fn enqueue(&self, job: J) {
        self.queue().push(job);
    }

    /// Takes up to `limit` queued jobs, oldest first.
    pub fn take(&self, limit: usize) -> Vec<J> {
        let mut queue = self.queue();
        let taken = queue.len().min(limit);
        queue.drain(..taken).collect()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<J>> {
        // A panic while pushing or draining leaves the Vec whole.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
