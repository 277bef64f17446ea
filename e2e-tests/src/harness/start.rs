//! Starting a stack: [`Stack::start_with`] reads as the start-up sequence,
//! one named step a function below it, in the order they run.

use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::clients::{CentralApi, MetricsApi, StoreApi};
use super::control::wait_ready;
use super::plan::Plan;
use super::process::Spec;
use super::wait::wait_until;
use super::{READY_TIMEOUT, Resources, Stack, StackOptions, infra};

impl Stack {
    /// Two stores, one worker, defaults everywhere.
    pub async fn start() -> Self {
        Self::start_with(StackOptions::default()).await
    }

    /// The stack `options` describe, ready and warm: every worker is ready
    /// and every store has been synced once.
    pub async fn start_with(options: StackOptions) -> Self {
        let slot = slots().acquire().await.expect("semaphore open");
        let plan = Plan::new(options);
        let resources = prepare_databases_and_vhost(&plan).await;
        prepare_central(&plan);
        let mut stack = Self::assemble(&plan, resources, slot);
        stack.start_central().await;
        stack.start_stores(&plan);
        stack.wait_until_stores_ready().await;
        stack.start_workers(&plan).await;
        stack.warm_up().await;
        stack
    }

    /// The stack before any process serves: central configured on a free
    /// address and reached as the admin; no stores or workers yet.
    fn assemble(plan: &Plan, resources: Resources, slot: SemaphorePermit<'static>) -> Self {
        let address = infra::free_address();
        Self {
            central: CentralApi::new(
                format!("http://{address}"),
                plan.http.clone(),
                plan.admin.id.clone(),
                plan.admin.secret.clone(),
            ),
            stores: Vec::new(),
            workers: Vec::new(),
            http: plan.http.clone(),
            log_dir: plan.log_dir.clone(),
            central_spec: plan.central_service(&address),
            central_process: None,
            store_specs: Vec::new(),
            store_processes: Vec::new(),
            worker_specs: Vec::new(),
            worker_processes: Vec::new(),
            resources,
            topology: plan.topology.clone(),
            _slot: slot,
        }
    }

    /// Migrates and populates each store's database, then starts its
    /// service on a free address (readiness is waited for next).
    fn start_stores(&mut self, plan: &Plan) {
        for (index, store_id) in plan.store_ids.iter().enumerate() {
            let address = infra::free_address();
            let spec = plan.store(index, &self.central.url, &address);
            spec.clone().args(["migrate"]).run();
            let mut populate = spec.clone().args(["populate"]);
            if let Some(catalogue) = &plan.options.catalogue {
                populate = populate.args([
                    "--catalogue".to_owned(),
                    catalogue.to_string_lossy().into_owned(),
                ]);
            }
            populate.run();
            let key_file = plan.store_key_file(index).to_string_lossy().into_owned();
            let keys = ["keys", "generate", "--out", &key_file];
            spec.clone().args(keys).run();
            let manager = &plan.manager;
            let client = [
                "clients",
                "create",
                "--id",
                &manager.id,
                "--role",
                "manager",
            ];
            let secret = ["--secret", &manager.secret];
            spec.clone().args(client).args(secret).run();
            let spec = spec.args(["serve"]);
            self.store_processes.push(Some(spec.spawn(&self.log_dir)));
            self.store_specs.push(spec);
            self.stores.push(StoreApi::new(
                store_id.clone(),
                format!("http://{address}"),
                self.http.clone(),
                (plan.manager.id.clone(), plan.manager.secret.clone()),
            ));
        }
    }

    /// Waits until every store is ready, its broker connection included,
    /// and signs in to it as the manager.
    async fn wait_until_stores_ready(&mut self) {
        for (store, process) in self
            .stores
            .iter_mut()
            .zip(self.store_processes.iter_mut().flatten())
        {
            let url = format!("{}/health/ready", store.url);
            wait_ready(&self.http, process, &url, |body| {
                body["checks"]["broker"]["ok"] == true
            })
            .await;
            store.sign_in().await;
        }
    }

    /// Starts the workers one after another, each ready before the next
    /// starts, so the first is the active consumer of every store queue.
    async fn start_workers(&mut self, plan: &Plan) {
        let stores: Vec<String> = self
            .stores
            .iter()
            .map(|store| format!("{}={}", store.id, store.url))
            .collect();
        for index in 0..plan.options.workers {
            let address = infra::free_address();
            let spec = plan.worker(index, &self.central.url, &stores.join(","), &address);
            self.worker_specs.push(spec);
            self.worker_processes.push(None);
            self.workers.push(MetricsApi::new(
                format!("http://{address}"),
                self.http.clone(),
            ));
            self.start_worker(index).await;
        }
    }

    /// Waits until every store was synced once (the schedulers' first
    /// round), so tokens and key sets are fetched before a test measures.
    async fn warm_up(&self) {
        let stores = self.stores.len() as f64;
        wait_until("the first sync of every store", READY_TIMEOUT, || async {
            let mut runs = 0.0;
            for worker in &self.workers {
                runs += worker.metric("sync_runs_total", "outcome=\"ok\"").await;
            }
            runs >= stores
        })
        .await;
    }
}

/// Stacks running at once in this test binary (`E2E_PARALLEL`, default 1:
/// the timings asserted need the machine's cores).
fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let parallel = std::env::var("E2E_PARALLEL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        Semaphore::new(parallel)
    })
}

/// Checks the broker, then creates the plan's databases and vhost. From
/// the first database on, the returned [`Resources`] name whatever was
/// created (and the broker names the processes will declare), so it is
/// removed on drop even if starting fails half-way.
async fn prepare_databases_and_vhost(plan: &Plan) -> Resources {
    infra::check_broker(&plan.base_amqp_url).await;
    let mut resources = Resources {
        id: plan.id.clone(),
        databases: Vec::new(),
        amqp_url: plan.base_amqp_url.clone(),
        vhost: None,
        exchanges: Vec::new(),
        queues: Vec::new(),
        events_exchange: plan.events_exchange(),
    };
    infra::create_databases(&plan.databases).await;
    resources.databases = plan.databases.clone();
    if let Some(vhost) = &plan.vhost {
        infra::create_vhost(vhost);
        resources.amqp_url = plan.amqp_url.clone();
        resources.vhost = Some(vhost.clone());
    }
    resources.exchanges = plan.exchanges();
    resources.queues = plan.queues();
    resources
}

/// Central's one-shot commands: a signing key, its schema, the catalogue
/// of the plan's stores, and two clients (head office and the workers).
fn prepare_central(plan: &Plan) {
    let key_file = plan.key_file();
    Spec::new("central-keys", infra::binary("central-app"))
        .args(["keys", "generate", "--out", &key_file.to_string_lossy()])
        .run();
    plan.central("central-migrate").args(["migrate"]).run();
    let mut populate =
        plan.central("central-populate")
            .args(["populate", "--stores", &plan.store_ids.join(",")]);
    if let Some(catalogue) = &plan.options.catalogue {
        populate = populate.args([
            "--catalogue".to_owned(),
            catalogue.to_string_lossy().into_owned(),
        ]);
    }
    populate.run();
    for (client, role) in [(&plan.admin, "admin"), (&plan.worker, "sync-worker")] {
        plan.central("central-clients")
            .args([
                "clients",
                "create",
                "--id",
                &client.id,
                "--role",
                role,
                "--secret",
                &client.secret,
            ])
            .run();
    }
}
