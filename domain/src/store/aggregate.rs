//! The store-side SKU aggregate: `handle` decides, `apply` only sets state.
//!
//! The state is four figures: what central confirmed, and what the store
//! has with its pending changes on top. Their differences are the pending
//! changes' count and sum; the changes themselves are handed in by commands
//! that need them, so the state (and its snapshot) never grows.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use super::StockError;
use super::commands::{ChangeNote, PendingChange, RejectionReason, StockCommand, SyncOutcome};
use super::events::StockEvent;
use crate::movement::ChangeKind;
use crate::values::{Delta, OperationId, Sku, Version};

/// One SKU at one store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: Option<Sku>,
    pub name: String,
    /// What central has accepted.
    pub confirmed_quantity: i64,
    pub confirmed_version: Version,
    /// What the store may sell now: confirmed plus pending.
    pub quantity: i64,
    /// The version central will have once the pending changes are applied.
    pub version: Version,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// When the SKU was last physically counted here.
    #[serde(default)]
    pub last_counted_at: Option<DateTime<Utc>>,
}

/// The figures after a change leaves the pending queue or central moves.
struct Settled {
    quantity: i64,
    version: Version,
}

impl StockItem {
    /// Whether the SKU exists at this store.
    pub fn is_registered(&self) -> bool {
        self.sku.is_some()
    }

    /// How many changes wait for central.
    pub fn pending_changes(&self) -> i64 {
        self.version - self.confirmed_version
    }

    /// The figures once `leaving` (if any) is no longer pending and central's
    /// `(version, quantity)` is taken when newer than what the store has.
    fn settled(&self, leaving: Option<Delta>, version: Version, quantity: i64) -> Settled {
        let (left_count, left_sum) = leaving.map_or((0, 0), |d| (1, d.get()));
        let pending_count = self.pending_changes() - left_count;
        let pending_sum = self.quantity - self.confirmed_quantity - left_sum;
        let (confirmed_version, confirmed_quantity) = if version >= self.confirmed_version {
            (version, quantity)
        } else {
            (self.confirmed_version, self.confirmed_quantity)
        };
        Settled {
            quantity: confirmed_quantity + pending_sum,
            version: confirmed_version + pending_count,
        }
    }

    fn adjust(
        &self,
        (operation_id, kind, delta): (OperationId, ChangeKind, Delta),
        expected_version: Option<Version>,
        note: ChangeNote,
        held: i64,
        at: DateTime<Utc>,
    ) -> Result<StockEvent, StockError> {
        if !kind.fits(delta) {
            return Err(StockError::SignDoesNotFitKind {
                kind,
                delta: delta.get(),
            });
        }
        if let Some(expected) = expected_version.filter(|e| *e != self.version) {
            return Err(StockError::VersionConflict {
                expected,
                current: self.version,
                quantity: self.quantity,
            });
        }
        let quantity = self.quantity + delta.get();
        if quantity < 0 {
            return Err(StockError::InsufficientStock {
                available: self.quantity,
                requested: delta.get(),
            });
        }
        if kind == ChangeKind::Sale && quantity < held {
            return Err(StockError::InsufficientAvailable {
                available: self.quantity - held,
                requested: delta.get(),
            });
        }
        Ok(StockEvent::StockAdjusted {
            operation_id,
            kind,
            delta,
            expected_version,
            reason: note.reason,
            reapplies: note.reapplies,
            client: note.client,
            transfer: note.transfer,
            reservation: note.reservation,
            at,
            quantity,
            version: self.version + 1,
        })
    }

    /// A count becomes the change that makes the store's quantity what the
    /// shelf holds, or, when it already is, a count of its own.
    fn count(
        &self,
        operation_id: OperationId,
        counted: i64,
        expected_version: Option<Version>,
        note: ChangeNote,
        at: DateTime<Utc>,
    ) -> Result<StockEvent, StockError> {
        if counted < 0 {
            return Err(StockError::NegativeCount(counted));
        }
        let difference = counted - self.quantity;
        if difference == 0 {
            if let Some(expected) = expected_version.filter(|e| *e != self.version) {
                return Err(StockError::VersionConflict {
                    expected,
                    current: self.version,
                    quantity: self.quantity,
                });
            }
            return Ok(StockEvent::StockCounted {
                operation_id,
                counted,
                expected_version,
                reason: note.reason,
                client: note.client,
                at,
                quantity: self.quantity,
                version: self.version,
            });
        }
        let delta = Delta::try_from(difference).map_err(|_| StockError::CountTooFar {
            counted,
            difference,
        })?;
        // A count is a fact: it may take held units (a short hold).
        let change = (operation_id, ChangeKind::Count, delta);
        self.adjust(change, expected_version, note, 0, at)
    }

    fn synced(
        &self,
        change: &PendingChange,
        version: Version,
        quantity: i64,
        at: DateTime<Utc>,
    ) -> StockEvent {
        let after = self.settled(Some(change.delta), version, quantity);
        StockEvent::ChangeSynced {
            operation_id: change.operation_id,
            central_version: version,
            central_quantity: quantity,
            at,
            quantity: after.quantity,
            version: after.version,
        }
    }

