//! The ScyllaDB store (`scylla://host1,host2/keyspace?…`): window, artifacts,
//! alert states, usage and topology in CQL tables, shared by every gateway,
//! windower and assembler replica. It speaks CQL v4 through the `scylla`
//! driver, so it runs on ScyllaDB and on Apache Cassandra alike; the tests
//! run it on Cassandra 5 (`scripts/cql-node.sh`). docs/scylla.md has the
//! schema (`deploy/cql/`) and its reasoning.
//!
//! Every statement is prepared once at open (token-aware routing needs the
//! partition key's position, which only a prepared statement carries),
//! marked idempotent where repeating it changes nothing, and runs under a
//! per-process bound on statements in flight.

mod artifact_ends;
mod artifacts;
mod exec;
mod migrate;
mod peer_calls;
mod statements;
mod topology;
mod url;
mod window;
mod window_index;

use std::sync::Arc;

use scylla::client::PoolSize;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::SerialConsistency;
use tokio::sync::{Mutex, Semaphore};

pub use migrate::{MIGRATIONS, Migration, migrate};
pub use url::ScyllaConfig;

use crate::api::StoreError;
use statements::Statements;

/// Window, artifact and topology stores over one driver session. Cheap to
/// clone: every trait is implemented on the same value.
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    config: ScyllaConfig,
    statements: Statements,
    /// Bounds the statements this process has in flight.
    permits: Semaphore,
    /// Serializes this process's usage adds: each is a compare-and-set, and
    /// adds racing inside one process would only retry each other.
    usage_lock: Mutex<()>,
}

impl std::fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaStore")
            .field("hosts", &self.inner.config.hosts)
            .field("keyspace", &self.inner.config.keyspace)
            .finish()
    }
}

/// Connects a driver session for `config` (no keyspace selected: every
/// statement names its keyspace).
pub(crate) async fn connect(config: &ScyllaConfig) -> Result<Session, StoreError> {
    let profile = ExecutionProfile::builder()
        .consistency(config.consistency)
        .serial_consistency(Some(SerialConsistency::LocalSerial))
        .request_timeout(Some(config.request_timeout))
        .build();
    SessionBuilder::new()
        .known_nodes(&config.hosts)
        .default_execution_profile_handle(profile.into_handle())
        .pool_size(PoolSize::default())
        .build()
        .await
        .map_err(|err| {
            StoreError::Unavailable(format!(
                "connecting to the cql cluster at {}: {err}",
                config.hosts.join(",")
            ))
        })
}

impl ScyllaStore {
    /// Opens the store named by the part of a `scylla://` URL after the
    /// scheme: connects, applies pending migrations (unless `migrate=false`)
    /// and prepares every statement.
    pub async fn open(rest: &str) -> Result<Self, StoreError> {
        let config = ScyllaConfig::parse(rest)?;
        exec::describe_metrics();
        let session = connect(&config).await?;
        if config.migrate {
            migrate::apply(&session, &config).await?;
        }
        let statements = Statements::prepare(&session, &config).await?;
        tracing::info!(
            hosts = %config.hosts.join(","),
            keyspace = %config.keyspace,
            consistency = ?config.consistency,
            "scylla store open"
        );
        let inner = Arc::new(Inner {
            permits: Semaphore::new(config.max_in_flight),
            session,
            config,
            statements,
            usage_lock: Mutex::new(()),
        });
        exec::spawn_driver_sampler(Arc::downgrade(&inner));
        Ok(Self { inner })
    }

    pub fn config(&self) -> &ScyllaConfig {
        &self.inner.config
    }

    /// Whether a coordinator answers one cheap read (`system.local`) within
    /// [`PROBE_TIMEOUT`]. Not under the in-flight bound: a probe must not
    /// queue behind the load it is asked about.
    pub(crate) async fn probe(&self) -> bool {
        let read = self
            .inner
            .session
            .query_unpaged("SELECT release_version FROM system.local", &[]);
        match tokio::time::timeout(PROBE_TIMEOUT, read).await {
            Ok(Ok(_)) => true,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "scylla readiness probe failed");
                false
            }
            Err(_) => false,
        }
    }
}

/// How long the readiness probe waits for its answer.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
