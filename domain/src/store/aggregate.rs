//! The store-side SKU aggregate: `handle` decides, `apply` only sets state.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};

use super::StockError;
use super::commands::{RejectionReason, StockCommand, SyncOutcome};
use super::events::StockEvent;
use crate::values::{Delta, OperationId, Version};

/// A local change central has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub operation_id: OperationId,
    pub delta: Delta,
    /// Set for compare-and-set changes: central must be at this version.
    pub expected_version: Option<Version>,
}

/// One SKU at one store: what central confirmed, plus the pending changes in
/// the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StockItem {
    pub sku: Option<crate::values::Sku>,
    pub name: String,
    pub confirmed_quantity: i64,
    pub confirmed_version: Version,
    pub pending: Vec<PendingChange>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

impl StockItem {
    /// Whether the SKU exists at this store.
    pub fn is_registered(&self) -> bool {
        self.sku.is_some()
    }

    /// What the store may sell now: confirmed plus pending.
    pub fn quantity(&self) -> i64 {
        self.confirmed_quantity + self.pending.iter().map(|c| c.delta.get()).sum::<i64>()
    }

    /// The version central will have once the pending changes are applied.
    pub fn version(&self) -> Version {
        self.confirmed_version + self.pending.len() as Version
    }

    fn is_pending(&self, operation_id: OperationId) -> bool {
        self.pending.iter().any(|c| c.operation_id == operation_id)
    }

    /// Takes central's figures if they are newer than what the store has.
    fn confirm(&mut self, version: Version, quantity: i64) {
        if version >= self.confirmed_version {
            self.confirmed_version = version;
            self.confirmed_quantity = quantity;
        }
    }

    fn settle(&mut self, operation_id: OperationId, version: Version, quantity: i64) {
        self.pending.retain(|c| c.operation_id != operation_id);
        self.confirm(version, quantity);
    }

    /// The quantity the store would have after `event`.
    fn quantity_after(&self, event: &StockEvent) -> i64 {
        let mut next = self.clone();
        next.apply(event.clone());
        next.quantity()
    }

    /// Sets the event's resulting quantity, then records it.
    async fn emit(&mut self, mut event: StockEvent, sink: &EventSink<Self>) {
        let resulting = self.quantity_after(&event);
        if let StockEvent::ChangeSynced { quantity, .. }
        | StockEvent::ChangeRejected { quantity, .. }
        | StockEvent::CentralChangeApplied { quantity, .. } = &mut event
        {
            *quantity = resulting;
        }
        sink.write(event, self).await;
    }