    /// Voids a refused change and every later compare-and-set change: those
    /// were accepted on top of it, so they must never apply on another history.
    async fn reject_with_dependents(
        &mut self,
        change: &PendingChange,
        later: &[PendingChange],
        (reason, version, quantity): (RejectionReason, Version, i64),
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) {
        let dependents = later.iter().filter(|c| c.expected_version.is_some());
        let rejections = std::iter::once((change, reason, None)).chain(dependents.map(|c| {
            (
                c,
                RejectionReason::VersionConflict,
                Some(change.operation_id),
            )
        }));
        for (rejected, reason, because_of) in rejections {
            let after = self.settled(Some(rejected.delta), version, quantity);
            let event = StockEvent::ChangeRejected {
                operation_id: rejected.operation_id,
                reason,
                because_of,
                central_version: version,
                central_quantity: quantity,
                at,
                quantity: after.quantity,
                version: after.version,
            };
            sink.write(event, self).await;
        }
    }

    async fn record_outcome(
        &mut self,
        outcome: SyncOutcome,
        pending: Option<PendingChange>,
        later: Vec<PendingChange>,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) {
        let Some(change) = pending else {
            return; // already settled: outcomes are idempotent
        };
        match outcome {
            SyncOutcome::Applied { version, quantity } => {
                let event = self.synced(&change, version, quantity, at);
                sink.write(event, self).await;
            }
            SyncOutcome::Rejected {
                reason,
                version,
                quantity,
            } => {
                let refusal = (reason, version, quantity);
                self.reject_with_dependents(&change, &later, refusal, at, sink)
                    .await;
            }
        }
    }

    fn central_change(
        &self,
        operation_id: OperationId,
        delta: Delta,
        (central_version, central_quantity): (Version, i64),
        own_pending: Option<PendingChange>,
        at: DateTime<Utc>,
    ) -> Option<StockEvent> {
        if let Some(change) = own_pending {
            // One of our own changes, seen in central's log before its outcome
            // was recorded: central applied it.
            return Some(self.synced(&change, central_version, central_quantity, at));
        }
        if central_version <= self.confirmed_version {
            return None; // already reflected in what the store confirmed
        }
        let after = self.settled(None, central_version, central_quantity);
        Some(StockEvent::CentralChangeApplied {
            operation_id,
            delta,
            central_version,
            central_quantity,
            at,
            quantity: after.quantity,
            version: after.version,
        })
    }

    fn take_confirmed(&mut self, version: Version, quantity: i64) {
        if version >= self.confirmed_version {
            self.confirmed_version = version;
            self.confirmed_quantity = quantity;
        }
    }
}

impl Aggregate for StockItem {
    const TYPE: &'static str = "StockItem";
    type Command = StockCommand;
    type Event = StockEvent;
    type Error = StockError;
    type Services = ();

    async fn handle(
        &mut self,
        command: StockCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), StockError> {
        let event = match command {
            StockCommand::Register { quantity, .. } if quantity < 0 => {
                return Err(StockError::NegativeInitialQuantity(quantity));
            }
            StockCommand::Register { .. } if self.is_registered() => None,
            StockCommand::Register {
                sku,
                name,
                quantity,
                at,
            } => Some(StockEvent::ItemRegistered {
                sku,
                name,
                quantity,
                at,
            }),
            _ if !self.is_registered() => return Err(StockError::SkuNotFound),
            StockCommand::Adjust {
                operation_id,
                kind,
                delta,
                expected_version,
                note,
                held,
                at,
            } => {
                let change = (operation_id, kind, delta);
                Some(self.adjust(change, expected_version, note, held, at)?)
            }
            StockCommand::Count {
                operation_id,
                counted,
                expected_version,
                note,
                at,
            } => Some(self.count(operation_id, counted, expected_version, note, at)?),
            StockCommand::RecordOutcome {
                outcome,
                pending,
                later,
                at,
                ..
            } => {
                self.record_outcome(outcome, pending, later, at, sink).await;
                None
            }
            StockCommand::ApplyCentralChange {
                operation_id,
                delta,
                central_version,
                central_quantity,
                own_pending,
                at,
            } => self.central_change(
                operation_id,
                delta,
                (central_version, central_quantity),
                own_pending,
                at,
            ),
        };
        if let Some(event) = event {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: StockEvent) {
        match event {
            StockEvent::ItemRegistered {
                sku,
                name,
                quantity,
                ..
            } => {
                self.sku = Some(sku);
                self.name = name;
                self.confirmed_quantity = quantity;
                self.confirmed_version = 0;
                self.quantity = quantity;
                self.version = 0;
            }
            StockEvent::StockAdjusted {
                kind,
                quantity,
                version,
                at,
                ..
            } => {
                self.quantity = quantity;
                self.version = version;
                if kind == ChangeKind::Count {
                    self.last_counted_at = Some(at);
                }
            }
            StockEvent::StockCounted { at, .. } => self.last_counted_at = Some(at),
            StockEvent::ChangeSynced {
                central_version,
                central_quantity,
                at,
                quantity,
                version,
                ..
            }
            | StockEvent::ChangeRejected {
                central_version,
                central_quantity,
                at,
                quantity,
                version,
                ..
            }
            | StockEvent::CentralChangeApplied {
                central_version,
                central_quantity,
                at,
                quantity,
                version,
                ..
            } => {
                self.take_confirmed(central_version, central_quantity);
                self.quantity = quantity;
                self.version = version;
                self.last_synced_at = Some(at);
            }
        }
    }
}
