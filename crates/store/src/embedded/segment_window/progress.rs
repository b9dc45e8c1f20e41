//! The windower's progress, `(topic, partition)` → the next offset written:
//! held in memory and appended to a file of CRC'd frames (the segments'
//! framing), one frame and one fdatasync per write. A database commit per
//! polled batch cost several times an append (BENCHMARKS.md, "The window
//! store's progress"). The file is rewritten whole, by rename, once it
//! passes `COMPACT_BYTES`; a torn last frame is cut at open, losing only
//! that write, which the redelivered records write again.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::segments::{append_durably, open_append, push_frame, replay, sync_dir};
use crate::api::{PartitionProgress, StoreError};

const FILE: &str = "progress.log";
/// Past this the file is rewritten with one frame of the current offsets.
const COMPACT_BYTES: u64 = 1 << 20;

/// Per topic, per partition, the next offset written.
pub type Offsets = BTreeMap<String, BTreeMap<u32, u64>>;

pub struct ProgressLog {
    dir: PathBuf,
    compact_bytes: u64,
    state: Mutex<State>,
}

struct State {
    file: File,
    len: u64,
    offsets: Offsets,
}

fn io_error(context: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("window progress: {context}: {err}"))
}

/// A frame's payload: per entry `topic_len:u16be topic partition:u32be
/// next_offset:u64be`.
fn encode(entries: &[(&str, u32, u64)]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(entries.len() * 32);
    for (topic, partition, next) in entries {
        payload.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        payload.extend_from_slice(topic.as_bytes());
        payload.extend_from_slice(&partition.to_be_bytes());
        payload.extend_from_slice(&next.to_be_bytes());
    }
    payload
}

/// Raises `offsets` by a frame's entries; `None` when the payload does not
/// parse (then none of it is applied).
fn apply(offsets: &mut Offsets, mut payload: &[u8]) -> Option<()> {
    let mut entries = Vec::new();
    while !payload.is_empty() {
        let (len, rest) = payload.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let topic = std::str::from_utf8(rest.get(..len)?).ok()?;
        let (partition, rest) = rest.get(len..)?.split_first_chunk::<4>()?;
        let (next, rest) = rest.split_first_chunk::<8>()?;
        entries.push((topic, u32::from_be_bytes(*partition), u64::from_be_bytes(*next)));
        payload = rest;
    }
    for (topic, partition, next) in entries {
        raise(offsets, topic, partition, next);
    }
    Some(())
}

fn raise(offsets: &mut Offsets, topic: &str, partition: u32, next: u64) {
    let partitions = match offsets.get_mut(topic) {
        Some(partitions) => partitions,
        None => offsets.entry(topic.to_owned()).or_default(),
    };
    let stored = partitions.entry(partition).or_default();
    *stored = (*stored).max(next);
}

