//! The window's files: one append-only segment per expiry bucket, so expiry
//! deletes whole files and never rewrites one. A record is a frame
//! `len:u32le crc32:u32le payload` whose payload is the stored event
//! (`expires_at:u64be` + the model's protobuf, as `codec` encodes it); a
//! frame cut short or failing its CRC is a torn write and ends the file.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::api::StoreError;

/// Width of one expiry bucket: every event expiring within the same minute
/// shares a file, deleted once the minute has passed.
pub const BUCKET_NS: u64 = 60_000_000_000;
/// Bytes before a frame's payload.
pub const FRAME_HEADER: usize = 8;
/// The largest payload a frame may announce: far above any event (the
/// model's limits keep them to kilobytes), low enough that a corrupt length
/// is not taken for a record.
pub const MAX_PAYLOAD: usize = 16 << 20;
const SUFFIX: &str = ".seg";
/// Reads of events close together in a segment are joined when the bytes
/// between them are at most this (reading past a few frames is cheaper
/// than another system call) and the whole read stays within
/// `MAX_READ_SPAN`.
const MAX_READ_GAP: u64 = 4096;
const MAX_READ_SPAN: u64 = 1 << 20;
/// The highest `now` an expiry pass ran with, so a restart does not bring
/// back events already expired from a file that had to stay.
const WATERMARK_FILE: &str = "expired-through";

/// Where one stored event is: its bucket's file, the payload's offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub bucket: u64,
    pub offset: u64,
    pub len: u32,
}

struct Segment {
    file: Arc<File>,
    len: u64,
}

pub struct Segments {
    dir: PathBuf,
    files: Mutex<BTreeMap<u64, Segment>>,
    /// The highest `now` expiry ran with, as in `WATERMARK_FILE`.
    expired_through: AtomicU64,
}

pub fn bucket_of(expires_at: u64) -> u64 {
    expires_at / BUCKET_NS
}

/// The last expiry a bucket holds: the bucket's file can go once expiry has
/// passed it.
fn bucket_last(bucket: u64) -> u64 {
    bucket.saturating_mul(BUCKET_NS).saturating_add(BUCKET_NS - 1)
}

fn io_error(context: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("window segments: {context}: {err}"))
}

/// Appends a frame to `out` whose payload is `parts` back to back (a
/// stored event is its expiry and its message, joined only here).
pub fn push_frame(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let mut crc = crc32fast::Hasher::new();
    for part in parts {
        crc.update(part);
    }
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// Opens `path` to read and append, creating it when `create`.
pub fn open_append(path: &Path, create: bool) -> io::Result<File> {
    OpenOptions::new().read(true).append(true).create(create).open(path)
}

/// Makes `dir`'s entries durable: a new or renamed file's name must
/// survive a crash as well as its contents.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|dir| dir.sync_all())
}

/// Appends `bytes` to `file`, `len` bytes long, and makes them durable,
/// moving `len` past them. A failed append is cut off again, so the file
/// never keeps part of one.
pub fn append_durably(file: &File, len: &mut u64, bytes: &[u8]) -> io::Result<()> {
    let mut writer = file;
    if let Err(err) = writer.write_all(bytes).and_then(|()| file.sync_data()) {
        let _ = file.set_len(*len);
        return Err(err);
    }
    *len += bytes.len() as u64;
    Ok(())
}

