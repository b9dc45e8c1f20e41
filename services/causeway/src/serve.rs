//! The serving commands: `standalone`, one target, or `run --targets`.
//! Every configuration error is printed before any port is bound.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use causeway_runtime::config::{ConfigErrors, load};
use causeway_runtime::secret_url::SecretUrl;
use causeway_runtime::tenants::TenantRegistry;

use crate::config::CausewayConfig;
use crate::dev_key;
use crate::targets::{self, Bound, Target, Wiring};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// TOML config file (every key optional; `CAUSEWAY_*` env overrides it,
    /// flags override both).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTP address (SDK batches, OTLP/HTTP, alerts, read API, share links); port 0 picks one.
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// gRPC address (IngestService, OTLP TraceService, health).
    #[arg(long, value_name = "ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    /// Admin address (/live, /ready, /metrics).
    #[arg(long, value_name = "ADDR")]
    pub admin_addr: Option<SocketAddr>,
    /// Bus URL: embedded://PATH or kafka://host:port.
    #[arg(long, value_name = "URL")]
    pub bus: Option<SecretUrl>,
    /// Store URL: embedded://PATH or scylla://host1[:port],host2/keyspace?option=value&…
    #[arg(long, value_name = "URL")]
    pub store: Option<SecretUrl>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StandaloneArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Where the embedded bus, store and dev API key live.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Loads and checks everything; nothing is bound yet.
fn prepare(
    serve: &ServeArgs,
    data_dir: Option<&Path>,
    targets: BTreeSet<Target>,
    standalone: bool,
) -> anyhow::Result<(Wiring, Option<String>)> {
    let mut config: CausewayConfig = load(serve.config.as_deref(), std::env::vars()).map_err(report)?;
    if let Some(dir) = data_dir {
        config.data_dir = dir.display().to_string();
    }
    for (slot, flag) in [
        (&mut config.http_addr, serve.http_addr),
        (&mut config.grpc_addr, serve.grpc_addr),
        (&mut config.admin_addr, serve.admin_addr),
    ] {
        if let Some(addr) = flag {
            *slot = addr.to_string();
        }
    }
    if let Some(bus) = &serve.bus {
        config.bus = bus.clone();
    }
    if let Some(store) = &serve.store {
        config.store = store.clone();
    }
    let data = PathBuf::from(&config.data_dir);
    let default_url = |name: &str| SecretUrl::new(format!("embedded://{}", data.join(name).display()));
    let bus_url = if config.bus.is_empty() && standalone {
        default_url("bus")
    } else {
        config.bus.clone()
    };
    let store_url = if config.store.is_empty() && standalone {
        default_url("store")
    } else {
        config.store.clone()
    };

    let mut errors = Vec::new();
    if bus_url.is_empty() {
        errors.push("bus: set --bus, CAUSEWAY_BUS or `bus` in the config file (kafka://host:port)".to_owned());
    }
    if store_url.is_empty() {
        errors.push("store: set --store, CAUSEWAY_STORE or `store` in the config file".to_owned());
    }
    errors.extend(targets::check_combination(&targets, &bus_url, &store_url));

    // The dev tenant: configured key, else (standalone, no tenants) a
    // generated key kept in the data dir.
    let mut new_dev_key = None;
    let dev_key = match (&config.dev_api_key, standalone && config.tenants.is_empty()) {
        (Some(key), _) => Some(key.expose().to_owned()),
        (None, true) => {
            let (key, created) = dev_key::load_or_create(&data)?;
            if created {
                new_dev_key = Some(key.clone());
            }
            Some(key)
        }
        (None, false) => None,
    };
    let tenants = match TenantRegistry::new(&config.tenants, dev_key.as_deref()) {
        Ok(registry) if registry.is_empty() => {
            errors.push("tenants: none configured; add [[tenants]] or set CAUSEWAY_DEV_API_KEY".to_owned());
            None
        }
        Ok(registry) => Some(registry),
        Err(err) => {
            errors.push(format!("tenants: {err}"));
            None
        }
    };
    if !errors.is_empty() {
        return Err(report(ConfigErrors(errors)));
    }
    let tenants = Arc::new(tenants.context("tenants")?);
    Ok((
        Wiring {
            config,
            targets,
            bus_url,
            store_url,
            tenants,
        },
        new_dev_key,
    ))
}

fn report(errors: ConfigErrors) -> anyhow::Error {
    anyhow::anyhow!("{errors}")
}

pub fn standalone(args: StandaloneArgs) -> anyhow::Result<()> {
    let all = BTreeSet::from([Target::Gateway, Target::Windower, Target::Assembler]);
    let (wiring, new_key) = prepare(&args.serve, args.data_dir.as_deref(), all, true)?;
    let key_file = PathBuf::from(&wiring.config.data_dir).join("dev-api-key");
    serve(wiring, move |bound| {
        print_bound("standalone", bound);
        match &new_key {
            Some(key) => println!("dev api key (shown once; kept in {}): {key}", key_file.display()),
            None => println!("dev api key: in {} (or the one you configured)", key_file.display()),
        }
    })
}

pub fn targets(targets: BTreeSet<Target>, serve_args: ServeArgs) -> anyhow::Result<()> {
    let (wiring, _) = prepare(&serve_args, None, targets.clone(), false)?;
    let name = targets
        .iter()
        .map(|t| format!("{t:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    serve(wiring, move |bound| print_bound(&name, bound))
}

/// After the shutdown deadline, what is left gets this long to end before
/// the watchdog exits the process.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

fn serve(wiring: Wiring, on_bound: impl FnOnce(&Bound) + Send + 'static) -> anyhow::Result<()> {
    causeway_runtime::telemetry::init_logging(wiring.config.log_format == "json");
    let deadline = Duration::from_secs(wiring.config.shutdown_deadline_seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(async move {
        let shutdown = causeway_runtime::shutdown::on_signals();
        // From the first signal (or the first target to fail) the process
        // has the deadline plus a grace to end, then exits regardless.
        let armed = shutdown.clone();
        tokio::spawn(async move {
            armed.cancelled().await;
            causeway_runtime::shutdown::hard_deadline(deadline + SHUTDOWN_GRACE);
        });
        targets::run(wiring, shutdown, on_bound).await
    });
    // Blocking work left behind (a Kafka client closing against a broker
    // that is gone) must not hold the exit: the runtime is waited for a
    // grace at most, and the watchdog (armed for longer, so that it does
    // not race an ordinary exit) covers a shutdown that blocks anyway.
    causeway_runtime::shutdown::hard_deadline(SHUTDOWN_GRACE * 2);
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    result
}

fn print_bound(name: &str, bound: &Bound) {
    println!("causeway {name} {}", env!("CARGO_PKG_VERSION"));
    if let Some(http) = bound.http {
        println!("http   listening on http://{http}");
    }
    if let Some(grpc) = bound.grpc {
        println!("grpc   listening on {grpc}");
    }
    println!("admin  listening on http://{}  (/live /ready /metrics)", bound.admin);
}
