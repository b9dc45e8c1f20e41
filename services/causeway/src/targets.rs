//! Wiring: open the bus and the stores, bind every listener, start the
//! selected targets in this process and drain them in order on shutdown.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use causeway_assembler::{AssemblerDeps, ReadApiState};
use causeway_bus::Topics;
use causeway_gateway::{GatewayDeps, GatewayState};
use causeway_runtime::admin::{Readiness, admin_router, serve_admin};
use causeway_runtime::backlog::Backlog;
use causeway_runtime::secret_url::SecretUrl;
use causeway_runtime::supervise::Tasks;
use causeway_runtime::telemetry::metrics_handle;
use causeway_runtime::tenants::TenantRegistry;
use causeway_windower::WindowerDeps;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::CausewayConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Target {
    Gateway,
    Windower,
    Assembler,
}

/// The addresses a process actually bound (port 0 resolved).
#[derive(Debug, Clone)]
pub struct Bound {
    pub http: Option<std::net::SocketAddr>,
    pub grpc: Option<std::net::SocketAddr>,
    pub admin: std::net::SocketAddr,
}

/// Cross-target rules that only the wiring knows.
pub fn check_combination(targets: &BTreeSet<Target>, bus_url: &SecretUrl, store_url: &SecretUrl) -> Vec<String> {
    let mut errors = Vec::new();
    if targets.is_empty() {
        errors.push("targets: name at least one of gateway, windower, assembler".to_owned());
    }
    let all = targets.len() == 3;
    if bus_url.starts_with("embedded://") && !all {
        errors.push(
            "bus: the embedded bus lives inside one process; run gateway, windower and assembler together (standalone) or use kafka://".to_owned(),
        );
    }
    let readers = targets.contains(&Target::Windower) as u8 + targets.contains(&Target::Assembler) as u8;
    if store_url.starts_with("embedded://") && readers == 1 {
        errors.push(
            "store: with the embedded store the windower and the assembler must run in the same process".to_owned(),
        );
    }
    errors
}

pub struct Wiring {
    pub config: CausewayConfig,
    pub targets: BTreeSet<Target>,
    pub bus_url: SecretUrl,
    pub store_url: SecretUrl,
    pub tenants: Arc<TenantRegistry>,
}

/// Runs until `shutdown`; `on_bound` hears the bound addresses once every
/// listener is open (tests use it; the binary prints them).
pub async fn run(wiring: Wiring, shutdown: CancellationToken, on_bound: impl FnOnce(&Bound)) -> anyhow::Result<()> {
    let Wiring {
        config,
        targets,
        bus_url,
        store_url,
        tenants,
    } = wiring;
    // A signal during startup (a broker that does not answer can hold
    // topic creation for a while) stops it at once.
    let opened = tokio::select! {
        opened = open_backends(&config, &bus_url, &store_url) => opened?,
        () = shutdown.cancelled() => anyhow::bail!("shutdown requested during startup"),
    };
    let (bus, stores, topics) = opened;

    // Bind everything before starting anything, so a taken port fails fast.
    let serves_http = targets.contains(&Target::Gateway) || targets.contains(&Target::Assembler);
    let http = match serves_http {
        true => Some(bind("http_addr", &config.http_addr).await?),
        false => None,
    };
    let grpc = match targets.contains(&Target::Gateway) {
        true => Some(bind("grpc_addr", &config.grpc_addr).await?),
        false => None,
    };
    let admin = bind("admin_addr", &config.admin_addr).await?;
    let bound = Bound {
        http: http.as_ref().and_then(|l| l.local_addr().ok()),
        grpc: grpc.as_ref().and_then(|l| l.local_addr().ok()),
        admin: admin.local_addr().context("admin address")?,
    };

    let readiness = Readiness::new();
    {
        let bus = bus.clone();
        readiness
            .add_check("bus", move || {
                let bus = bus.clone();
                async move { bus.ready().await }
            })
            .await;
        let window = stores.window.clone();
        readiness
            .add_check("store", move || {
                let window = window.clone();
                async move { window.ready().await }
            })
            .await;
    }
    let tasks = Tasks::new();
    readiness.watch_tasks(tasks.clone());
    let metrics = metrics_handle();
    describe_metrics(&targets);
    let intake = CancellationToken::new();
    let workers = CancellationToken::new();
    let admin_stop = CancellationToken::new();
    // Intake (the HTTP and gRPC servers) and the consumers are drained in
    // that order, so what the gateway accepted is on the bus before the
    // consumers stop.
    let mut intake_tasks: JoinSet<TargetExit> = JoinSet::new();
    let mut worker_tasks: JoinSet<TargetExit> = JoinSet::new();

    let read_routes = targets.contains(&Target::Assembler).then(|| {
        causeway_assembler::http_router(ReadApiState {
            config: Arc::new(config.assembler.clone()),
            tenants: tenants.clone(),
            window: stores.window.clone(),
            artifacts: stores.artifacts.clone(),
            topology: stores.topology.clone(),
        })
    });
    // A gateway next to the windower admits intake by the windower's backlog.
    let backlog = Backlog::default();
    if targets.contains(&Target::Gateway) {
        let deps = GatewayDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            tenants: tenants.clone(),
            topology: stores.topology.clone(),
            artifacts: stores.artifacts.clone(),
            alerts: causeway_gateway::AlertSettings {
                default_pre_arm_seconds: config.windower.pre_arm_seconds,
                grace_seconds: config.windower.grace_seconds,
                public_url: config.assembler.public_url.clone(),
            },
            window_backlog: targets.contains(&Target::Windower).then(|| backlog.clone()),
        };
        let (http, grpc) = (http.context("http listener")?, grpc.context("grpc listener")?);
        let state = GatewayState::new(config.gateway.clone(), deps);
        let extra = read_routes.clone().unwrap_or_default();
        let token = intake.clone();
        intake_tasks.spawn(async move {
            (
                "gateway",
                causeway_gateway::serve(state, http, grpc, extra, token).await,
            )
        });
    } else if let (Some(routes), Some(http)) = (read_routes, http) {
        let token = intake.clone();
        intake_tasks.spawn(async move {
            let served = axum::serve(http, routes)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
            ("read api", served.context("serving the read api"))
        });
    }
    if targets.contains(&Target::Windower) {
        let deps = WindowerDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            window: stores.window.clone(),
            tenants: tenants.clone(),
            tasks: tasks.clone(),
            backlog: targets.contains(&Target::Gateway).then(|| backlog.clone()),
        };
        let (config, token) = (config.windower.clone(), workers.clone());
        worker_tasks.spawn(async move { ("windower", causeway_windower::run(config, deps, token).await) });
    }
    if targets.contains(&Target::Assembler) {
        let deps = AssemblerDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            window: stores.window.clone(),
            artifacts: stores.artifacts.clone(),
            topology: stores.topology.clone(),
            tenants: tenants.clone(),
            notifier: causeway_assembler::Notifier::new(tenants.clone()),
            tasks: tasks.clone(),
        };
        let (config, token) = (config.assembler.clone(), workers.clone());
        worker_tasks.spawn(async move { ("assembler", causeway_assembler::run(config, deps, token).await) });
    }
    let admin_task = tokio::spawn(serve_admin(
        admin,
        admin_router(readiness.clone(), metrics),
        admin_stop.clone(),
    ));
    readiness.mark_started();
    on_bound(&bound);

    // Any target ending early (an error, or a listener gone) stops the rest.
    let mut failure = None;
    tokio::select! {
        () = shutdown.cancelled() => {}
        Some(joined) = intake_tasks.join_next() => failure = Some(describe_exit(joined)),
        Some(joined) = worker_tasks.join_next() => failure = Some(describe_exit(joined)),
    }
    // Whatever started the drain, the token says so (the binary's watchdog
    // counts the hard deadline from it).
    shutdown.cancel();
    readiness.mark_draining();
    tracing::info!("draining: intake first, then the consumers");
    let deadline = Duration::from_secs(config.shutdown_deadline_seconds);
    let drained = tokio::time::timeout(deadline, async {
        intake.cancel();
        join_all(&mut intake_tasks, &mut failure).await;
        workers.cancel();
        join_all(&mut worker_tasks, &mut failure).await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            deadline_s = deadline.as_secs(),
            "shutdown deadline passed, aborting what is left"
        );
        intake_tasks.abort_all();
        worker_tasks.abort_all();
    }
    admin_stop.cancel();
    let _ = admin_task.await;
    match (failure, drained) {
        (Some(Err(err)), _) => Err(err),
        (_, Err(_)) => Err(anyhow::anyhow!(
            "shutdown deadline of {}s passed before every target drained",
            deadline.as_secs()
        )),
        _ => Ok(()),
    }
}