impl Segments {
    /// Opens the directory (creating it) and hands every intact record
    /// that expires after the last expiry pass to `visit`, cutting torn
    /// tails: what an expiry pass removed stays removed.
    pub fn open(dir: &Path, mut visit: impl FnMut(Loc, &[u8])) -> Result<Self, StoreError> {
        let watermark = read_watermark(dir)?;
        let mut files = BTreeMap::new();
        for entry in fs::read_dir(dir).map_err(|err| io_error("listing", err))? {
            let path = entry.map_err(|err| io_error("listing", err))?.path();
            let Some(bucket) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(SUFFIX))
                .and_then(|stem| stem.parse::<u64>().ok())
            else {
                continue;
            };
            if bucket_last(bucket) <= watermark {
                fs::remove_file(&path).map_err(|err| io_error("deleting an expired segment", err))?;
                continue;
            }
            let file = open_append(&path, false).map_err(|err| io_error("opening a segment", err))?;
            let len = replay(&file, bucket, &mut |loc, payload: &[u8]| {
                let expired = payload
                    .first_chunk::<8>()
                    .is_some_and(|expiry| u64::from_be_bytes(*expiry) <= watermark);
                if !expired {
                    visit(loc, payload);
                }
            })?;
            files.insert(
                bucket,
                Segment {
                    file: Arc::new(file),
                    len,
                },
            );
        }
        Ok(Self {
            dir: dir.to_owned(),
            files: Mutex::new(files),
            expired_through: AtomicU64::new(watermark),
        })
    }

    fn path(&self, bucket: u64) -> PathBuf {
        self.dir.join(format!("{bucket:020}{SUFFIX}"))
    }

    fn files(&self) -> MutexGuard<'_, BTreeMap<u64, Segment>> {
        // A panic elsewhere while holding the lock leaves the map whole: each
        // change to it is one insert or remove.
        self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends framed records to `bucket`'s segment and makes them durable;
    /// returns the offset the bytes start at. A failed write is cut off again.
    pub fn append(&self, bucket: u64, framed: &[u8]) -> Result<u64, StoreError> {
        let mut files = self.files();
        let segment = match files.entry(bucket) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let file = open_append(&self.path(bucket), true).map_err(|err| io_error("creating a segment", err))?;
                sync_dir(&self.dir).map_err(|err| io_error("syncing the directory", err))?;
                entry.insert(Segment {
                    file: Arc::new(file),
                    len: 0,
                })
            }
        };
        let start = segment.len;
        append_durably(&segment.file, &mut segment.len, framed).map_err(|err| io_error("appending", err))?;
        Ok(start)
    }

    /// The stored payload at `loc`; `None` when its segment was deleted
    /// meanwhile (it expired).
    pub fn read(&self, loc: Loc) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(file) = self.files().get(&loc.bucket).map(|segment| Arc::clone(&segment.file)) else {
            return Ok(None);
        };
        let mut payload = vec![0u8; loc.len as usize];
        file.read_exact_at(&mut payload, loc.offset)
            .map_err(|err| io_error("reading an event", err))?;
        Ok(Some(payload))
    }

    /// Reads the payloads at `locs`, handing each to `visit` with its index
    /// in `locs`; payloads near each other in one segment (a batch is
    /// written contiguously) come in one positioned read. Those whose
    /// segment was deleted meanwhile (expired) are not visited.
    pub fn read_many(
        &self,
        locs: &[Loc],
        mut visit: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut order: Vec<usize> = (0..locs.len()).collect();
        order.sort_unstable_by_key(|&at| (locs[at].bucket, locs[at].offset));
        let mut buffer = Vec::new();
        let mut next = 0;
        while next < order.len() {
            let first = locs[order[next]];
            let mut end = next + 1;
            let mut span_end = first.offset + u64::from(first.len);
            while let Some(&at) = order.get(end) {
                let loc = locs[at];
                let joins = loc.bucket == first.bucket
                    && loc.offset >= span_end
                    && loc.offset - span_end <= MAX_READ_GAP
                    && loc.offset + u64::from(loc.len) - first.offset <= MAX_READ_SPAN;
                if !joins {
                    break;
                }
                span_end = loc.offset + u64::from(loc.len);
                end += 1;
            }
            let file = self.files().get(&first.bucket).map(|segment| Arc::clone(&segment.file));
            if let Some(file) = file {
                buffer.resize((span_end - first.offset) as usize, 0);
                file.read_exact_at(&mut buffer, first.offset)
                    .map_err(|err| io_error("reading events", err))?;
                for &at in &order[next..end] {
                    let loc = locs[at];
                    let from = (loc.offset - first.offset) as usize;
                    let payload = buffer
                        .get(from..from + loc.len as usize)
                        .ok_or_else(|| io_error("reading events", "location out of range"))?;
                    visit(at, payload)?;
                }
            }
            next = end;
        }
        Ok(())
    }

    /// Records that expiry ran through `now` and deletes every segment all
    /// of whose events have expired by then.
    pub fn expire_through(&self, now: u64) -> Result<(), StoreError> {
        if self.expired_through.fetch_max(now, Ordering::Relaxed) < now {
            write_watermark(&self.dir, now)?;
        }
        let mut files = self.files();
        let due: Vec<u64> = files
            .keys()
            .copied()
            .take_while(|bucket| bucket_last(*bucket) <= now)
            .collect();
        for bucket in due {
            files.remove(&bucket);
            fs::remove_file(self.path(bucket)).map_err(|err| io_error("deleting an expired segment", err))?;
        }
        Ok(())
    }
}

