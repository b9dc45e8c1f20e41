//! A topic on disk: its partition count, one log per partition, the
//! consumer groups that read it, and the signal that new records arrived.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::embedded::group::{Group, group_file};
use crate::embedded::log::PartitionLog;

const PARTITIONS_FILE: &str = "partitions";

pub struct Topic {
    /// Shared with every delivery read from the topic.
    pub name: Arc<str>,
    dir: PathBuf,
    partitions: Vec<Mutex<PartitionLog>>,
    /// Woken after every durable append, for consumers waiting in `poll`.
    pub appended: Notify,
    groups: Mutex<HashMap<String, Arc<Group>>>,
}

impl Topic {
    /// Creates the topic directory with `partitions` partitions.
    pub fn create(dir: &Path, name: &str, partitions: u32) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join("partitions.tmp");
        std::fs::write(&tmp, partitions.to_string())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(PARTITIONS_FILE))?;
        Self::open(dir, name)
    }

    /// Opens an existing topic directory, recovering every partition log
    /// and loading every group's committed offsets.
    pub fn open(dir: &Path, name: &str) -> io::Result<Self> {
        let count: u32 = std::fs::read_to_string(dir.join(PARTITIONS_FILE))?
            .trim()
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad partitions file"))?;
        let partitions = (0..count.max(1))
            .map(|partition| PartitionLog::open(&dir.join(partition.to_string())).map(Mutex::new))
            .collect::<io::Result<Vec<_>>>()?;
        let groups_dir = dir.join("groups");
        std::fs::create_dir_all(&groups_dir)?;
        let mut groups = HashMap::new();
        for entry in std::fs::read_dir(&groups_dir)? {
            let path = entry?.path();
            let Some(group) = group_name(&path) else {
                continue;
            };
            groups.insert(group, Arc::new(Group::load(path, count.max(1))?));
        }
        Ok(Self {
            name: Arc::from(name),
            dir: dir.to_owned(),
            partitions,
            appended: Notify::new(),
            groups: Mutex::new(groups),
        })
    }

    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// The partition of `key`: a stable hash, so a key keeps its partition.
    pub fn partition_for(&self, key: &[u8]) -> u32 {
        crate::embedded::frame::fnv1a(key) % self.partition_count()
    }

    pub fn log(&self, partition: u32) -> MutexGuard<'_, PartitionLog> {
        // A poisoned lock only means a thread panicked mid-read; the log's
        // own state is updated in single assignments and stays consistent.
        self.partitions[partition as usize]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn group(&self, name: &str) -> io::Result<Arc<Group>> {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(group) = groups.get(name) {
            return Ok(Arc::clone(group));
        }
        let group = Arc::new(Group::load(
            group_file(&self.dir.join("groups"), name),
            self.partition_count(),
        )?);
        groups.insert(name.to_owned(), Arc::clone(&group));
        Ok(group)
    }

    /// The lowest committed offset of `partition` over every group known,
    /// or `u64::MAX` when no group reads the topic.
    pub fn committed_min(&self, partition: u32) -> u64 {
        let groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        groups
            .values()
            .map(|group| group.committed(partition))
            .min()
            .unwrap_or(u64::MAX)
    }
}

fn group_name(path: &Path) -> Option<String> {
    let hex = path.file_name()?.to_str()?.strip_suffix(".offsets")?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}