/// Opens the bus and the stores and creates the topics. Errors name the
/// URL redacted: it may carry a password.
async fn open_backends(
    config: &CausewayConfig,
    bus_url: &SecretUrl,
    store_url: &SecretUrl,
) -> anyhow::Result<(Arc<dyn causeway_bus::Bus>, causeway_store::Stores, Topics)> {
    let bus = causeway_bus::open_bus(bus_url.expose())
        .await
        .with_context(|| format!("opening bus {bus_url}"))?;
    let stores = causeway_store::open_stores(store_url.expose())
        .await
        .with_context(|| format!("opening store {store_url}"))?;
    let topics = Topics::with_prefix(&config.topics.prefix);
    bus.ensure_topics(&crate::topics_cmd::topic_specs(
        &topics,
        config.topics.ce_partitions_for(bus_url.expose()),
        config.topics.alert_partitions,
        config.topics.replication,
    ))
    .await
    .context("creating topics")?;
    Ok((bus, stores, topics))
}

/// What a target task ends with: its name and its result.
type TargetExit = (&'static str, anyhow::Result<()>);

/// Waits for every task of `tasks`; the first failure is kept in `failure`.
async fn join_all(tasks: &mut JoinSet<TargetExit>, failure: &mut Option<anyhow::Result<()>>) {
    while let Some(joined) = tasks.join_next().await {
        let outcome = describe_exit(joined);
        if failure.is_none() && outcome.is_err() {
            *failure = Some(outcome);
        }
    }
}

fn describe_exit(joined: Result<TargetExit, tokio::task::JoinError>) -> anyhow::Result<()> {
    match joined {
        Ok((name, Ok(()))) => {
            tracing::info!(target_name = name, "target stopped");
            Ok(())
        }
        Ok((name, Err(err))) => {
            tracing::error!(target_name = name, error = format!("{err:#}"), "target failed");
            Err(err.context(format!("{name} failed")))
        }
        Err(err) => Err(anyhow::anyhow!("a target task panicked or was aborted: {err}")),
    }
}

async fn bind(key: &str, addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{key}: cannot listen on {addr}"))
}

fn describe_metrics(targets: &BTreeSet<Target>) {
    causeway_runtime::supervise::describe_metrics();
    if targets.contains(&Target::Gateway) {
        causeway_gateway::describe_metrics();
    }
    if targets.contains(&Target::Windower) {
        causeway_windower::describe_metrics();
    }
    if targets.contains(&Target::Assembler) {
        causeway_assembler::describe_metrics();
    }
}
