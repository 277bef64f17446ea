//! Faults: drawn from the seed into a schedule (the same seed gives the
//! same schedule), then injected one after another into the running stack.

use std::fmt;
use std::time::{Duration, Instant};

use e2e_tests::harness::{Service, Stack, infra};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{Connection, PgConnection};

use crate::resources::{self, PeakRss};

/// How long the workers stay away in a [`Fault::WorkersAway`], at most.
const WORKERS_AWAY: Duration = Duration::from_secs(60);
/// How long central keeps its 3-second token lifetime.
const SHORT_TOKENS_FOR: Duration = Duration::from_secs(20);

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, then a restart.
    Kill(Service),
    /// SIGSTOP, then SIGCONT after this many seconds.
    Pause(Service, u64),
    /// The broker closes every connection of the stack.
    CloseBrokerConnections,
    /// The stack's vhost is deleted (every queue and message with it) and
    /// created again after this many seconds.
    LoseBroker(u64),
    /// PostgreSQL terminates every backend of the database at this index
    /// (0 is central's, then one a store).
    TerminateBackends(usize),
    /// Central restarts with a 3-second `TOKEN_TTL`, then again with the
    /// default.
    ShortTokens,
    /// The workers stop for this many seconds (a minute, or a sixth of a
    /// short run) while the stores keep selling.
    WorkersAway(u64),
}

impl Fault {
    /// The kind, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kill(Service::Central) => "kill_central",
            Self::Kill(Service::Store(_)) => "kill_store",
            Self::Kill(Service::Worker(_)) => "kill_worker",
            Self::Pause(..) => "pause",
            Self::CloseBrokerConnections => "close_broker_connections",
            Self::LoseBroker(_) => "lose_broker",
            Self::TerminateBackends(_) => "terminate_backends",
            Self::ShortTokens => "short_tokens",
            Self::WorkersAway(_) => "workers_away",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kill(service) => write!(f, "kill -9 {service}, restart"),
            Self::Pause(service, seconds) => write!(f, "pause {service} for {seconds}s"),
            Self::CloseBrokerConnections => write!(f, "broker closes every connection"),
            Self::LoseBroker(seconds) => write!(f, "vhost deleted for {seconds}s"),
            Self::TerminateBackends(0) => write!(f, "terminate central's database backends"),
            Self::TerminateBackends(n) => write!(f, "terminate store{n}'s database backends"),
            Self::ShortTokens => write!(f, "central restarted with TOKEN_TTL=3s"),
            Self::WorkersAway(seconds) => write!(f, "workers stopped for {seconds}s"),
        }
    }
}

/// `count` faults at offsets within the first 85 % of `duration`, in
/// order, from `seed`. Every kind comes round before any repeats, so a
/// short run still meets each.
pub fn schedule(seed: u64, count: usize, duration: Duration) -> Vec<(Duration, Fault)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let services = [
        Service::Central,
        Service::Store(0),
        Service::Store(1),
        Service::Worker(0),
        Service::Worker(1),
    ];
    let mut kinds: Vec<usize> = Vec::new();
    let mut faults = Vec::with_capacity(count);
    for _ in 0..count {
        if kinds.is_empty() {
            kinds = (0..9).collect();
        }
        let kind = kinds.swap_remove(rng.random_range(0..kinds.len()));
        let service = services[rng.random_range(0..services.len())];
        faults.push(match kind {
            0 => Fault::Kill(Service::Central),
            1 => Fault::Kill(Service::Store(rng.random_range(0..2))),
            2 => Fault::Kill(Service::Worker(rng.random_range(0..2))),
            3 => Fault::Pause(service, rng.random_range(2..=20)),
            4 => Fault::CloseBrokerConnections,
            5 => Fault::LoseBroker(rng.random_range(2..=10)),
            6 => Fault::TerminateBackends(rng.random_range(0..3)),
            7 => Fault::ShortTokens,
            _ => Fault::WorkersAway(WORKERS_AWAY.min(duration / 6).as_secs().max(5)),
        });
    }
    let window = duration.mul_f64(0.85);
    let mut offsets: Vec<Duration> = (0..count)
        .map(|_| window.mul_f64(rng.random_range(0.02..1.0)))
        .collect();
    offsets.sort();
    offsets.into_iter().zip(faults).collect()
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct Injected {
    pub fault: Fault,
    /// Seconds after the load started.
    pub at: f64,
    pub took: f64,
}

