//! `sync-worker serve`: the health and metrics server, and the broker
//! session (topology, one consumer per store, the scheduler), re-opened
//! from scratch whenever it is lost beyond lapin's own recovery, until
//! SIGTERM.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::bus::{self, BrokerHealth};
use crate::config::WorkerConfig;
use crate::consumer::{ConsumerError, StoreConsumer};
use crate::metrics::WorkerMetrics;
use crate::scheduler::Scheduler;
use crate::server::{self, HealthState};
use crate::sync::SyncContext;
use crate::topology::BrokerTopology;

/// First pause before reaching for the broker again; it doubles while the
/// broker stays away.
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between attempts to reach the broker.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);
/// How long consumers get to finish after shutdown before they are dropped.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs the worker until SIGTERM or Ctrl-C.
pub async fn serve(config: WorkerConfig) -> anyhow::Result<()> {
    let metrics = WorkerMetrics::new().context("registering metrics")?;
    let ctx = SyncContext::from_config(&config, metrics.clone())?;
    let topology = BrokerTopology::new(&config.amqp_exchange, &ctx.retry);
    let broker = BrokerHealth::default();
    let stop = CancellationToken::new();

    let listener = TcpListener::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding METRICS_ADDR {}", config.metrics_addr))?;
    tracing::info!(address = %listener.local_addr()?, "metrics and health listening");
    let health = HealthState {
        broker: broker.clone(),
        central: ctx.central.clone(),
    };
    let server = tokio::spawn(server::run(
        listener,
        server::router(metrics.registry.clone(), health),
        stop.clone(),
    ));
    tokio::spawn({
        let stop = stop.clone();
        async move {
            service_infra::shutdown_signal().await;
            stop.cancel();
        }
    });

    let session = Session {
        config: &config,
        ctx: &ctx,
        topology: &topology,
        broker: &broker,
        stop: &stop,
    };
    session.supervise().await;
    stop.cancel();
    server
        .await
        .context("metrics server task")?
        .context("metrics server")?;
    tracing::info!("sync-worker stopped");
    Ok(())
}

/// One broker connection with everything that runs on it.
struct Session<'a> {
    config: &'a WorkerConfig,
    ctx: &'a SyncContext,
    topology: &'a BrokerTopology,
    broker: &'a BrokerHealth,
    stop: &'a CancellationToken,
}

impl Session<'_> {
    /// Keeps a session running until `stop`, reconnecting with backoff.
    async fn supervise(&self) {
        let mut delay = FIRST_RECONNECT_DELAY;
        while !self.stop.is_cancelled() {
            let mut connected = false;
            let ended = self.run(&mut connected).await;
            if connected {
                // The session ran: this is a new outage, not the same one.
                delay = FIRST_RECONNECT_DELAY;
            }
            match ended {
                Ok(()) => break,
                Err(error) => tracing::warn!(
                    error = %format_args!("{error:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "broker session ended; reconnecting"
                ),
            }
            self.broker.set(None);
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }

    /// Connects, declares the topology and runs the consumers and the
    /// scheduler until `stop` (`Ok`) or until one of them ends (`Err`).
    /// Sets `connected` once the topology is declared.
    async fn run(&self, connected: &mut bool) -> anyhow::Result<()> {
        let connection = bus::connect(&self.config.amqp_url)
            .await
            .context("connecting to the broker")?;
        // The set-up channel stays open: lapin redeclares its topology when
        // it recovers the connection.
        let setup = connection.create_channel().await?;
        self.topology
            .declare(&setup, self.ctx.stores().map(|s| s.id()))
            .await
            .context("declaring the topology")?;
        self.broker.set(Some(connection.status().clone()));
        *connected = true;
        tracing::info!("connected to the broker");

        let tasks_stop = self.stop.child_token();
        let mut tasks: JoinSet<Result<(), ConsumerError>> = JoinSet::new();
        for store in self.ctx.stores() {
            let channel = connection.create_channel().await?;
            let consumer = StoreConsumer::new(
                self.ctx.clone(),
                store.clone(),
                self.topology.clone(),
                channel,
                tasks_stop.clone(),
            );
            tasks.spawn(consumer.run());
        }
        let scheduler = Scheduler {
            channel: connection.create_channel().await?,
            topology: self.topology.clone(),
            stores: self.ctx.stores().map(|s| s.id().clone()).collect(),
            interval: self.config.sync_interval.into(),
            metrics: self.ctx.metrics.clone(),
            stop: tasks_stop.clone(),
        };
        tasks.spawn(scheduler.run());

        let result = tokio::select! {
            () = self.stop.cancelled() => Ok(()),
            Some(ended) = tasks.join_next() => Err(match ended {
                Ok(Ok(())) => anyhow::anyhow!("a broker task stopped"),
                Ok(Err(error)) => anyhow::Error::new(error).context("a broker task failed"),
                Err(panic) => anyhow::Error::new(panic).context("a broker task panicked"),
            }),
        };
        tasks_stop.cancel();
        if tokio::time::timeout(STOP_TIMEOUT, async {
            while tasks.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!("broker tasks did not stop in time; dropping them");
            tasks.abort_all();
        }
        self.broker.set(None);
        if let Err(error) = connection.close(200, "sync-worker stopping".into()).await {
            tracing::debug!(%error, "closing the broker connection");
        }
        result
    }
}
