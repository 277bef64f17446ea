//! Local changes by group commit.
//!
//! A change joins the queue of its SKU's stripe; the first change queued
//! starts the stripe's writer, a task that waits for a turn to commit (at
//! most [`COMMITTERS`] groups at once) and for the stripe's lock, takes
//! everything queued on its stripe and on every other stripe whose writer
//! is free, commits it as a group, and goes on while changes wait there.
//! Changes that arrive while every turn is taken wait for the next group,
//! so under load many changes share a statement whatever their SKUs:
//!
//! 1. one read without locks ([`BatchRead`]): the streams, what is already
//!    recorded under the operation ids, the live holds on the SKUs sold;
//! 2. each change decided in memory in arrival order, on the state the ones
//!    before it left (a refused change leaves the others alone);
//! 3. one write on its own (its own transaction, no `BEGIN`/`COMMIT`) that
//!    lands a stream's events only if the stream is still at the sequence
//!    it was read at ([`streams::write`]).
//!
//! Each caller gets its own answer once the write is durable. The changes
//! of a stream that moved meanwhile (another process, a sync outcome, a
//! rebuild) are decided again on a fresh read. The task, not the caller,
//! runs the group: a caller that goes away cannot cut short a write shared
//! with others.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use domain::idempotency::{ChangeFingerprint, Repeat};
use domain::store::{StockCommand, StockError, StockEvent, StockItem};
use domain::{ChangeKind, Delta, OperationId, Sku};
use service_infra::db_retry;
use service_infra::event_streams::{StreamMoved, StreamSet};
use sqlx::PgPool;
use tokio::sync::{OwnedMutexGuard, Semaphore, SemaphorePermit, oneshot};

use super::batch_read::{BatchRead, RecordedChange};
use super::stream_cache::{KeptStreams, StreamCache};
use super::streams::{self, Written};
use super::stripes::Stripe;
use super::{AcceptedChange, ChangeRequest, Ledger, LedgerError, now};

/// The most changes one group commits.
const MAX_GROUP: usize = 128;

/// The most groups committing at once.
pub const COMMITTERS: usize = 2;

/// A change waiting in its stripe's queue for a writer.
pub struct Job {
    request: ChangeRequest,
    answer: oneshot::Sender<Answer>,
}

type Answer = Result<AcceptedChange, LedgerError>;

impl Ledger {
    /// Records a local change, or answers a repeat of one.
    pub async fn change(&self, request: &ChangeRequest) -> Answer {
        let (answer, answered) = oneshot::channel();
        let stripe = self.stripes.of(request.sku.as_str());
        let job = Job {
            request: request.clone(),
            answer,
        };
        if stripe.enqueue(job) {
            tokio::spawn(self.clone().write_stripe(request.sku.clone(), stripe));
        }
        // Only a panic in the group's task, or its stripe's writer failing,
        // drops the answer unsent.
        answered
            .await
            .unwrap_or(Err(sqlx::Error::WorkerCrashed.into()))
    }

    /// The writer of `sku`'s stripe: commits groups while changes wait
    /// there, then ends.
    async fn write_stripe(self, sku: Sku, stripe: Arc<Stripe<Job, StreamCache>>) {
        let mut due = WriterDue {
            stripe: Arc::clone(&stripe),
            found_idle: false,
        };
        while let Some((turn, own)) = writer_turn(&self.committers, &stripe).await {
            let (mut kept, group) = self.stripes.take_queued(sku.as_str(), own, MAX_GROUP);
            if group.is_empty() {
                continue;
            }
            if let Some(sizes) = &self.group_sizes {
                sizes.observe(group.len() as f64);
            }
            // In a task of its own: a panic fails this group's callers, not
            // the stripe's writer.
            let pool = self.pool.clone();
            let group = tokio::spawn(async move { commit_group(&pool, group, &mut kept).await });
            drop(group.await);
            drop(turn);
        }
        due.found_idle = true;
    }
}

/// Held by a stripe's writer while it runs: if the writer ends any other
/// way than by finding its queue empty (a panic, the runtime shutting
/// down), the stripe is left with no writer due and its queued changes
/// fail, rather than waiting for a writer that will not come.
struct WriterDue {
    stripe: Arc<Stripe<Job, StreamCache>>,
    found_idle: bool,
}

impl Drop for WriterDue {
    fn drop(&mut self) {
        if !self.found_idle {
            self.stripe.abandon();
        }
    }
}

