//! Controlling a running stack: restarting and killing its processes,
//! running `sync-once`, and reaching into its broker names.

use std::process::ExitStatus;
use std::time::Duration;

use reqwest::Client;
use serde_json::Value;

use super::process::Process;
use super::{READY_TIMEOUT, Stack, infra};

/// One of the stack's long-running processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Central,
    /// The store at this index (0-based).
    Store(usize),
    /// The worker at this index (0-based).
    Worker(usize),
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Central => write!(f, "central"),
            Self::Store(index) => write!(f, "store{}", index + 1),
            Self::Worker(index) => write!(f, "worker{}", index + 1),
        }
    }
}

impl Stack {
    /// Every long-running process of the stack.
    pub fn services(&self) -> Vec<Service> {
        let mut services = vec![Service::Central];
        services.extend((0..self.stores.len()).map(Service::Store));
        services.extend((0..self.workers.len()).map(Service::Worker));
        services
    }

    fn process(&self, service: Service) -> Option<&Process> {
        match service {
            Service::Central => self.central_process.as_ref(),
            Service::Store(index) => self.store_processes[index].as_ref(),
            Service::Worker(index) => self.worker_processes[index].as_ref(),
        }
    }

    /// The process id of `service` while it runs.
    pub fn pid(&self, service: Service) -> Option<u32> {
        self.process(service).and_then(Process::pid)
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to `service`.
    pub fn signal(&self, service: Service, signal: &str) {
        if let Some(process) = self.process(service) {
            process.signal(signal);
        }
    }

    /// Kills `service` with SIGKILL.
    pub fn kill(&mut self, service: Service) {
        let process = match service {
            Service::Central => self.central_process.take(),
            Service::Store(index) => self.store_processes[index].take(),
            Service::Worker(index) => self.worker_processes[index].take(),
        };
        if let Some(mut process) = process {
            process.kill();
        }
    }

    /// (Re)starts `service` and waits until it is ready.
    pub async fn restart(&mut self, service: Service) {
        match service {
            Service::Central => self.start_central().await,
            Service::Store(index) => self.start_store(index).await,
            Service::Worker(index) => self.start_worker(index).await,
        }
    }

    /// Sets (or, with `None`, removes) an environment variable of central
    /// for its next start, e.g. `TOKEN_TTL`.
    pub fn set_central_env(&mut self, key: &str, value: Option<&str>) {
        self.central_spec.env.retain(|(k, _)| k != key);
        if let Some(value) = value {
            self.central_spec
                .env
                .push((key.to_owned(), value.to_owned()));
        }
    }

    /// Sets an environment variable of every worker for its next start,
    /// e.g. `CENTRAL_URL` to send the workers through a proxy.
    pub fn set_worker_env(&mut self, key: &str, value: &str) {
        for spec in &mut self.worker_specs {
            spec.env.retain(|(k, _)| k != key);
            spec.env.push((key.to_owned(), value.to_owned()));
        }
    }

    /// (Re)starts store `index` and waits until it is ready.
    pub async fn start_store(&mut self, index: usize) {
        let mut process = self.store_specs[index].spawn(&self.log_dir);
        let url = format!("{}/health/ready", self.stores[index].url);
        wait_ready(&self.http, &mut process, &url, |_| true).await;
        self.store_processes[index] = Some(process);
    }

    /// (Re)starts central and waits until it is ready.
    pub async fn start_central(&mut self) {
        let mut process = self.central_spec.spawn(&self.log_dir);
        let url = format!("{}/health/ready", self.central.url);
        wait_ready(&self.http, &mut process, &url, |_| true).await;
        self.central_process = Some(process);
    }

    /// Stops central (SIGTERM).
    pub fn stop_central(&mut self) {
        if let Some(mut process) = self.central_process.take() {
            process.terminate(Duration::from_secs(5));
        }
    }

    /// Sends worker `index` SIGTERM; the time it took to exit and its
    /// status, or `None` if it had not exited after `grace` (then killed).
    pub fn terminate_worker(
        &mut self,
        index: usize,
        grace: Duration,
    ) -> Option<(Duration, ExitStatus)> {
        self.worker_processes[index].take()?.terminate(grace)
    }

    /// Runs `sync-worker sync-once` for the store at `index` with the
    /// workers' configuration; its exit status and standard output.
    pub fn sync_once(&self, index: usize) -> (ExitStatus, String) {
        let mut spec = self.worker_specs[0].clone();
        spec.name = "sync-once".into();
        spec.args = vec![
            "sync-once".into(),
            "--store".into(),
            self.stores[index].id.clone(),
        ];
        spec.output()
    }

    /// Publishes `body` to the nudge exchange with `routing_key`, as any
    /// publisher could.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        let (connection, channel) = self.broker_channel().await;
        channel
            .basic_publish(
                self.topology.names().exchange().into(),
                routing_key.into(),
                lapin::options::BasicPublishOptions::default(),
                body,
                lapin::BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("publish confirm");
        let _ = connection.close(200, "e2e".into()).await;
    }

    /// Messages waiting in the dead-letter queue.
    pub async fn dead_letters(&self) -> u32 {
        self.queued(&self.topology.names().dead_letter_queue())
            .await
    }

    /// Nudges waiting in the queue of store `index`.
    pub async fn queued_nudges(&self, index: usize) -> u32 {
        let store_id = &self.store(index).id;
        self.queued(&self.topology.names().store_queue(store_id))
            .await
    }

    /// A connection to the stack's broker (its vhost, if it has one) and a
    /// channel on it.
    async fn broker_channel(&self) -> (lapin::Connection, lapin::Channel) {
        let connection = lapin::Connection::connect(
            &self.resources.amqp_url,
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("broker");
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }

    /// Messages waiting in `queue`, which must exist.
    async fn queued(&self, queue: &str) -> u32 {
        let (connection, channel) = self.broker_channel().await;
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), options, lapin::types::FieldTable::default())
            .await
            .unwrap_or_else(|e| panic!("queue {queue} does not exist: {e}"));
        let _ = connection.close(200, "e2e".into()).await;
        declared.message_count()
    }

