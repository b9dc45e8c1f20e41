//! The versioned schema migration: `deploy/cql/NNNN_*.cql` applied in order,
//! each recorded in `schema_migrations` with its checksum. Idempotent (every
//! statement is `IF NOT EXISTS`, applied versions are skipped) and safe when
//! several replicas start at once: one holds a lease (a lightweight
//! transaction with a TTL) while it applies, the others wait for it, and
//! every DDL statement is followed by a wait for schema agreement.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scylla::client::session::Session;
use sha2::{Digest, Sha256};

use super::ScyllaConfig;
use super::exec::other_error;
use crate::api::StoreError;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    /// CQL statements separated by `;`, `${keyspace}` for the keyspace.
    pub cql: &'static str,
}

/// Every migration, oldest first. New steps are appended, never edited: an
/// applied step whose text changed is refused.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        cql: include_str!("../../../../deploy/cql/0001_initial.cql"),
    },
    Migration {
        version: 2,
        name: "topology_slots",
        cql: include_str!("../../../../deploy/cql/0002_topology_slots.cql"),
    },
    Migration {
        version: 3,
        name: "events_by_peer",
        cql: include_str!("../../../../deploy/cql/0003_events_by_peer.cql"),
    },
];

/// How long a replica waits for another's migration before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(180);
/// The lease: a replica that dies mid-migration frees it after this.
const LOCK_TTL_SECONDS: i32 = 120;

fn checksum(cql: &str) -> String {
    hex::encode(Sha256::digest(cql.as_bytes()))
}

/// The statements of a migration file, comments removed, keyspace filled in.
pub(crate) fn statements(cql: &str, keyspace: &str) -> Vec<String> {
    let text: String = cql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(|statement| statement.replace("${keyspace}", keyspace))
        .collect()
}

async fn ddl(session: &Session, statement: &str) -> Result<(), StoreError> {
    session
        .query_unpaged(statement, ())
        .await
        .map_err(|err| StoreError::Fatal(format!("schema statement failed: {err}: {statement}")))?;
    session
        .await_schema_agreement()
        .await
        .map_err(|err| StoreError::Unavailable(format!("waiting for schema agreement: {err}")))?;
    Ok(())
}

async fn applied_versions(session: &Session, keyspace: &str) -> Result<Vec<(i32, String)>, StoreError> {
    let result = session
        .query_unpaged(
            format!("SELECT version, checksum FROM {keyspace}.schema_migrations"),
            (),
        )
        .await
        .map_err(|err| other_error("schema versions", err))?;
    let rows = result
        .into_rows_result()
        .map_err(|err| other_error("schema versions", err))?;
    rows.rows::<(i32, String)>()
        .map_err(|err| other_error("schema versions", err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| other_error("schema versions", err))
}

/// The migrations not yet applied; a changed applied one is an error.
fn pending(applied: &[(i32, String)]) -> Result<Vec<Migration>, StoreError> {
    let mut out = Vec::new();
    for migration in MIGRATIONS {
        match applied.iter().find(|(version, _)| *version == migration.version) {
            Some((_, sum)) if *sum != checksum(migration.cql) => {
                return Err(StoreError::Fatal(format!(
                    "schema migration {} ({}) was applied with another text: migrations are append-only",
                    migration.version, migration.name
                )));
            }
            Some(_) => {}
            None => out.push(*migration),
        }
    }
    Ok(out)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// Creates the keyspace and the bookkeeping tables, then applies every
/// pending migration under the lease. Returns the versions it applied.
pub(crate) async fn apply(session: &Session, config: &ScyllaConfig) -> Result<Vec<i32>, StoreError> {
    let keyspace = &config.keyspace;
    let tablets = match config.tablets {
        Some(enabled) => format!(" AND tablets = {{'enabled': {enabled}}}"),
        None => String::new(),
    };
    ddl(
        session,
        &format!(
            "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
             {{'class': 'NetworkTopologyStrategy', 'replication_factor': {}}}{tablets}",
            config.replication_factor
        ),
    )
    .await?;
    ddl(
        session,
        &format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations \
             (version int PRIMARY KEY, name text, checksum text, applied_at_unix_ms bigint)"
        ),
    )
    .await?;
    ddl(
        session,
        &format!("CREATE TABLE IF NOT EXISTS {keyspace}.schema_lock (name text PRIMARY KEY, owner text)"),
    )
    .await?;
    if pending(&applied_versions(session, keyspace).await?)?.is_empty() {
        return Ok(Vec::new());
    }
    let owner = format!("{}-{}", std::process::id(), now_ms());
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let take = session
            .query_unpaged(
                format!(
                    "INSERT INTO {keyspace}.schema_lock (name, owner) VALUES ('migrate', ?) \
                     IF NOT EXISTS USING TTL {LOCK_TTL_SECONDS}"
                ),
                (&owner,),
            )
            .await
            .map_err(|err| other_error("schema lock", err))?;
        let taken = take
            .into_rows_result()
            .ok()
            .and_then(|rows| rows.maybe_first_row::<scylla::value::Row>().ok().flatten())
            .and_then(|row| match row.columns.first() {
                Some(Some(scylla::value::CqlValue::Boolean(applied))) => Some(*applied),
                _ => None,
            })
            .unwrap_or(false);
        if taken {
            break;
        }
        if pending(&applied_versions(session, keyspace).await?)?.is_empty() {
            return Ok(Vec::new());
        }
        if Instant::now() >= deadline {
            return Err(StoreError::Unavailable(format!(
                "another replica has held the schema migration lease of keyspace {keyspace} for {}s",
                LOCK_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let result = apply_pending(session, keyspace).await;
    let _ = session
        .query_unpaged(
            format!("DELETE FROM {keyspace}.schema_lock WHERE name = 'migrate' IF owner = ?"),
            (&owner,),
        )
        .await;
    result
}

async fn apply_pending(session: &Session, keyspace: &str) -> Result<Vec<i32>, StoreError> {
    let mut done = Vec::new();
    for migration in pending(&applied_versions(session, keyspace).await?)? {
        tracing::info!(
            version = migration.version,
            name = migration.name,
            keyspace,
            "applying schema migration"
        );
        for statement in statements(migration.cql, keyspace) {
            ddl(session, &statement).await?;
        }
        session
            .query_unpaged(
                format!(
                    "INSERT INTO {keyspace}.schema_migrations (version, name, checksum, applied_at_unix_ms) \
                     VALUES (?, ?, ?, ?)"
                ),
                (migration.version, migration.name, checksum(migration.cql), now_ms()),
            )
            .await
            .map_err(|err| other_error("recording a schema migration", err))?;
        done.push(migration.version);
    }
    Ok(done)
}

/// `causeway migrate --store scylla://…`: applies pending migrations and
/// returns the versions applied (empty when the schema was current).
pub async fn migrate(url_rest: &str) -> Result<Vec<i32>, StoreError> {
    let config = ScyllaConfig::parse(url_rest)?;
    let session = super::connect(&config).await?;
    apply(&session, &config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_keyspace_qualified_statements() {
        for migration in MIGRATIONS {
            let statements = statements(migration.cql, "ks");
            assert!(!statements.is_empty(), "migration {} has statements", migration.version);
            for statement in &statements {
                assert!(statement.starts_with("CREATE "), "{statement}");
                assert!(statement.contains(" ks."), "{statement}");
                assert!(statement.contains("IF NOT EXISTS"), "idempotent: {statement}");
                assert!(!statement.contains("${"), "{statement}");
            }
        }
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let mut sorted = versions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(versions, sorted, "versions ascend without repeats");
    }
}