    async fn adjust(
        &mut self,
        operation_id: OperationId,
        delta: Delta,
        expected_version: Option<Version>,
        reason: Option<String>,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), StockError> {
        let (current, available) = (self.version(), self.quantity());
        if let Some(expected) = expected_version.filter(|e| *e != current) {
            return Err(StockError::VersionConflict {
                expected,
                current,
                quantity: available,
            });
        }
        let quantity = available + delta.get();
        if quantity < 0 {
            return Err(StockError::InsufficientStock {
                available,
                requested: delta.get(),
            });
        }
        let event = StockEvent::StockAdjusted {
            operation_id,
            delta,
            expected_version,
            reason,
            at,
            quantity,
            version: current + 1,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn record_outcome(
        &mut self,
        operation_id: OperationId,
        outcome: SyncOutcome,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) {
        if !self.is_pending(operation_id) {
            return; // already recorded: outcomes are idempotent
        }
        match outcome {
            SyncOutcome::Applied { version, quantity } => {
                let event = StockEvent::ChangeSynced {
                    operation_id,
                    central_version: version,
                    central_quantity: quantity,
                    at,
                    quantity: 0,
                };
                self.emit(event, sink).await;
            }
            SyncOutcome::Rejected {
                reason,
                version,
                quantity,
            } => {
                self.reject_with_dependents(operation_id, reason, version, quantity, at, sink)
                    .await;
            }
        }
    }

    /// Voids a refused change and every later compare-and-set change: those
    /// were accepted on top of it, so they must never apply on another history.
    async fn reject_with_dependents(
        &mut self,
        operation_id: OperationId,
        reason: RejectionReason,
        central_version: Version,
        central_quantity: i64,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) {
        let position = self
            .pending
            .iter()
            .position(|c| c.operation_id == operation_id);
        let dependents: Vec<OperationId> = position
            .map(|p| &self.pending[p + 1..])
            .unwrap_or_default()
            .iter()
            .filter(|c| c.expected_version.is_some())
            .map(|c| c.operation_id)
            .collect();
        let rejections = std::iter::once((operation_id, reason, None)).chain(
            dependents.into_iter().map(|dependent| {
                (
                    dependent,
                    RejectionReason::VersionConflict,
                    Some(operation_id),
                )
            }),
        );
        for (rejected, reason, because_of) in rejections {
            let event = StockEvent::ChangeRejected {
                operation_id: rejected,
                reason,
                because_of,
                central_version,
                central_quantity,
                at,
                quantity: 0,
            };
            self.emit(event, sink).await;
        }
    }

    async fn apply_central_change(
        &mut self,
        operation_id: OperationId,
        delta: Delta,
        central_version: Version,
        central_quantity: i64,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) {
        if self.is_pending(operation_id) {
            // One of our own changes, seen in central's log before its outcome
            // was recorded: central applied it.
            let outcome = SyncOutcome::Applied {
                version: central_version,
                quantity: central_quantity,
            };
            return self.record_outcome(operation_id, outcome, at, sink).await;
        }
        if central_version <= self.confirmed_version {
            return; // already reflected in what the store confirmed
        }
        let event = StockEvent::CentralChangeApplied {
            operation_id,
            delta,
            central_version,
            central_quantity,
            at,
            quantity: 0,
        };
        self.emit(event, sink).await;
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
        if let StockCommand::Register {
            sku,
            name,
            quantity,
            at,
        } = command
        {
            if quantity < 0 {
                return Err(StockError::NegativeInitialQuantity(quantity));
            }
            if !self.is_registered() {
                let event = StockEvent::ItemRegistered {
                    sku,
                    name,
                    quantity,
                    at,
                };
                sink.write(event, self).await;
            }
            return Ok(());
        }
        if !self.is_registered() {
            return Err(StockError::SkuNotFound);
        }
        match command {
            StockCommand::Register { .. } => Ok(()),
            StockCommand::Adjust {
                operation_id,
                delta,
                expected_version,
                reason,
                at,
            } => {
                self.adjust(operation_id, delta, expected_version, reason, at, sink)
                    .await
            }
            StockCommand::RecordOutcome {
                operation_id,
                outcome,
                at,
            } => {
                self.record_outcome(operation_id, outcome, at, sink).await;
                Ok(())
            }
            StockCommand::ApplyCentralChange {
                operation_id,
                delta,
                central_version,
                central_quantity,
                at,
            } => {
                self.apply_central_change(
                    operation_id,
                    delta,
                    central_version,
                    central_quantity,
                    at,
                    sink,
                )
                .await;
                Ok(())
            }
        }
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
            }
            StockEvent::StockAdjusted {
                operation_id,
                delta,
                expected_version,
                ..
            } => {
                if !self.is_pending(operation_id) {
                    self.pending.push(PendingChange {
                        operation_id,
                        delta,
                        expected_version,
                    });
                }
            }
            StockEvent::ChangeSynced {
                operation_id,
                central_version,
                central_quantity,
                at,
                ..
            }
            | StockEvent::ChangeRejected {
                operation_id,
                central_version,
                central_quantity,
                at,
                ..
            }
            | StockEvent::CentralChangeApplied {
                operation_id,
                central_version,
                central_quantity,
                at,
                ..
            } => {
                self.settle(operation_id, central_version, central_quantity);
                self.last_synced_at = Some(at);
            }
        }
    }
}
