//! `causeway migrate --store scylla://…`: applies the store schema
//! (`deploy/cql/`) ahead of a deploy. The serving targets apply it at
//! startup too (unless the URL says `migrate=false`); both are idempotent
//! and safe to run from several replicas at once.

use anyhow::Context;

#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// Store URL: scylla://host1[:port],host2/keyspace?option=value&… (the embedded store needs no migration).
    #[arg(long, value_name = "URL", env = "CAUSEWAY_STORE")]
    pub store: String,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let Some(rest) = args.store.strip_prefix("scylla://") else {
        anyhow::bail!(
            "store {:?}: only scylla:// stores have a schema to migrate (embedded:// creates its tables when opened)",
            args.store
        );
    };
    let applied = causeway_store::scylla::migrate(rest)
        .await
        .with_context(|| format!("migrating store {}", args.store))?;
    let latest = causeway_store::scylla::MIGRATIONS.last().map_or(0, |m| m.version);
    if applied.is_empty() {
        println!("schema is current (version {latest})");
    } else {
        let versions: Vec<String> = applied.iter().map(i32::to_string).collect();
        println!("applied migrations {} (schema version {latest})", versions.join(", "));
    }
    Ok(())
}
