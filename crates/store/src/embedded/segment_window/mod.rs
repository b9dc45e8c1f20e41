//! The embedded window, shaped like the window: events appended to one
//! segment file per expiry minute (one write and one fdatasync per
//! `put_events`), compact indexes in memory, expiry by dropping index
//! entries and then whole files. Reads find events in the indexes and read
//! them from the page cache; the windower's progress is in a log beside
//! the segments (`progress`). docs/embedded-storage.md says why this
//! replaced the B-tree tables.

mod index;
mod progress;
mod segments;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use causeway_model::ce_batch_view::EncodedEvent;
use causeway_model::{CausalEvent, CeId, EncodedEvents, EventRef, TraceId};
use foldhash::fast::RandomState;

use self::index::{Plan, TenantIndex};
pub use self::progress::Offsets;
use self::progress::ProgressLog;
use self::segments::{FRAME_HEADER, Loc, MAX_PAYLOAD, Segments, bucket_of, push_frame};
use super::codec;
use crate::api::{FailureRef, PartitionProgress, PeerCall, ServiceActivity, StoreError};

/// Each tenant's indexes, by tenant id (hashed once or twice per event
/// written, so not with SipHash).
type Tenants = HashMap<String, TenantIndex, RandomState>;

pub struct SegmentWindow {
    segments: Segments,
    progress: ProgressLog,
    tenants: RwLock<Tenants>,
    /// One writer at a time (writes and expiry), so the plan made under the
    /// read lock still holds when the indexes take it.
    write: Mutex<()>,
}

impl std::fmt::Debug for SegmentWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentWindow").finish_non_exhaustive()
    }
}

/// Indexes a stored event under its tenant, creating the tenant's index on
/// its first event (the id is copied only then).
fn index_event(tenants: &mut Tenants, plan: Plan, event: &EventRef<'_>, loc: Loc, expires_at: u64) {
    match tenants.get_mut(event.tenant_id) {
        Some(index) => index.apply(plan, event, loc, expires_at),
        None => tenants
            .entry(event.tenant_id.to_owned())
            .or_default()
            .insert(event, loc, expires_at),
    }
}

// The index locates every payload a segment can hold.
const _: () = assert!(MAX_PAYLOAD <= index::MAX_LEN as usize);

fn lock_error() -> StoreError {
    StoreError::Fatal("window index lock poisoned".to_owned())
}

