//! The single writer thread with group commit: it takes every append request
//! waiting, writes them partition by partition, fsyncs each touched segment
//! once, then publishes the new records to readers and answers every caller.
//! Concurrent publishers therefore share one fsync per partition.
//!
//! It reports to [`WriterHealth`]: a failed append makes it failing until an
//! append, or a probe (reopen and fsync of every partition that failed),
//! succeeds.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, oneshot};

use crate::api::BusError;
use crate::embedded::health::WriterHealth;
use crate::embedded::options::EmbeddedBusOptions;
use crate::embedded::topic::Topic;

/// Records of one publish call for one partition, already framed.
pub struct PartitionAppend {
    pub partition: u32,
    pub bytes: Vec<u8>,
    pub frame_lens: Vec<u32>,
}

pub struct AppendRequest {
    pub topic: Arc<Topic>,
    pub appends: Vec<PartitionAppend>,
    pub reply: oneshot::Sender<Result<(), BusError>>,
    /// The request's bytes of the in-flight budget, given back just before
    /// the request is answered.
    pub budget: OwnedSemaphorePermit,
}

/// What the writer thread is asked to do.
pub enum WriterRequest {
    Append(AppendRequest),
    /// Answers whether every partition whose append failed can be opened
    /// and fsync'd again.
    Probe(oneshot::Sender<bool>),
}

/// How many queued requests one group commit takes at most.
const MAX_REQUESTS_PER_COMMIT: usize = 4096;

/// One partition's share of a group commit.
struct Pending {
    topic: Arc<Topic>,
    /// The frames of every request, concatenated in arrival order.
    bytes: Vec<u8>,
    frame_lens: Vec<u32>,
    /// Indexes (in the batch) of the requests the frames came from.
    owners: Vec<usize>,
}

/// Partitions whose last append failed, with their topic.
type Failed = BTreeMap<(Arc<str>, u32), Arc<Topic>>;

struct ActiveFile {
    base: u64,
    file: File,
}

pub fn run(requests: &Receiver<WriterRequest>, options: &EmbeddedBusOptions, health: &WriterHealth) {
    let mut active: BTreeMap<(Arc<str>, u32), ActiveFile> = BTreeMap::new();
    let mut topics_touched: BTreeMap<Arc<str>, Arc<Topic>> = BTreeMap::new();
    let mut failed: Failed = BTreeMap::new();
    let mut last_retention = Instant::now();
    loop {
        // Retention also runs while nothing is published, so what the
        // groups commit after the last publish does not stay on disk.
        let first = match requests.recv_timeout(options.retention_interval) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => {
                retire(&mut topics_touched, options, &mut last_retention);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                WriterRequest::Append(append) => batch.push(append),
                WriterRequest::Probe(reply) => {
                    let _ = reply.send(probe(&mut failed, &mut active, health));
                }
            }
            if batch.len() < MAX_REQUESTS_PER_COMMIT {
                next = requests.try_recv().ok();
            }
        }
        if batch.is_empty() {
            continue;
        }
        // Concatenate, per partition, in arrival order.
        let mut per_partition: BTreeMap<(Arc<str>, u32), Pending> = BTreeMap::new();
        for (index, request) in batch.iter_mut().enumerate() {
            for append in request.appends.drain(..) {
                let entry = per_partition
                    .entry((request.topic.name.clone(), append.partition))
                    .or_insert_with(|| Pending {
                        topic: Arc::clone(&request.topic),
                        bytes: Vec::new(),
                        frame_lens: Vec::new(),
                        owners: Vec::new(),
                    });
                entry.bytes.extend_from_slice(&append.bytes);
                entry.frame_lens.extend_from_slice(&append.frame_lens);
                entry.owners.push(index);
            }
        }
        let mut outcomes: Vec<Option<String>> = vec![None; batch.len()];
        let mut rolled = false;
        let mut touched_now: BTreeMap<Arc<str>, Arc<Topic>> = BTreeMap::new();
        for ((name, partition), pending) in per_partition {
            let Pending {
                topic,
                bytes,
                frame_lens,
                owners,
            } = pending;
            match append(&topic, partition, &bytes, &frame_lens, &mut active, options) {
                Ok(did_roll) => {
                    rolled |= did_roll;
                    failed.remove(&(name.clone(), partition));
                }
                Err(err) => {
                    tracing::error!(topic = %name, partition, error = %err, "bus append failed");
                    for owner in owners {
                        outcomes[owner] = Some(err.to_string());
                    }
                    failed.insert((name.clone(), partition), Arc::clone(&topic));
                }
            }
            touched_now.entry(name).or_insert(topic);
        }
        match outcomes.iter().flatten().next() {
            Some(err) => health.failing(format!("append failed: {err}")),
            None if failed.is_empty() => health.serving(),
            None => {}
        }
        for (name, topic) in touched_now {
            topic.appended.notify_waiters();
            topics_touched.entry(name).or_insert(topic);
        }
        for (request, failure) in batch.into_iter().zip(outcomes) {
            let result = failure.map_or(Ok(()), |err| {
                Err(BusError::Unavailable(format!("append failed: {err}")))
            });
            let AppendRequest { reply, budget, .. } = request;
            // Given back before the answer, so a caller that publishes again
            // at once finds its bytes free.
            drop(budget);
            // A caller that gave up waiting is fine: its records are durable.
            let _ = reply.send(result);
        }
        if rolled || last_retention.elapsed() >= options.retention_interval {
            retire(&mut topics_touched, options, &mut last_retention);
        }
    }
}