/// Injects each fault at its offset from `started` (or as soon as the one
/// before has ended), sampling the processes' memory meanwhile.
pub async fn run(
    stack: &mut Stack,
    schedule: &[(Duration, Fault)],
    started: Instant,
    rss: &mut PeakRss,
) -> Vec<Injected> {
    let mut injected = Vec::with_capacity(schedule.len());
    for (offset, fault) in schedule {
        resources::sample_until(stack, rss, started + *offset).await;
        let at = started.elapsed().as_secs_f64();
        println!("{at:>7.1}s fault: {fault}");
        let began = Instant::now();
        inject(stack, fault, rss).await;
        injected.push(Injected {
            fault: fault.clone(),
            at,
            took: began.elapsed().as_secs_f64(),
        });
    }
    injected
}

async fn inject(stack: &mut Stack, fault: &Fault, rss: &mut PeakRss) {
    match fault {
        Fault::Kill(service) => {
            stack.kill(*service);
            tokio::time::sleep(Duration::from_millis(500)).await;
            stack.restart(*service).await;
        }
        Fault::Pause(service, seconds) => {
            stack.signal(*service, "STOP");
            tokio::time::sleep(Duration::from_secs(*seconds)).await;
            stack.signal(*service, "CONT");
        }
        Fault::CloseBrokerConnections => stack.close_broker_connections(),
        Fault::LoseBroker(seconds) => {
            stack
                .lose_the_broker_for(Duration::from_secs(*seconds))
                .await
        }
        Fault::TerminateBackends(index) => {
            terminate_backends(&stack.database_names()[*index]).await
        }
        Fault::ShortTokens => {
            restart_central_with_ttl(stack, Some("3s")).await;
            resources::sample_until(stack, rss, Instant::now() + SHORT_TOKENS_FOR).await;
            restart_central_with_ttl(stack, None).await;
        }
        Fault::WorkersAway(seconds) => {
            let workers: Vec<Service> = stack
                .services()
                .into_iter()
                .filter(|service| matches!(service, Service::Worker(_)))
                .collect();
            for worker in &workers {
                stack.kill(*worker);
            }
            let back_at = Instant::now() + Duration::from_secs(*seconds);
            resources::sample_until(stack, rss, back_at).await;
            for worker in &workers {
                stack.restart(*worker).await;
            }
        }
    }
}

async fn restart_central_with_ttl(stack: &mut Stack, ttl: Option<&str>) {
    stack.set_central_env("TOKEN_TTL", ttl);
    stack.kill(Service::Central);
    stack.restart(Service::Central).await;
}

/// Terminates every other backend connected to the database `name`.
async fn terminate_backends(name: &str) {
    let Ok(mut connection) = PgConnection::connect(&infra::database_url()).await else {
        eprintln!("cannot reach PostgreSQL to terminate backends of {name}");
        return;
    };
    let terminated: Result<Vec<bool>, _> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut connection)
    .await;
    println!(
        "          terminated {} backends of {name}",
        terminated.map_or(0, |all| all.len())
    );
    let _ = connection.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_schedule_and_every_kind_comes_round() {
        let duration = Duration::from_secs(90);
        let first = schedule(7, 9, duration);
        assert_eq!(first, schedule(7, 9, duration));
        assert_ne!(first, schedule(8, 9, duration));
        let mut kinds: Vec<&str> = first.iter().map(|(_, fault)| fault.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), 9, "{kinds:?}");
        assert!(first.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        assert!(first.iter().all(|(at, _)| *at <= duration.mul_f64(0.85)));
    }
}
