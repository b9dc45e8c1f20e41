//! The store conformance suite on the ScyllaDB store, against the CQL node
//! in `CAUSEWAY_TEST_CQL` (`scripts/test.sh` starts Apache Cassandra with
//! `scripts/cql-node.sh`). Each test gets its own keyspace: the suite's
//! cases assume empty storage, and the node is shared.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use causeway_store::conformance::StoreHarness;
use causeway_store::{Stores, open_stores};

struct ScyllaHarness {
    url: String,
    node: String,
    keyspace: String,
}

/// Drops the test's keyspace (best effort): a node that kept every test's
/// tables would spend its small heap on them.
impl Drop for ScyllaHarness {
    fn drop(&mut self) {
        let node = self.node.clone();
        let statement = format!("DROP KEYSPACE IF EXISTS {}", self.keyspace);
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(session) = scylla::client::session_builder::SessionBuilder::new()
                    .known_node(&node)
                    .build()
                    .await
                {
                    let _ = session.query_unpaged(statement, ()).await;
                }
            });
        });
        let _ = dropper.join();
    }
}

impl ScyllaHarness {
    /// A harness on a fresh keyspace, or `None` (after saying SKIPPED) when
    /// no node was given outside CI. In CI a missing node fails the test.
    fn new() -> Option<Self> {
        let node = match std::env::var("CAUSEWAY_TEST_CQL") {
            Ok(node) if !node.is_empty() => node,
            _ if std::env::var_os("CI").is_some() => {
                panic!("CAUSEWAY_TEST_CQL is not set in CI: scripts/test.sh must start the cql node")
            }
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: scylla store: CAUSEWAY_TEST_CQL not set (scripts/test.sh starts a cql node)"
                );
                return None;
            }
        };
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let keyspace = format!(
            "conf_{}_{}_{}",
            nanos % 1_000_000_000_000,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        // One node: replication 1 and consistency ONE.
        Some(Self {
            url: format!("scylla://{node}/{keyspace}?replication_factor=1&consistency=one"),
            node,
            keyspace,
        })
    }
}

#[async_trait]
impl StoreHarness for ScyllaHarness {
    async fn open(&self) -> Stores {
        open_stores(&self.url).await.expect("open scylla stores")
    }
}

causeway_store::store_conformance_suite!(optional ScyllaHarness::new());
