//! A consumer group on one topic: its live members, the partition
//! assignment among them, and its committed offsets (a small file replaced
//! atomically on every commit).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Group {
    path: PathBuf,
    state: Mutex<GroupState>,
    /// Serializes file writes so a slower writer never replaces a newer file.
    persist_lock: Mutex<()>,
}

struct GroupState {
    /// Bumped on every join and leave: members compare it to notice a rebalance.
    generation: u64,
    members: Vec<u64>,
    /// Next offset to consume, per partition.
    committed: Vec<u64>,
}

/// Group files are named by the hex of the group name, so any name is safe.
pub fn group_file(dir: &Path, group: &str) -> PathBuf {
    let hex: String = group.bytes().map(|byte| format!("{byte:02x}")).collect();
    dir.join(format!("{hex}.offsets"))
}

impl Group {
    /// Loads the committed offsets at `path`, or starts at zero.
    pub fn load(path: PathBuf, partitions: u32) -> io::Result<Self> {
        let mut committed = vec![0u64; partitions as usize];
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for line in text.lines() {
                    let mut fields = line.split(' ');
                    let (Some(Ok(partition)), Some(Ok(offset))) = (
                        fields.next().map(str::parse::<usize>),
                        fields.next().map(str::parse::<u64>),
                    ) else {
                        continue;
                    };
                    if let Some(slot) = committed.get_mut(partition) {
                        *slot = offset;
                    }
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let state = GroupState {
            generation: 0,
            members: Vec::new(),
            committed,
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
            persist_lock: Mutex::new(()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn join(&self, member: u64) {
        let mut state = self.state();
        state.members.push(member);
        state.generation += 1;
    }

    /// Removes a member, handing its acknowledged positions to the group.
    pub fn leave(&self, member: u64, acked: &HashMap<u32, u64>) {
        self.record(acked);
        let mut state = self.state();
        state.members.retain(|m| *m != member);
        state.generation += 1;
    }

    /// The generation and the partitions `member` holds in it: partitions
    /// are dealt round-robin over the members in join order.
    pub fn assignment(&self, member: u64) -> (u64, Vec<u32>) {
        let state = self.state();
        let Some(index) = state.members.iter().position(|m| *m == member) else {
            return (state.generation, Vec::new());
        };
        let partitions = (0..state.committed.len() as u32)
            .filter(|partition| *partition as usize % state.members.len() == index)
            .collect();
        (state.generation, partitions)
    }

    pub fn committed(&self, partition: u32) -> u64 {
        self.state().committed.get(partition as usize).copied().unwrap_or(0)
    }

    /// Raises committed positions in memory (never lowers them); returns
    /// whether anything changed.
    pub fn record(&self, acked: &HashMap<u32, u64>) -> bool {
        let mut state = self.state();
        let mut changed = false;
        for (partition, offset) in acked {
            if let Some(slot) = state.committed.get_mut(*partition as usize)
                && *offset > *slot
            {
                *slot = *offset;
                changed = true;
            }
        }
        changed
    }

    /// Writes the committed offsets durably (blocking I/O).
    pub fn persist(&self) -> io::Result<()> {
        let _writing = self
            .persist_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text: String = self
            .state()
            .committed
            .iter()
            .enumerate()
            .map(|(partition, offset)| format!("{partition} {offset}\n"))
            .collect();
        let tmp = self.path.with_extension("offsets.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}
