//! The one causeway binary.

use clap::Parser;

#[derive(Parser)]
#[command(name = "causeway", version, about = "Causal incident trace pipeline")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