/// A retention pass over the topics written since they were opened, noted
/// in `last`; a topic dropped everywhere else is forgotten.
fn retire(topics_touched: &mut BTreeMap<Arc<str>, Arc<Topic>>, options: &EmbeddedBusOptions, last: &mut Instant) {
    for topic in topics_touched.values() {
        apply_retention(topic, options);
    }
    topics_touched.retain(|_, topic| Arc::strong_count(topic) > 1);
    *last = Instant::now();
}

/// Appends framed records to the partition's last segment (rolling to a new
/// one when full) and fsyncs; returns whether a segment rolled.
fn append(
    topic: &Topic,
    partition: u32,
    bytes: &[u8],
    lens: &[u32],
    active: &mut BTreeMap<(Arc<str>, u32), ActiveFile>,
    options: &EmbeddedBusOptions,
) -> io::Result<bool> {
    let (base, path, old_len, rolled) = {
        let mut log = topic.log(partition);
        let mut rolled = false;
        let Some(last) = log.last() else {
            return Err(io::Error::other("partition has no segment"));
        };
        if last.len > 0 && last.len + bytes.len() as u64 > options.segment_bytes {
            let next_base = log.end_offset();
            log.create_segment(next_base)?;
            rolled = true;
        }
        let Some(last) = log.last() else {
            return Err(io::Error::other("partition has no segment"));
        };
        (last.base, last.path.clone(), last.len, rolled)
    };
    let key = (topic.name.clone(), partition);
    if active.get(&key).is_none_or(|file| file.base != base) {
        let file = OpenOptions::new().append(true).open(&path)?;
        active.insert(key.clone(), ActiveFile { base, file });
    }
    let Some(file) = active.get_mut(&key) else {
        return Err(io::Error::other("active segment missing"));
    };
    let written = file.file.write_all(bytes).and_then(|()| file.file.sync_data());
    if let Err(err) = written {
        // Cut what may have reached the file so the next append starts on a
        // frame boundary; recovery on open would cut it anyway.
        let _ = file.file.set_len(old_len);
        active.remove(&key);
        return Err(err);
    }
    topic.log(partition).commit_append(lens);
    Ok(rolled)
}

/// Whether every partition whose append failed can be written again: its
/// last segment reopens for appending and fsyncs. Success clears them and
/// makes the writer serving.
fn probe(failed: &mut Failed, active: &mut BTreeMap<(Arc<str>, u32), ActiveFile>, health: &WriterHealth) -> bool {
    for ((name, partition), topic) in failed.iter() {
        let path = topic.log(*partition).last().map(|segment| segment.path.clone());
        let reopened = path
            .ok_or_else(|| io::Error::other("partition has no segment"))
            .and_then(|path| OpenOptions::new().append(true).open(path))
            .and_then(|file| file.sync_data());
        if let Err(err) = reopened {
            tracing::debug!(topic = %name, partition, error = %err, "bus writer probe failed");
            return false;
        }
        active.remove(&(name.clone(), *partition));
    }
    failed.clear();
    health.serving();
    true
}

fn apply_retention(topic: &Topic, options: &EmbeddedBusOptions) {
    for partition in 0..topic.partition_count() {
        let committed_min = topic.committed_min(partition);
        let removed =
            topic
                .log(partition)
                .take_expired(committed_min, options.retention, options.retain_bytes_per_partition);
        for path in removed {
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(segment = %path.display(), error = %err, "bus could not delete a retired segment");
            }
        }
    }
}
