//! The worker's side of RabbitMQ: connecting with lapin's automatic
//! recovery, publishing its own nudges with confirms, and the broker state
//! that readiness reports.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ConnectionStatus};

use crate::config::Secret;

/// How long a publish waits for the broker's confirmation.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection that reconnects by itself after a network failure or
/// a broker restart, redeclaring the topology and consumers of its channels.
pub async fn connect(amqp_url: &Secret) -> lapin::Result<Connection> {
    let properties = ConnectionProperties::default()
        .with_connection_name("sync-worker".into())
        .enable_auto_recover();
    Connection::connect(amqp_url.expose(), properties).await
}

/// Why a nudge was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker refused the message")]
    Refused,
    #[error("no queue is bound for the message")]
    Unroutable,
    #[error("the broker did not confirm in time")]
    Timeout,
}

/// Publishes a nudge for `store_id` and waits until the broker has it.
/// Mandatory: a nudge no queue would take is an error, not a silent loss.
pub async fn publish(
    channel: &Channel,
    exchange: &str,
    store_id: &str,
    properties: BasicProperties,
) -> Result<(), PublishError> {
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let confirm = channel
        .basic_publish(
            exchange.into(),
            store_id.into(),
            options,
            store_id.as_bytes(),
            properties,
        )
        .await?;
    let confirmation = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
        .await
        .map_err(|_| PublishError::Timeout)??;
    if confirmation.is_nack() {
        return Err(PublishError::Refused);
    }
    if confirmation.take_message().is_some() {
        return Err(PublishError::Unroutable);
    }
    Ok(())
}

/// The current broker connection's status, shared with the health server.
#[derive(Clone, Default)]
pub struct BrokerHealth {
    status: Arc<RwLock<Option<ConnectionStatus>>>,
}

impl BrokerHealth {
    /// Reports on `status` from now on (`None`: no connection).
    pub fn set(&self, status: Option<ConnectionStatus>) {
        *self.status.write().unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// `Ok` while the connection is up.
    pub fn check(&self) -> Result<(), String> {
        let guard = self.status.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(status) if status.connected() => Ok(()),
            Some(status) if status.reconnecting() => Err("reconnecting to the broker".into()),
            _ => Err("not connected to the broker".into()),
        }
    }
}
