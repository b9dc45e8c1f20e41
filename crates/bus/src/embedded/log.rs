//! One partition's log: numbered segment files of frames, the in-memory
//! position of every durable record, recovery of torn tails on open, and
//! the choice of whole segments retention may delete.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::embedded::frame;

/// One segment file; its name is the offset of its first record.
pub struct Segment {
    pub base: u64,
    pub path: PathBuf,
    /// Read handle shared with readers, so a reader keeps working on a
    /// segment that retention unlinks meanwhile.
    pub file: Arc<File>,
    /// Byte position of each durable record.
    pub positions: Vec<u32>,
    /// Durable length in bytes: readers never read past it.
    pub len: u64,
}

impl Segment {
    pub fn end_offset(&self) -> u64 {
        self.base + self.positions.len() as u64
    }
}

/// Where a read of consecutive records finds its bytes.
pub struct ReadPlan {
    pub file: Arc<File>,
    pub first_offset: u64,
    pub count: usize,
    pub byte_start: u64,
    pub byte_end: u64,
}

impl ReadPlan {
    /// Reads and decodes the planned records (blocking I/O).
    pub fn read(&self) -> io::Result<Vec<(u64, crate::api::Record)>> {
        let mut bytes = vec![0u8; (self.byte_end - self.byte_start) as usize];
        self.file.read_exact_at(&mut bytes, self.byte_start)?;
        // One block shared by the records read from it.
        let bytes = Bytes::from(bytes);
        let mut out = Vec::with_capacity(self.count);
        let mut at = 0;
        while at < bytes.len() && out.len() < self.count {
            let Some((len, record)) = frame::decode(&bytes, at) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "corrupt frame in a durable segment",
                ));
            };
            out.push((self.first_offset + out.len() as u64, record));
            at += len;
        }
        Ok(out)
    }
}

pub struct PartitionLog {
    pub dir: PathBuf,
    pub segments: Vec<Segment>,
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

impl PartitionLog {
    /// Opens (or creates) the partition directory, scanning every segment
    /// and truncating a torn tail left by a crash.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut bases: Vec<u64> = std::fs::read_dir(dir)?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
            .collect();
        bases.sort_unstable();
        let mut log = Self {
            dir: dir.to_owned(),
            segments: Vec::new(),
        };
        for base in bases {
            log.segments.push(recover_segment(&segment_path(dir, base), base)?);
        }
        if log.segments.is_empty() {
            log.create_segment(0)?;
        }
        Ok(log)
    }

    /// Creates an empty segment starting at `base` and makes it the last.
    pub fn create_segment(&mut self, base: u64) -> io::Result<()> {
        let path = segment_path(&self.dir, base);
        OpenOptions::new().create(true).append(true).open(&path)?.sync_all()?;
        File::open(&self.dir)?.sync_all()?;
        let file = Arc::new(File::open(&path)?);
        self.segments.push(Segment {
            base,
            path,
            file,
            positions: Vec::new(),
            len: 0,
        });
        Ok(())
    }

    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }

    pub fn end_offset(&self) -> u64 {
        self.segments.last().map_or(0, Segment::end_offset)
    }

    pub fn total_bytes(&self) -> u64 {
        self.segments.iter().map(|segment| segment.len).sum()
    }

    /// Records that `lens` frames were appended durably to the last segment.
    pub fn commit_append(&mut self, lens: &[u32]) {
        let Some(last) = self.segments.last_mut() else {
            return;
        };
        for len in lens {
            last.positions.push(last.len as u32);
            last.len += u64::from(*len);
        }
    }

    /// Up to `max` records from offset `from`, within one segment. Offsets
    /// no longer kept (deleted by retention) are skipped to the first kept.
    pub fn plan_read(&self, from: u64, max: usize) -> Option<ReadPlan> {
        let segment = self.segments.iter().find(|segment| segment.end_offset() > from)?;
        let first_offset = from.max(segment.base);
        let index = (first_offset - segment.base) as usize;
        let count = max.min(segment.positions.len() - index);
        if count == 0 {
            return None;
        }
        let byte_end = segment
            .positions
            .get(index + count)
            .map_or(segment.len, |pos| u64::from(*pos));
        Some(ReadPlan {
            file: Arc::clone(&segment.file),
            first_offset,
            count,
            byte_start: u64::from(segment.positions[index]),
            byte_end,
        })
    }

    /// Removes from the index the oldest segments retention allows to go:
    /// fully committed by every group (`committed_min`) and unmodified for
    /// `age`, or any while the partition is over `max_bytes`. The last
    /// segment always stays. Returns the files to delete.
    pub fn take_expired(&mut self, committed_min: u64, age: Duration, max_bytes: u64) -> Vec<PathBuf> {
        let now = SystemTime::now();
        let mut removed = Vec::new();
        while self.segments.len() > 1 {
            let first = &self.segments[0];
            let old_enough = std::fs::metadata(&first.path)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| modified + age <= now);
            let consumed = committed_min >= first.end_offset();
            let over_size = self.total_bytes() > max_bytes;
            let retire = over_size || (consumed && old_enough);
            if !retire {
                break;
            }
            if over_size && !consumed {
                tracing::warn!(
                    segment = %first.path.display(),
                    "bus partition over its size limit, deleting a segment not yet consumed by every group"
                );
            }
            removed.push(self.segments.remove(0).path);
        }
        removed
    }
}

/// Scans one segment, truncating it after the last whole, CRC-valid frame.
fn recover_segment(path: &Path, base: u64) -> io::Result<Segment> {
    let bytes = std::fs::read(path)?;
    let mut positions = Vec::new();
    let mut at = 0usize;
    while let Some(len) = frame::frame_len(&bytes[at..]) {
        positions.push(at as u32);
        at += len;
    }
    if at < bytes.len() {
        tracing::warn!(
            segment = %path.display(),
            kept_bytes = at,
            dropped_bytes = bytes.len() - at,
            "bus segment has a torn or corrupt tail, truncating it"
        );
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(at as u64)?;
        file.sync_all()?;
    }
    let file = Arc::new(File::open(path)?);
    Ok(Segment {
        base,
        path: path.to_owned(),
        file,
        positions,
        len: at as u64,
    })
}
