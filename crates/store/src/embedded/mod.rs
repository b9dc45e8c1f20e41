//! The embedded store in one directory: the window's events in append-only
//! segment files with in-memory indexes, and the windower's progress in a
//! log beside them (`segment_window`); one redb database for notices,
//! artifacts, alert states, usage and topology. Both were chosen by measurement
//! (docs/embedded-storage.md).

mod artifacts;
mod codec;
mod keys;
mod segment_window;
mod share_ends;
mod topology;
mod window;
mod window_write;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, TableDefinition, WriteTransaction};

use self::segment_window::SegmentWindow;
use crate::api::StoreError;

type TableDef = TableDefinition<'static, &'static [u8], &'static [u8]>;

// The window's events live in segment files (`segment_window`), not in
// tables.
/// `(topic, partition)` → next offset written, as versions before the
/// window's progress log kept it: read once at open to seed the log.
const PROGRESS: TableDef = TableDefinition::new("window_progress");
/// Tables of earlier layouts, removed at open: the window's (the window is
/// a few minutes of data and refills) and the edge counters nothing wrote.
const RETIRED_TABLES: [&str; 13] = [
    "events",
    "events_by_time",
    "events_by_service",
    "events_by_trace",
    "event_expiry",
    "edges",
    "window_events_v2",
    "window_by_time_v2",
    "window_by_service_v2",
    "window_failures_v2",
    "window_activity_v2",
    "window_expiry_v2",
    "window_activity_expiry_v2",
];
/// `(tenant, received_at, hash)` → notice JSON.
const NOTICES: TableDef = TableDefinition::new("notices");
const NOTICE_EXPIRY: TableDef = TableDefinition::new("notice_expiry");
/// `(tenant, artifact_id)` → artifact.
const ARTIFACTS: TableDef = TableDefinition::new("artifacts");
/// share token → `(tenant, artifact_id)` key.
const SHARE_TOKENS: TableDef = TableDefinition::new("share_tokens");
/// `(expires_at, (tenant, artifact_id))` → nothing.
const ARTIFACT_EXPIRY: TableDef = TableDefinition::new("artifact_expiry");
/// share token → [`crate::api::EndedShare`] JSON, for revoked and expired links.
const SHARE_ENDS: TableDef = TableDefinition::new("share_ends");
/// `(tenant, inverted created_at, artifact_id)` → summary JSON.
const ARTIFACT_LISTING: TableDef = TableDefinition::new("artifact_listing");
const ALERT_STATES: TableDef = TableDefinition::new("alert_states");
/// `(tenant, dedup_key)` → dedup claim JSON.
const ALERT_DEDUP: TableDef = TableDefinition::new("alert_dedup");
const USAGE: TableDef = TableDefinition::new("usage");
/// `(tenant, slot start second)` → the slot's edges as JSON.
const TOPOLOGY_SLOTS: TableDef = TableDefinition::new("topology_slots");
/// `(slot start second, tenant)` → nothing: expiry walks only old slots.
const TOPOLOGY_SLOT_EXPIRY: TableDef = TableDefinition::new("topology_slot_expiry");

const ALL_TABLES: [TableDef; 13] = [
    PROGRESS,
    NOTICES,
    NOTICE_EXPIRY,
    ARTIFACTS,
    SHARE_TOKENS,
    ARTIFACT_EXPIRY,
    SHARE_ENDS,
    ARTIFACT_LISTING,
    ALERT_STATES,
    ALERT_DEDUP,
    USAGE,
    TOPOLOGY_SLOTS,
    TOPOLOGY_SLOT_EXPIRY,
];

/// The database file inside the store directory.
pub const DATABASE_FILE: &str = "causeway.redb";
/// The window's segment directory inside the store directory.
pub const WINDOW_DIR: &str = "window";

/// Window, artifact and topology stores over one database file. Cheap to
/// share: every trait is implemented on the same value.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    window: Arc<SegmentWindow>,
    path: PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").field("path", &self.path).finish()
    }
}

/// Engine errors: the engine reports I/O and corruption alike, and neither
/// heals by retrying the same call at once.
fn engine_error(context: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("{context}: {err}"))
}

pub(crate) type BytesTable<'txn> = redb::Table<'txn, &'static [u8], &'static [u8]>;

pub(crate) fn open<'txn>(txn: &'txn WriteTransaction, table: TableDef) -> Result<BytesTable<'txn>, StoreError> {
    txn.open_table(table).map_err(|err| engine_error("store table", err))
}

pub(crate) fn put(table: &mut BytesTable<'_>, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
    table
        .insert(key, value)
        .map(drop)
        .map_err(|err| engine_error("store insert", err))
}

pub(crate) fn remove(table: &mut BytesTable<'_>, key: &[u8]) -> Result<(), StoreError> {
    table
        .remove(key)
        .map(drop)
        .map_err(|err| engine_error("store remove", err))
}

pub(crate) fn read_err(err: impl std::fmt::Display) -> StoreError {
    engine_error("store read", err)
}

impl EmbeddedStore {
    /// Opens (or creates) the store in directory `dir`. One process at a
    /// time: the engine locks the file.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir))
            .await
            .map_err(|err| engine_error("store open task failed", err))?
    }

    fn open_blocking(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|err| engine_error("creating the store directory", err))?;
        let path = dir.join(DATABASE_FILE);
        let db = Database::create(&path).map_err(|err| engine_error("opening the store database", err))?;
        let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
        for name in RETIRED_TABLES {
            let retired: TableDef = TableDefinition::new(name);
            txn.delete_table(retired)
                .map_err(|err| engine_error("dropping a retired table", err))?;
        }
        for table in ALL_TABLES {
            txn.open_table(table)
                .map_err(|err| engine_error("creating store tables", err))?;
        }
        txn.commit().map_err(|err| engine_error("store commit", err))?;
        let seed = window_write::stored_progress(&db)?;
        // After the database: its lock keeps a second process out of the
        // segments too.
        let window = SegmentWindow::open(&dir.join(WINDOW_DIR), seed)?;
        Ok(Self {
            db: Arc::new(db),
            window: Arc::new(window),
            path,
        })
    }

    /// Whether a read transaction opens: the database is open and answering.
    pub(crate) async fn probe(&self) -> bool {
        self.blocking(|db| redb::ReadableDatabase::begin_read(db).map(drop).map_err(read_err))
            .await
            .is_ok()
    }

    /// Runs blocking engine work off the shared runtime's workers.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        off_runtime(Arc::clone(&self.db), work).await
    }

    /// Runs blocking window work (file reads and writes) off the shared
    /// runtime's workers.
    async fn on_window<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&SegmentWindow) -> Result<T, StoreError> + Send + 'static,
    {
        off_runtime(Arc::clone(&self.window), work).await
    }
}

/// Runs `work` on `part` (the database or the window) where blocking is
/// allowed: tokio's blocking pool, or in place on a windower's own thread.
async fn off_runtime<P, T, F>(part: Arc<P>, work: F) -> Result<T, StoreError>
where
    P: Send + Sync + 'static,
    T: Send + 'static,
    F: FnOnce(&P) -> Result<T, StoreError> + Send + 'static,
{
    causeway_runtime::blocking::off_runtime(move || work(&part))
        .await
        .map_err(|err| engine_error("store task failed", err))?
}
