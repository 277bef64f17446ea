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

use std::collections::{HashMap, VecDeque};
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

/// Jobs waiting, and whether a writer of the stripe's own is due to look
/// at them (at most one is; one that found the queue empty may still be
/// letting go of the lock). Jobs that arrive meanwhile wait for its next
/// group, or are taken by another stripe's writer.
struct Queue<J> {
    jobs: VecDeque<J>,
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
                            jobs: VecDeque::new(),
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
        queue.jobs.push_back(job);
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

    /// For the stripe's own writer when it fails: no writer is due any
    /// more (the next job starts another) and the jobs queued are dropped
    /// unanswered (their callers see the failure).
    pub fn abandon(&self) {
        let mut queue = self.queue();
        queue.jobs.clear();
        queue.writer_due = false;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stripes() -> StreamStripes<u32, ()> {
        StreamStripes::default()
    }

    #[test]
    fn only_the_first_job_queued_starts_a_writer() {
        let stripes = stripes();
        let stripe = stripes.of("SKU-1");
        assert!(stripe.enqueue(1), "no writer due: start one");
        assert!(!stripe.enqueue(2), "a writer is due");
        assert!(
            !stripe.writer_done_if_idle(),
            "jobs wait: the writer goes on"
        );
        assert_eq!(stripe.take(10), vec![1, 2]);
        assert!(
            stripe.writer_done_if_idle(),
            "nothing queued: the writer ends"
        );
        assert!(stripe.enqueue(3), "the next job starts another");
    }

    #[test]
    fn an_abandoned_stripe_drops_its_jobs_and_takes_a_new_writer() {
        let stripes = stripes();
        let stripe = stripes.of("SKU-1");
        assert!(stripe.enqueue(1));
        stripe.abandon();
        assert!(!stripe.has_queued());
        assert!(stripe.enqueue(2), "a new writer is started");
    }

    #[tokio::test]
    async fn a_writer_takes_the_jobs_of_free_stripes_but_not_of_held_ones() {
        let stripes = stripes();
        let ids: Vec<String> = (0..64).map(|n| format!("SKU-{n}")).collect();
        for (n, id) in ids.iter().enumerate() {
            stripes.of(id).enqueue(n as u32);
        }
        let first = &ids[0];
        let busy = ids
            .iter()
            .find(|id| !Arc::ptr_eq(&stripes.of(id), &stripes.of(first)))
            .expect("another stripe");
        let held = stripes.of(busy).try_write_lock().expect("free");
        let own = stripes.of(first).try_write_lock().expect("free");
        let (mut locked, mut taken) = stripes.take_queued(first, own, 1_000);
        taken.sort_unstable();
        let left: Vec<u32> = (0..64).filter(|n| !taken.contains(n)).collect();
        let busy_jobs: Vec<u32> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| Arc::ptr_eq(&stripes.of(id), &stripes.of(busy)))
            .map(|(n, _)| n as u32)
            .collect();
        assert_eq!(left, busy_jobs, "only the held stripe's jobs are left");
        for id in ids
            .iter()
            .filter(|id| !Arc::ptr_eq(&stripes.of(id), &stripes.of(busy)))
        {
            locked.of(id); // held: no panic
        }
        drop(held);
    }
}