/// Reads every intact frame of a segment into `visit` and cuts the file
/// after the last one; returns the intact length.
pub fn replay(file: &File, bucket: u64, visit: &mut impl FnMut(Loc, &[u8])) -> Result<u64, StoreError> {
    let total = file.metadata().map_err(|err| io_error("reading a segment", err))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; FRAME_HEADER];
        if total - offset < FRAME_HEADER as u64 || reader.read_exact(&mut header).is_err() {
            break;
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let fits = (len as u64) <= total - offset - FRAME_HEADER as u64;
        if len > MAX_PAYLOAD || !fits {
            break;
        }
        payload.resize(len, 0);
        if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
            break;
        }
        let loc = Loc {
            bucket,
            offset: offset + FRAME_HEADER as u64,
            len: len as u32,
        };
        visit(loc, &payload);
        offset += (FRAME_HEADER + len) as u64;
    }
    if offset < total {
        tracing::warn!(
            bucket,
            kept = offset,
            dropped = total - offset,
            "a window file had a torn tail; cut"
        );
        file.set_len(offset)
            .map_err(|err| io_error("cutting a torn tail", err))?;
    }
    Ok(offset)
}

/// The highest `now` expiry ran with in `dir` (0 before the first pass),
/// creating the directory.
fn read_watermark(dir: &Path) -> Result<u64, StoreError> {
    fs::create_dir_all(dir).map_err(|err| io_error("creating the directory", err))?;
    match fs::read(dir.join(WATERMARK_FILE)) {
        Ok(bytes) => Ok(<[u8; 8]>::try_from(bytes.as_slice()).map_or(0, u64::from_be_bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(err) => Err(io_error("reading the expiry watermark", err)),
    }
}

/// Records a higher watermark (the caller never passes a lower one).
/// Written by rename; not fsync'd: losing it only lets a restart show
/// already-expired events until the next expiry pass.
fn write_watermark(dir: &Path, now: u64) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{WATERMARK_FILE}.tmp"));
    fs::write(&tmp, now.to_be_bytes()).map_err(|err| io_error("writing the expiry watermark", err))?;
    fs::rename(&tmp, dir.join(WATERMARK_FILE)).map_err(|err| io_error("writing the expiry watermark", err))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends each payload as its own frame to `bucket`; returns their locations.
    fn append_each(segments: &Segments, bucket: u64, payloads: &[Vec<u8>]) -> Vec<Loc> {
        payloads
            .iter()
            .map(|payload| {
                let mut framed = Vec::new();
                push_frame(&mut framed, &[payload]);
                let offset = segments.append(bucket, &framed).expect("append");
                Loc {
                    bucket,
                    offset: offset + FRAME_HEADER as u64,
                    len: payload.len() as u32,
                }
            })
            .collect()
    }

    #[test]
    fn read_many_returns_each_payload_at_its_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let segments = Segments::open(dir.path(), |_, _| {}).expect("open");
        let payloads: Vec<Vec<u8>> = (0..40u8).map(|n| vec![n; 10 + usize::from(n) * 300]).collect();
        let mut locs = append_each(&segments, 3, &payloads[..20]);
        locs.extend(append_each(&segments, 7, &payloads[20..]));
        // Out of order, across both buckets, with gaps both under and over
        // the joining limit.
        let wanted: Vec<usize> = vec![39, 0, 2, 1, 25, 19, 20, 5, 30];
        let asked: Vec<Loc> = wanted.iter().map(|&n| locs[n]).collect();
        let mut got: Vec<Option<Vec<u8>>> = vec![None; asked.len()];
        segments
            .read_many(&asked, |at, payload| {
                got[at] = Some(payload.to_vec());
                Ok(())
            })
            .expect("read");
        for (slot, &n) in got.iter().zip(&wanted) {
            assert_eq!(slot.as_deref(), Some(payloads[n].as_slice()), "payload {n}");
        }
        segments.expire_through(bucket_last(3)).expect("expire");
        let mut seen = Vec::new();
        segments
            .read_many(&asked, |at, _| {
                seen.push(wanted[at]);
                Ok(())
            })
            .expect("read");
        seen.sort_unstable();
        assert_eq!(seen, vec![20, 25, 30, 39], "the expired segment's events are gone");
    }
}
