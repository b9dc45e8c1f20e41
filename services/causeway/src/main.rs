//! The one causeway binary: every target, `standalone`, and the CLI tools.

use std::collections::BTreeSet;

use causeway::assemble_cmd;
use causeway::serve::{self, ServeArgs, StandaloneArgs};
use causeway::targets::Target;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "causeway",
    version,
    about = "Causal incident traces: the causal chain before the alert, assembled in seconds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything in one process on the embedded bus and store (no Kafka, no ScyllaDB).
    Standalone(StandaloneArgs),
    /// The write edge: SDK, OTLP and alert intake.
    Gateway(ServeArgs),
    /// Keeps each tenant's pre-alert window in the store.
    Windower(ServeArgs),
    /// Assembles artifacts on alerts and serves the read API and share links.
    Assembler(ServeArgs),
    /// Assemble an artifact offline from event files and an alert file.
    Assemble(assemble_cmd::AssembleArgs),
    /// Drive a five-service demo incident against a running gateway and print the artifact.
    Demo(causeway::demo::DemoArgs),
    /// Drive a running gateway with generated traffic and report rate, latency and refusals.
    Loadgen(causeway::loadgen::LoadgenArgs),
    /// Create or describe the bus topics (operators: before the first deploy, or to check offsets).
    Topics(causeway::topics_cmd::TopicsArgs),
    /// Apply the store schema (scylla:// stores) ahead of a deploy; targets also apply it at startup.
    Migrate(causeway::migrate_cmd::MigrateArgs),
    /// Print a new API key and the hash to put in `api_key_sha256`.
    Keygen,
    /// Print the `api_key_sha256` of an existing key (from the argument or stdin).
    HashKey { key: Option<String> },
    /// Any combination of targets in one process.
    Run {
        /// Comma-separated: gateway,windower,assembler.
        #[arg(long, value_delimiter = ',', required = true)]
        targets: Vec<Target>,
        #[command(flatten)]
        serve: ServeArgs,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Standalone(args) => serve::standalone(args),
        Command::Gateway(args) => serve::targets(BTreeSet::from([Target::Gateway]), args),
        Command::Windower(args) => serve::targets(BTreeSet::from([Target::Windower]), args),
        Command::Assembler(args) => serve::targets(BTreeSet::from([Target::Assembler]), args),
        Command::Assemble(args) => assemble_cmd::run(args),
        Command::Demo(args) => block_on(causeway::demo::run(args)),
        Command::Loadgen(args) => block_on(causeway::loadgen::run(args)),
        Command::Topics(args) => block_on(causeway::topics_cmd::run(args)),
        Command::Migrate(args) => block_on(causeway::migrate_cmd::run(args)),
        Command::Keygen => {
            let key = causeway_runtime::tenants::generate_api_key();
            println!(
                "api_key: {key}\napi_key_sha256: {}",
                causeway_runtime::tenants::hash_api_key(&key)
            );
            Ok(())
        }
        Command::HashKey { key } => hash_key(key),
        Command::Run { targets, serve } => serve::targets(targets.into_iter().collect(), serve),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("causeway: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn hash_key(key: Option<String>) -> anyhow::Result<()> {
    let key = match key {
        Some(key) => key,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line
        }
    };
    let key = key.trim();
    anyhow::ensure!(!key.is_empty(), "no key given (argument or stdin)");
    println!("{}", causeway_runtime::tenants::hash_api_key(key));
    Ok(())
}

/// Runs one async CLI command on a fresh runtime.
fn block_on(command: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(command)
}
