//! In-process serialization of commands per SKU stream, and the queue of
//! changes waiting for a group commit.
//!
//! The database alone would be correct, but concurrent requests for one hot
//! SKU would each hold a pooled connection while racing on the same stream.
//! Striped queues line them up in the process instead: one writer per
//! stripe at a time, which takes everything queued behind it — on its own
//! stripe and on every other stripe whose writer is free — and commits it
//! together (group commit, `group_commit.rs`); another process's writers
//! are caught by the write's sequence check.

use std::collections::HashMap;
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
    queue: Mutex<Queue<J>>,
    writer: Arc<AsyncMutex<C>>,
}

/// Jobs waiting, and whether a writer of the stripe's own is on its way to
/// them (at most one is: jobs that arrive meanwhile wait for its next
/// group, or are taken by another stripe's writer).
#[derive(Default)]
struct Queue<J> {
    jobs: Vec<J>,
    writer_due: bool,
}

/// The stripes one writer holds, and what each keeps.
pub struct LockedStripes<C> {
    hasher: RandomState,
    held: HashMap<usize, OwnedMutexGuard<C>>,
}

impl<J, C: Default> Default for StreamStripes<J, C> {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            stripes: (0..STRIPES)
                .map(|_| {
                    Arc::new(Stripe {
                        queue: Mutex::new(Queue {
                            jobs: Vec::new(),
                            writer_due: false,
                        }),
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
        Arc::clone(&self.stripes[index_of(&self.hasher, stream_id)])
    }

    /// With `own`, the writer lock of `stream_id`'s stripe, held: also
    /// becomes the writer of every other stripe with jobs queued whose
    /// writer is free, and takes up to `limit` jobs from them, each
    /// stripe's oldest first. A job left queued has its own writer coming.
    pub fn take_queued(
        &self,
        stream_id: &str,
        own: OwnedMutexGuard<C>,
        limit: usize,
    ) -> (LockedStripes<C>, Vec<J>) {
        let first = index_of(&self.hasher, stream_id);
        let mut locked = LockedStripes {
            hasher: self.hasher.clone(),
            held: HashMap::from([(first, own)]),
        };
        let mut jobs = self.stripes[first].take(limit);
        // From the next stripe on, so that no stripe is always last.
        let others = (first + 1..STRIPES).chain(0..first);
        for index in others {
            if jobs.len() >= limit {
                break;
            }
            let stripe = &self.stripes[index];
            if !stripe.has_queued() {
                continue;
            }
            let Some(guard) = stripe.try_write_lock() else {
                continue;
            };
            let taken = stripe.take(limit - jobs.len());
            if !taken.is_empty() {
                jobs.extend(taken);
                locked.held.insert(index, guard);
            }
        }
        (locked, jobs)
    }
}

impl<J, C> Stripe<J, C> {
    /// Waits to be the stripe's only writer; held until the guard drops.
    pub async fn write_lock(&self) -> OwnedMutexGuard<C> {
        Arc::clone(&self.writer).lock_owned().await
    }

    /// The stripe's writer lock, if no one holds it.
    pub fn try_write_lock(&self) -> Option<OwnedMutexGuard<C>> {
        Arc::clone(&self.writer).try_lock_owned().ok()
    }

    /// Queues `job`; true when the stripe has no writer due, and the
    /// caller must start one.
    pub fn enqueue(&self, job: J) -> bool {
        let mut queue = self.queue();
        queue.jobs.push(job);
        !std::mem::replace(&mut queue.writer_due, true)
    }

    /// Whether any job waits in the queue (writers take them).
    pub fn has_queued(&self) -> bool {
        !self.queue().jobs.is_empty()
    }

    /// For the stripe's own writer, between groups: true when nothing is
    /// queued, and the writer is then no longer due (the next job starts
    /// another).
    pub fn writer_done_if_idle(&self) -> bool {
        let mut queue = self.queue();
        if queue.jobs.is_empty() {
            queue.writer_due = false;
        }
        !queue.writer_due
    }

    /// Takes up to `limit` queued jobs, oldest first.
    fn take(&self, limit: usize) -> Vec<J> {
        let mut queue = self.queue();
        let taken = queue.jobs.len().min(limit);
        queue.jobs.drain(..taken).collect()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<J>> {
        // A panic while pushing or draining leaves the queue whole.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<C> LockedStripes<C> {
    /// What the writer keeps for `stream_id`'s stripe.
    ///
    /// # Panics
    ///
    /// If that stripe is not held: a writer touches only the streams of
    /// the jobs it took.
    pub fn of(&mut self, stream_id: &str) -> &mut C {
        let index = index_of(&self.hasher, stream_id);
        self.held
            .get_mut(&index)
            .expect("a writer touches only the stripes it holds")
    }
}

fn index_of(hasher: &RandomState, stream_id: &str) -> usize {
    hasher.hash_one(stream_id) as usize % STRIPES
}
