//! Choosing the store implementation from its URL.

use std::sync::Arc;

use crate::api::{ArtifactStore, StoreError, TopologyStore, WindowStore};
use crate::embedded::EmbeddedStore;

/// The three stores of one backend (one shared database underneath).
#[derive(Clone)]
pub struct Stores {
    pub window: Arc<dyn WindowStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub topology: Arc<dyn TopologyStore>,
}

/// Opens the stores named by `url`:
/// - `embedded://PATH`: the embedded store in directory PATH, absolute
///   (`embedded:///var/lib/causeway/store`) or relative to the working
///   directory (`embedded://./data/store`, `embedded://data/store`);
/// - `scylla://host1[:port],host2/keyspace?option=value&…`: the ScyllaDB
///   store (any CQL v4 cluster), options in [`crate::scylla::ScyllaConfig`].
pub async fn open_stores(url: &str) -> Result<Stores, StoreError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not echoed: a url without a scheme may still be a secret.
        return Err(StoreError::Fatal(
            "store url has no scheme: use embedded://PATH or scylla://HOSTS/KEYSPACE".into(),
        ));
    };
    match scheme {
        "embedded" => {
            if rest.is_empty() {
                return Err(StoreError::Fatal(
                    "store url embedded:// needs a directory: embedded://PATH".into(),
                ));
            }
            let store = Arc::new(EmbeddedStore::open(rest).await?);
            Ok(Stores {
                window: store.clone(),
                artifacts: store.clone(),
                topology: store,
            })
        }
        "scylla" => {
            let store = Arc::new(crate::scylla::ScyllaStore::open(rest).await?);
            Ok(Stores {
                window: store.clone(),
                artifacts: store.clone(),
                topology: store,
            })
        }
        "memory" => Err(StoreError::Fatal(
            "the memory:// store is not built in this version; use embedded://PATH".into(),
        )),
        other => Err(StoreError::Fatal(format!(
            "unknown store url scheme {other:?}: supported schemes are embedded:// and scylla://"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_text(result: Result<Stores, StoreError>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(err) => err.to_string(),
        }
    }

    #[tokio::test]
    async fn rejects_bad_scylla_memory_unknown_and_schemeless_urls() {
        assert!(error_text(open_stores("scylla://node:9042").await).contains("needs a keyspace"));
        assert!(error_text(open_stores("memory://").await).contains("memory:// store is not built"));
        assert!(error_text(open_stores("postgres://x").await).contains("embedded://"));
        assert!(error_text(open_stores("./data").await).contains("no scheme"));
        assert!(error_text(open_stores("embedded://").await).contains("needs a directory"));
    }

    #[tokio::test]
    async fn opens_an_absolute_embedded_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stores = open_stores(&format!("embedded://{}", dir.path().display()))
            .await
            .expect("open");
        assert_eq!(stores.topology.add_usage("t", 202601, 3).await.expect("usage"), 3);
        assert!(dir.path().join(crate::embedded::DATABASE_FILE).is_file());
    }
}