/// A turn to commit and the writer lock of `stripe`, for the stripe's own
/// writer; `None` once nothing is queued there (other writers took it). A
/// writer never holds a turn while it waits for a stripe, nor a stripe
/// while it waits for a turn: a stripe busy with a count holds up only its
/// own changes, and a writer waiting for a turn leaves its stripe to the
/// others' groups, to counts and to sync outcomes.
async fn writer_turn<'a>(
    committers: &'a Semaphore,
    stripe: &Stripe<Job, StreamCache>,
) -> Option<(SemaphorePermit<'a>, OwnedMutexGuard<StreamCache>)> {
    loop {
        let turn = committers
            .acquire()
            .await
            .expect("the committers' semaphore is never closed");
        if stripe.writer_done_if_idle() {
            return None;
        }
        if let Some(own) = stripe.try_write_lock() {
            return Some((turn, own));
        }
        drop(turn);
        let own = stripe.write_lock().await;
        if let Ok(turn) = committers.try_acquire() {
            return (!stripe.writer_done_if_idle()).then_some((turn, own));
        }
    }
}

/// Commits a group. A failure other than a write conflict that may be one
/// change's (a row that does not decode, say) is that change's business:
/// the group's changes are then committed one by one, and only one that
/// fails again gets the error. The database being unreachable is
/// everyone's.
async fn commit_group(pool: &PgPool, group: Vec<Job>, cache: &mut KeptStreams) {
    let Err((error, group)) = commit_together(pool, group, cache).await else {
        return;
    };
    if group.len() == 1 || !may_concern_one_change(&error) {
        answer_all(group, &error);
        return;
    }
    for job in group {
        if let Err((error, left)) = commit_together(pool, vec![job], cache).await {
            answer_all(left, &error);
        }
    }
}

/// Commits the changes together, deciding again those of streams that
/// moved, until each has its answer; or returns the failure and the
/// changes not answered yet.
async fn commit_together(
    pool: &PgPool,
    mut group: Vec<Job>,
    cache: &mut KeptStreams,
) -> Result<(), (sqlx::Error, Vec<Job>)> {
    let mut tries = 0;
    // Kept states are tried first; any round that does not answer
    // everything reads afresh the next time.
    let mut from_cache = true;
    loop {
        let round = decide_and_write(pool, &group, cache, from_cache).await;
        from_cache = false;
        match round {
            Ok(Round::DecideOnARead) => continue,
            Ok(Round::Answered { answers, kept }) => {
                let mut again = Vec::new();
                for (job, answer) in group.into_iter().zip(answers) {
                    match answer {
                        // The caller may have gone; the change stands.
                        Some(answer) => drop(job.answer.send(answer)),
                        None => again.push(job),
                    }
                }
                group = again;
                if group.is_empty() {
                    return Ok(());
                }
                if kept {
                    // A kept state was out of date: read at once.
                    continue;
                }
            }
            Err(error) if !db_retry::is_transient_conflict(&error) => return Err((error, group)),
            Err(_) => {}
        }
        tries += 1;
        if tries >= db_retry::MAX_ATTEMPTS {
            for job in group {
                let moved = StreamMoved(job.request.sku.to_string());
                drop(job.answer.send(Err(moved.into())));
            }
            return Ok(());
        }
        db_retry::pause(tries).await;
    }
}

/// Whether `error` may come from one change's rows rather than from the
/// database being unreachable.
fn may_concern_one_change(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Database(_)
            | sqlx::Error::Decode(_)
            | sqlx::Error::Encode(_)
            | sqlx::Error::ColumnDecode { .. }
    )
}

/// Answers every change with `error` (one change, or what is left of one
/// that failed alone).
fn answer_all(group: Vec<Job>, error: &sqlx::Error) {
    for job in group {
        drop(job.answer.send(Err(copy_error(error).into())));
    }
}

/// How a change of the group was decided.
enum Decision {
    /// Answered from what was recorded before the read.
    Recorded(Answer),
    /// A repeat of an operation id that an earlier change of this group
    /// used: answered from that one's result.
    RepeatOf(usize),
    Accepted(Vec<StockEvent>),
    Refused(StockError),
}