impl ProgressLog {
    /// Opens the log in `dir` (which exists), starting from `seed` (what an
    /// earlier version kept elsewhere) raised by the log's frames.
    pub fn open(dir: &Path, seed: Offsets) -> Result<Self, StoreError> {
        let path = dir.join(FILE);
        let created = !path.exists();
        let file = open_append(&path, true).map_err(|err| io_error("opening", err))?;
        if created {
            sync_dir(dir).map_err(|err| io_error("syncing the directory", err))?;
        }
        let mut offsets = seed;
        let mut unreadable = 0u64;
        let len = replay(&file, 0, &mut |_, payload| {
            if apply(&mut offsets, payload).is_none() {
                unreadable += 1;
            }
        })?;
        if unreadable > 0 {
            tracing::warn!(frames = unreadable, "window progress frames that do not parse; skipped");
        }
        Ok(Self {
            dir: dir.to_owned(),
            compact_bytes: COMPACT_BYTES,
            state: Mutex::new(State { file, len, offsets }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Each change to the state is made after its write succeeded, so a
        // panic elsewhere leaves it whole.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Raises each partition's progress (never lowers it), durably.
    pub fn put(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored = state.offsets.get(topic);
        let raised: Vec<(&str, u32, u64)> = progress
            .iter()
            .filter(|entry| {
                stored
                    .and_then(|partitions| partitions.get(&entry.partition))
                    .is_none_or(|stored| *stored < entry.next_offset)
            })
            .map(|entry| (topic, entry.partition, entry.next_offset))
            .collect();
        if raised.is_empty() {
            return Ok(());
        }
        let mut frame = Vec::new();
        push_frame(&mut frame, &[&encode(&raised)]);
        let State { file, len, .. } = &mut *state;
        append_durably(file, len, &frame).map_err(|err| io_error("appending", err))?;
        for (topic, partition, next) in raised {
            raise(&mut state.offsets, topic, partition, next);
        }
        if state.len > self.compact_bytes {
            self.compact(&mut state)?;
        }
        Ok(())
    }

    /// Rewrites the file as one frame of the current offsets.
    fn compact(&self, state: &mut State) -> Result<(), StoreError> {
        let entries: Vec<(&str, u32, u64)> = state
            .offsets
            .iter()
            .flat_map(|(topic, partitions)| {
                partitions
                    .iter()
                    .map(|(partition, next)| (topic.as_str(), *partition, *next))
            })
            .collect();
        let mut frame = Vec::new();
        push_frame(&mut frame, &[&encode(&entries)]);
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut file = File::create(&tmp).map_err(|err| io_error("compacting", err))?;
        file.write_all(&frame)
            .and_then(|()| file.sync_all())
            .map_err(|err| io_error("compacting", err))?;
        let path = self.dir.join(FILE);
        fs::rename(&tmp, &path).map_err(|err| io_error("compacting", err))?;
        sync_dir(&self.dir).map_err(|err| io_error("syncing the directory", err))?;
        state.file = open_append(&path, true).map_err(|err| io_error("opening", err))?;
        state.len = frame.len() as u64;
        Ok(())
    }

    pub fn get(&self, topic: &str) -> Vec<PartitionProgress> {
        self.state()
            .offsets
            .get(topic)
            .into_iter()
            .flatten()
            .map(|(partition, next)| PartitionProgress {
                partition: *partition,
                next_offset: *next,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use std::fs::OpenOptions;

    use super::*;

    fn at(partition: u32, next_offset: u64) -> PartitionProgress {
        PartitionProgress { partition, next_offset }
    }

    #[test]
    fn only_rises_survives_reopen_and_keeps_topics_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut seed = Offsets::new();
        raise(&mut seed, "ce", 3, 40);
        let log = ProgressLog::open(dir.path(), seed.clone()).unwrap();
        log.put("ce", &[at(0, 10), at(1, 5)]).unwrap();
        log.put("ce", &[at(0, 7), at(1, 6), at(3, 12)]).unwrap();
        log.put("other", &[at(0, 99)]).unwrap();
        let expected = vec![at(0, 10), at(1, 6), at(3, 40)];
        assert_eq!(log.get("ce"), expected);
        drop(log);
        let log = ProgressLog::open(dir.path(), seed).unwrap();
        assert_eq!(log.get("ce"), expected);
        assert_eq!(log.get("other"), vec![at(0, 99)]);
        assert!(log.get("none").is_empty());
    }

    #[test]
    fn a_torn_last_frame_loses_only_that_write() {
        let dir = tempfile::tempdir().unwrap();
        let log = ProgressLog::open(dir.path(), Offsets::new()).unwrap();
        log.put("ce", &[at(0, 10)]).unwrap();
        log.put("ce", &[at(0, 20)]).unwrap();
        drop(log);
        let path = dir.path().join(FILE);
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let log = ProgressLog::open(dir.path(), Offsets::new()).unwrap();
        assert_eq!(log.get("ce"), vec![at(0, 10)]);
        log.put("ce", &[at(0, 30)]).unwrap();
        drop(log);
        let log = ProgressLog::open(dir.path(), Offsets::new()).unwrap();
        assert_eq!(
            log.get("ce"),
            vec![at(0, 30)],
            "the cut tail does not hide later writes"
        );
    }

    #[test]
    fn compaction_keeps_every_offset_and_bounds_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = ProgressLog::open(dir.path(), Offsets::new()).unwrap();
        log.compact_bytes = 1_000;
        let writes = 200;
        for next in 1..=writes {
            log.put("causeway.ce", &[at((next % 4) as u32, next)]).unwrap();
        }
        let len = fs::metadata(dir.path().join(FILE)).unwrap().len();
        assert!(len <= 1_000, "{len} bytes after {writes} writes of ~35 bytes");
        let expected: Vec<PartitionProgress> = (0..4u64)
            .map(|partition| at(partition as u32, writes - (writes + 4 - partition) % 4))
            .collect();
        assert_eq!(log.get("causeway.ce"), expected);
        drop(log);
        let log = ProgressLog::open(dir.path(), Offsets::new()).unwrap();
        assert_eq!(log.get("causeway.ce"), expected);
    }
}