impl SegmentWindow {
    /// Opens the window in `dir`, rebuilding the indexes from its segments;
    /// the windower's progress starts from `progress_seed` (what earlier
    /// versions kept in the database).
    pub fn open(dir: &Path, progress_seed: Offsets) -> Result<Self, StoreError> {
        let mut tenants = Tenants::default();
        let mut corrupt = 0u64;
        let segments = Segments::open(dir, |loc, payload| {
            let read = codec::event_expiry(payload).and_then(|expiry| Ok((expiry, codec::read_event(payload)?)));
            match read {
                // Events are written to their expiry's segment, and the
                // index finds them there: one found elsewhere was not
                // written by this store.
                Ok((expires_at, event)) if bucket_of(expires_at) == loc.bucket => {
                    index_event(&mut tenants, Plan::New(None), event.event(), loc, expires_at)
                }
                _ => corrupt += 1,
            }
        })?;
        if corrupt > 0 {
            tracing::warn!(
                records = corrupt,
                "window segments held records that do not decode; skipped"
            );
        }
        let progress = ProgressLog::open(dir, progress_seed)?;
        Ok(Self {
            segments,
            progress,
            tenants: RwLock::new(tenants),
            write: Mutex::new(()),
        })
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Tenants>, StoreError> {
        self.tenants.read().map_err(|_| lock_error())
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Tenants>, StoreError> {
        self.tenants.write().map_err(|_| lock_error())
    }

    /// Stores events durably, then indexes them. See
    /// [`crate::api::WindowStore::put_events`] for the idempotence rule.
    /// Each event's message is stored as it is in `events`.
    pub fn put_events(&self, events: &EncodedEvents, expires_at: u64) -> Result<(), StoreError> {
        let events: Vec<EncodedEvent<'_>> = events.iter().collect();
        let _writer = self.write.lock().map_err(|_| lock_error())?;
        let plans: Vec<Plan> = {
            let tenants = self.read()?;
            let mut seen: HashSet<(&str, TraceId, CeId), RandomState> =
                HashSet::with_capacity_and_hasher(events.len(), RandomState::default());
            events
                .iter()
                .map(|encoded| {
                    let event = encoded.event();
                    if !seen.insert((event.tenant_id, event.trace_id, event.ce_id)) {
                        return Plan::Skip;
                    }
                    tenants.get(event.tenant_id).map_or(Plan::New(None), |index| {
                        index.plan(event.trace_id, event.ce_id, expires_at)
                    })
                })
                .collect()
        };
        if let Some(long) = events.iter().find(|encoded| 8 + encoded.message().len() > MAX_PAYLOAD) {
            return Err(StoreError::Fatal(format!(
                "an event of {} bytes is over the window's limit of {MAX_PAYLOAD} bytes a record",
                long.message().len()
            )));
        }
        let size: usize = events
            .iter()
            .map(|encoded| FRAME_HEADER + 8 + encoded.message().len())
            .sum();
        let mut framed = Vec::with_capacity(size);
        // Payload offsets within `framed`, per event written.
        let mut written: Vec<(usize, u64, u32)> = Vec::with_capacity(events.len());
        for (at, (encoded, plan)) in events.iter().zip(&plans).enumerate() {
            let offset = (framed.len() + FRAME_HEADER) as u64;
            match plan {
                Plan::Skip => continue,
                Plan::New(_) => push_frame(&mut framed, &[&expires_at.to_be_bytes(), encoded.message()]),
                Plan::Extend(loc, _) => match self.segments.read(*loc)? {
                    Some(mut stored) if stored.len() >= 8 => {
                        stored[..8].copy_from_slice(&expires_at.to_be_bytes());
                        push_frame(&mut framed, &[&stored]);
                    }
                    // Its segment expired meanwhile: it is new again.
                    _ => push_frame(&mut framed, &[&expires_at.to_be_bytes(), encoded.message()]),
                },
            }
            let len = framed.len() as u64 - offset;
            written.push((at, offset, len as u32));
        }
        if written.is_empty() {
            return Ok(());
        }
        let bucket = bucket_of(expires_at);
        let base = self.segments.append(bucket, &framed)?;
        let mut tenants = self.write()?;
        for (at, offset, len) in written {
            let loc = Loc {
                bucket,
                offset: base + offset,
                len,
            };
            index_event(&mut tenants, plans[at], events[at].event(), loc, expires_at);
        }
        Ok(())
    }

    /// Reads and decodes stored events; those whose segment expired since
    /// the indexes were read are left out.
    fn load(&self, locs: Vec<Loc>) -> Result<Vec<CausalEvent>, StoreError> {
        let mut slots: Vec<Option<CausalEvent>> = vec![None; locs.len()];
        self.segments.read_many(&locs, |at, payload| {
            slots[at] = Some(codec::decode_event(payload)?);
            Ok(())
        })?;
        Ok(slots.into_iter().flatten().collect())
    }

    fn with_tenant<T: Default>(&self, tenant_id: &str, read: impl FnOnce(&TenantIndex) -> T) -> Result<T, StoreError> {
        Ok(self.read()?.get(tenant_id).map(read).unwrap_or_default())
    }

    pub fn trace_events(&self, tenant_id: &str, trace: TraceId, limit: usize) -> Result<Vec<CausalEvent>, StoreError> {
        let locs = self.with_tenant(tenant_id, |index| index.trace(trace, limit))?;
        self.load(locs)
    }

    pub fn service_traces(
        &self,
        tenant_id: &str,
        service: &str,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        self.with_tenant(tenant_id, |index| index.service_traces(service, from, to, limit))
    }

    pub fn failures(
        &self,
        tenant_id: &str,
        from_end: u64,
        to_end: u64,
        limit: usize,
    ) -> Result<Vec<FailureRef>, StoreError> {
        self.with_tenant(tenant_id, |index| index.failures(from_end, to_end, limit))
    }

    pub fn service_activity(
        &self,
        tenant_id: &str,
        from_second: u64,
        to_second: u64,
    ) -> Result<Vec<ServiceActivity>, StoreError> {
        self.with_tenant(tenant_id, |index| index.activity(from_second, to_second))
    }

    pub fn window_events(
        &self,
        tenant_id: &str,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        let locs = self.with_tenant(tenant_id, |index| index.latest(from, to, limit))?;
        self.load(locs)
    }

    pub fn peer_calls(
        &self,
        tenant_id: &str,
        peer: &str,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<PeerCall>, StoreError> {
        self.with_tenant(tenant_id, |index| index.peer_calls(peer, from, to, limit))
    }

    /// Raises the windower's recorded progress, durably.
    pub fn put_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        self.progress.put(topic, progress)
    }

    pub fn progress(&self, topic: &str) -> Vec<PartitionProgress> {
        self.progress.get(topic)
    }

    fn expire_indexes(&self, now: u64) -> Result<u64, StoreError> {
        let mut tenants = self.write()?;
        let removed = tenants.values_mut().map(|index| index.expire(now)).sum();
        tenants.retain(|_, index| !index.is_empty());
        Ok(removed)
    }

    /// Drops every event that expired at or before `now`, then the segments
    /// holding nothing else; returns how many events went.
    pub fn expire(&self, now: u64) -> Result<u64, StoreError> {
        let _writer = self.write.lock().map_err(|_| lock_error())?;
        let removed = self.expire_indexes(now)?;
        self.segments.expire_through(now)?;
        Ok(removed)
    }
}