/// What one round came to.
enum Round {
    /// Each change's answer, or `None` for one to decide again (its stream
    /// moved); `kept` when decided on kept states.
    Answered {
        answers: Vec<Option<Answer>>,
        kept: bool,
    },
    /// Decided on kept states, something was refused: a refusal must rest
    /// on a read, so the round is dropped unwritten.
    DecideOnARead,
}

/// One round: read (or take the kept states, when `from_cache` and all
/// are kept), decide, write.
async fn decide_and_write(
    pool: &PgPool,
    group: &[Job],
    cache: &mut KeptStreams,
    from_cache: bool,
) -> Result<Round, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let requests: Vec<&ChangeRequest> = group.iter().map(|job| &job.request).collect();
    let kept = from_cache
        .then(|| cache.all_of(requests.iter().map(|request| &request.sku)))
        .flatten();
    let read = match kept {
        Some(streams) => BatchRead::from_kept(streams),
        None => read(&mut conn, &requests).await?,
    };
    let mut streams = StreamSet::<Sku, StockItem, ()>::from_loaded(
        requests.iter().map(|request| request.sku.clone()),
        read.streams.clone(),
        Sku::to_string,
    );
    let mut first_use: HashMap<OperationId, usize> = HashMap::new();
    let mut picked_up = HashSet::new();
    let mut decisions = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        let decision = if let Some(previous) = read.recorded(request.operation_id) {
            Decision::Recorded(replay(request, previous))
        } else if let Some(&first) = first_use.get(&request.operation_id) {
            Decision::RepeatOf(first)
        } else {
            first_use.insert(request.operation_id, index);
            let picking_up = request.note.reservation.map(|id| id.as_uuid());
            let held = match request.kind {
                ChangeKind::Sale => read.held(&request.sku, picking_up, &picked_up),
                _ => 0,
            };
            match streams
                .execute(&request.sku, adjust(request, held), ())
                .await
            {
                Ok(events) => {
                    picked_up.extend(picking_up);
                    Decision::Accepted(events)
                }
                Err(refusal) => Decision::Refused(refusal),
            }
        };
        decisions.push(decision);
    }
    let refused = decisions
        .iter()
        .any(|decision| matches!(decision, Decision::Refused(_)));
    if read.is_kept() && refused {
        return Ok(Round::DecideOnARead);
    }
    // Decided on kept states, a sale assumed no live hold on its SKU.
    let unheld: HashSet<Sku> = match read.is_kept() {
        true => requests
            .iter()
            .filter(|request| request.kind == ChangeKind::Sale)
            .map(|request| request.sku.clone())
            .collect(),
        false => HashSet::new(),
    };
    let written = match streams::write(&mut conn, streams.into_changes(), &unheld).await {
        Ok(written) => written,
        Err(error) => {
            // The statement may have committed before the answer was lost.
            for request in &requests {
                cache.forget(&request.sku);
            }
            return Err(error);
        }
    };
    keep_states(cache, &read, &written);
    Ok(Round::Answered {
        answers: answers(&requests, decisions, &written),
        kept: read.is_kept(),
    })
}

/// Keeps each stream's state now in the database: as read, or as written;
/// forgets those that moved.
fn keep_states(cache: &mut KeptStreams, read: &BatchRead, written: &Written) {
    // Kept states came from the cache: only a read brings new ones.
    let read_streams = if read.is_kept() {
        None
    } else {
        Some(&read.streams)
    };
    for (sku, stream) in read_streams.into_iter().flatten() {
        if let Ok(sku) = sku.parse() {
            cache.keep(sku, stream.clone());
        }
    }
    for sku in &written.moved {
        cache.forget(sku);
    }
    for (sku, stream) in &written.landed {
        cache.keep(sku.clone(), stream.clone());
    }
}

/// The group's read: its SKUs' streams, its operation ids' records and the
/// live holds on the SKUs it sells.
async fn read(
    conn: &mut sqlx::PgConnection,
    requests: &[&ChangeRequest],
) -> Result<BatchRead, sqlx::Error> {
    let mut skus: Vec<String> = requests.iter().map(|r| r.sku.to_string()).collect();
    skus.sort();
    skus.dedup();
    let operations: Vec<uuid::Uuid> = requests.iter().map(|r| r.operation_id.as_uuid()).collect();
    let mut selling: Vec<String> = requests
        .iter()
        .filter(|r| r.kind == ChangeKind::Sale)
        .map(|r| r.sku.to_string())
        .collect();
    selling.sort();
    selling.dedup();
    BatchRead::load(conn, &skus, &operations, &selling).await
}