    /// (Re)starts worker `index` and waits until it is ready.
    pub async fn start_worker(&mut self, index: usize) {
        let mut process = self.worker_specs[index].spawn(&self.log_dir);
        let url = format!("{}/health/ready", self.workers[index].url);
        wait_ready(&self.http, &mut process, &url, |_| true).await;
        self.worker_processes[index] = Some(process);
    }

    /// Kills worker `index` with SIGKILL.
    pub fn kill_worker(&mut self, index: usize) {
        if let Some(mut process) = self.worker_processes[index].take() {
            process.kill();
        }
    }

    /// Makes the broker drop every connection of this stack (needs
    /// [`StackOptions::own_vhost`]).
    pub fn close_broker_connections(&self) {
        let vhost = self.own_vhost();
        infra::rabbitmqctl(&[
            "-q",
            "close_all_connections",
            "--vhost",
            vhost,
            "e2e: broker drops every connection",
        ]);
    }

    /// A broker outage longer than lapin's recovery, which also loses every
    /// queue and message: the stack's vhost is deleted (closing every
    /// connection and refusing new ones) and created again, empty, after
    /// `outage` (needs [`StackOptions::own_vhost`]).
    pub async fn lose_the_broker_for(&self, outage: Duration) {
        let vhost = self.own_vhost();
        infra::delete_vhost(vhost);
        tokio::time::sleep(outage).await;
        infra::create_vhost(vhost);
    }

    fn own_vhost(&self) -> &str {
        self.resources
            .vhost
            .as_deref()
            .expect("this control needs StackOptions::own_vhost")
    }
}

/// Polls `url` until it answers 200 and `accept`s the body; fails early
/// with the log when the process exits.
pub(super) async fn wait_ready(
    http: &Client,
    process: &mut Process,
    url: &str,
    accept: impl Fn(&Value) -> bool,
) {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = process.exited() {
            panic!(
                "{} exited ({status}) before it was ready:\n{}",
                process.name,
                process.log_tail(40)
            );
        }
        if let Ok(response) = http.get(url).timeout(Duration::from_secs(3)).send().await
            && response.status().is_success()
            && let Ok(body) = response.json::<Value>().await
            && accept(&body)
        {
            return;
        }
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "{} not ready at {url} after {READY_TIMEOUT:?}:\n{}",
            process.name,
            process.log_tail(40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