/// The command that records `request`, leaving `held` units for holds.
fn adjust(request: &ChangeRequest, held: i64) -> StockCommand {
    StockCommand::Adjust {
        operation_id: request.operation_id,
        kind: request.kind,
        delta: request.delta,
        expected_version: request.expected_version,
        note: request.note.clone(),
        held,
        at: now(),
    }
}

/// Each change's answer after the write; `None` for the changes of a
/// stream that moved (and repeats of them), which are decided again.
fn answers(
    requests: &[&ChangeRequest],
    decisions: Vec<Decision>,
    written: &Written,
) -> Vec<Option<Answer>> {
    let landed = |sku: &Sku| !written.moved.contains(sku);
    let figures: Vec<Option<AcceptedChange>> = decisions
        .iter()
        .zip(requests)
        .map(|(decision, request)| match decision {
            Decision::Accepted(events) if landed(&request.sku) => {
                Some(accepted_change(request, events))
            }
            _ => None,
        })
        .collect();
    decisions
        .into_iter()
        .enumerate()
        .map(|(index, decision)| {
            let request = requests[index];
            match decision {
                Decision::Recorded(answer) => Some(answer),
                Decision::Accepted(_) => figures[index].clone().map(Ok),
                Decision::Refused(refusal) => landed(&request.sku).then(|| Err(refusal.into())),
                // Once the first is refused (this one is then decided on
                // its own) or its stream moved, there is nothing to repeat.
                Decision::RepeatOf(first) => figures[first]
                    .as_ref()
                    .map(|change| repeat(request, requests[first], change)),
            }
        })
        .collect()
}

/// The figures of an accepted change, from its one event.
fn accepted_change(request: &ChangeRequest, events: &[StockEvent]) -> AcceptedChange {
    match events {
        [
            StockEvent::StockAdjusted {
                quantity,
                version,
                at,
                ..
            },
        ] => AcceptedChange {
            operation_id: request.operation_id,
            sku: request.sku.clone(),
            kind: request.kind,
            delta: request.delta,
            quantity: *quantity,
            version: *version,
            replayed: false,
            occurred_at: *at,
        },
        other => unreachable!("an accepted adjustment emits one StockAdjusted, got {other:?}"),
    }
}

/// Answers a repeat of a change accepted earlier in the same group, as
/// [`replay`] answers one recorded before it.
fn repeat(request: &ChangeRequest, first: &ChangeRequest, change: &AcceptedChange) -> Answer {
    match fingerprint(request).compare(&fingerprint(first)) {
        Repeat::Reused => Err(LedgerError::OperationIdReused(request.operation_id)),
        Repeat::Replay => Ok(AcceptedChange {
            replayed: true,
            ..change.clone()
        }),
    }
}

/// Answers a repeated operation id: the original figures for the same
/// request, `operation_id_reused` for any other.
fn replay(request: &ChangeRequest, previous: &RecordedChange) -> Answer {
    let reused = || LedgerError::OperationIdReused(request.operation_id);
    let original = ChangeFingerprint {
        sku: previous.sku.parse().map_err(|_| reused())?,
        kind: previous.kind.parse().map_err(|_| reused())?,
        delta: Delta::try_from(previous.delta).map_err(|_| reused())?,
        expected_version: previous.expected_version,
    };
    match fingerprint(request).compare(&original) {
        Repeat::Reused => Err(reused()),
        Repeat::Replay => Ok(AcceptedChange {
            operation_id: request.operation_id,
            sku: request.sku.clone(),
            kind: request.kind,
            delta: request.delta,
            quantity: previous.quantity_after,
            version: previous.version_after,
            replayed: true,
            occurred_at: previous.occurred_at,
        }),
    }
}

fn fingerprint(request: &ChangeRequest) -> ChangeFingerprint {
    ChangeFingerprint {
        sku: request.sku.clone(),
        kind: request.kind,
        delta: request.delta,
        expected_version: request.expected_version,
    }
}

/// The failure again, for an answer (`sqlx::Error` is not `Clone`): what
/// makes it "unavailable" (503) or "internal" (500) is kept.
fn copy_error(error: &sqlx::Error) -> sqlx::Error {
    match error {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::Io(io) => sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        sqlx::Error::Tls(tls) => sqlx::Error::Tls(tls.to_string().into()),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
