//! The window's in-memory indexes, per tenant: events by `(trace, ce)`
//! (where each is stored, when it expires), by start time, by service and
//! start, failures by completion time, per-second activity per service and
//! expiry order. Rebuilt from the segments at open; nothing here is durable.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use causeway_model::{CausalEvent, CeId, TraceId};

use super::segments::Loc;
use crate::api::{FailureRef, ServiceActivity};

pub const MIN_TRACE: TraceId = TraceId([0; 16]);
pub const MAX_TRACE: TraceId = TraceId([0xff; 16]);
pub const MIN_CE: CeId = CeId([0; 16]);
pub const MAX_CE: CeId = CeId([0xff; 16]);

type Key = (TraceId, CeId);

/// What the indexes keep of one stored event.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub loc: Loc,
    pub expires_at: u64,
    start: u64,
    end: u64,
    service: u32,
    failed: bool,
}

/// One `(second, service)` counter: the events stored that started in that
/// second, so it falls as they expire.
#[derive(Debug, Default)]
struct Activity {
    events: u64,
    /// Completion times of its non-success events, ascending (a multiset).
    failure_ends: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct TenantIndex {
    services: Vec<String>,
    service_ids: HashMap<String, u32>,
    events: BTreeMap<Key, Meta>,
    by_time: BTreeSet<(u64, TraceId, CeId)>,
    by_service: BTreeSet<(u32, u64, TraceId, CeId)>,
    failures: BTreeSet<(u64, TraceId, CeId)>,
    activity: BTreeMap<(u64, u32), Activity>,
    /// Per expiry time, the events written with it: a batch shares one
    /// expiry, so this is one list append per event rather than a tree
    /// insert. An event whose expiry moved later is in two lists; the
    /// earlier one is recognised as stale (it no longer matches) and skipped.
    expiry: BTreeMap<u64, Vec<Key>>,
}

/// What a write must do for one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Not stored: write it.
    New,
    /// Stored with an earlier expiry: write its stored bytes again under
    /// the later expiry (the first content stays).
    Extend(Loc),
    /// Stored with this expiry or a later one: nothing to do.
    Skip,
}

impl TenantIndex {
    pub fn plan(&self, trace: TraceId, ce: CeId, expires_at: u64) -> Plan {
        match self.events.get(&(trace, ce)) {
            None => Plan::New,
            Some(meta) if meta.expires_at < expires_at => Plan::Extend(meta.loc),
            Some(_) => Plan::Skip,
        }
    }

    fn service_id(&mut self, service: &str) -> u32 {
        if let Some(id) = self.service_ids.get(service) {
            return *id;
        }
        let id = self.services.len() as u32;
        self.services.push(service.to_owned());
        self.service_ids.insert(service.to_owned(), id);
        id
    }

    /// Indexes a stored copy of `event`. A copy of an event already indexed
    /// only moves its expiry (and location) later; it is never counted twice.
    pub fn insert(&mut self, event: &CausalEvent, loc: Loc, expires_at: u64) {
        let key = (event.trace_id, event.ce_id);
        if let Some(meta) = self.events.get_mut(&key) {
            if meta.expires_at < expires_at {
                self.expiry.entry(expires_at).or_default().push(key);
                meta.expires_at = expires_at;
                meta.loc = loc;
            }
            return;
        }
        let service = self.service_id(&event.service);
        let meta = Meta {
            loc,
            expires_at,
            start: event.start_unix_ns,
            end: event.end_unix_ns(),
            service,
            failed: event.is_non_success(),
        };
        self.events.insert(key, meta);
        self.by_time.insert((meta.start, key.0, key.1));
        self.by_service.insert((service, meta.start, key.0, key.1));
        self.expiry.entry(expires_at).or_default().push(key);
        let counter = self.activity.entry((meta.start / 1_000_000_000, service)).or_default();
        counter.events += 1;
        if meta.failed {
            self.failures.insert((meta.end, key.0, key.1));
            let at = counter.failure_ends.partition_point(|end| *end < meta.end);
            counter.failure_ends.insert(at, meta.end);
        }
    }

    /// Removes every event that expired at or before `now`; returns how many.
    pub fn expire(&mut self, now: u64) -> u64 {
        let due = match now.checked_add(1) {
            Some(after) => {
                let later = self.expiry.split_off(&after);
                std::mem::replace(&mut self.expiry, later)
            }
            None => std::mem::take(&mut self.expiry),
        };
        let mut removed = 0;
        for (expires_at, keys) in due {
            for key in keys {
                // A stale entry: the event's expiry moved later.
                if self.events.get(&key).is_none_or(|meta| meta.expires_at != expires_at) {
                    continue;
                }
                if let Some(meta) = self.events.remove(&key) {
                    self.remove_indexes(key, &meta);
                    removed += 1;
                }
            }
        }
        removed
    }

    fn remove_indexes(&mut self, key: Key, meta: &Meta) {
        self.by_time.remove(&(meta.start, key.0, key.1));
        self.by_service.remove(&(meta.service, meta.start, key.0, key.1));
        let slot = (meta.start / 1_000_000_000, meta.service);
        if let Some(counter) = self.activity.get_mut(&slot) {
            counter.events = counter.events.saturating_sub(1);
            if meta.failed {
                self.failures.remove(&(meta.end, key.0, key.1));
                if let Ok(at) = counter.failure_ends.binary_search(&meta.end) {
                    counter.failure_ends.remove(at);
                }
            }
            if counter.events == 0 {
                self.activity.remove(&slot);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Locations of a trace's events, ordered by `ce_id`, at most `limit`.
    pub fn trace(&self, trace: TraceId, limit: usize) -> Vec<Loc> {
        self.events
            .range((trace, MIN_CE)..=(trace, MAX_CE))
            .take(limit)
            .map(|(_, meta)| meta.loc)
            .collect()
    }

    pub fn service_traces(&self, service: &str, from: u64, to: u64, limit: usize) -> Vec<TraceId> {
        let Some(&service) = self.service_ids.get(service) else {
            return Vec::new();
        };
        let mut traces: Vec<TraceId> = self
            .by_service
            .range((service, from, MIN_TRACE, MIN_CE)..=(service, to, MAX_TRACE, MAX_CE))
            .map(|entry| entry.2)
            .collect();
        traces.sort_unstable();
        traces.dedup();
        traces.truncate(limit);
        traces
    }

    pub fn failures(&self, from_end: u64, to_end: u64, limit: usize) -> Vec<FailureRef> {
        self.failures
            .range((from_end, MIN_TRACE, MIN_CE)..=(to_end, MAX_TRACE, MAX_CE))
            .filter_map(|&(end, trace_id, ce_id)| {
                let meta = self.events.get(&(trace_id, ce_id))?;
                Some(FailureRef {
                    trace_id,
                    ce_id,
                    service: self.services.get(meta.service as usize)?.clone(),
                    start_unix_ns: meta.start,
                    end_unix_ns: end,
                })
            })
            .take(limit)
            .collect()
    }

    pub fn activity(&self, from_second: u64, to_second: u64) -> Vec<ServiceActivity> {
        let mut per_service: BTreeMap<&str, ServiceActivity> = BTreeMap::new();
        for (&(_, service), counter) in self.activity.range((from_second, 0)..=(to_second, u32::MAX)) {
            let Some(name) = self.services.get(service as usize) else {
                continue;
            };
            let total = per_service.entry(name).or_insert_with(|| ServiceActivity {
                service: name.clone(),
                ..ServiceActivity::default()
            });
            total.events += counter.events;
            total.non_success += counter.failure_ends.len() as u64;
            if let Some(&first) = counter.failure_ends.first() {
                total.first_failure_end_unix_ns = Some(total.first_failure_end_unix_ns.map_or(first, |t| t.min(first)));
            }
        }
        per_service.into_values().collect()
    }

    /// The `limit` events starting in `[from, to]` that started latest,
    /// ordered by start then `ce_id`.
    pub fn latest(&self, from: u64, to: u64, limit: usize) -> Vec<Loc> {
        let mut locs: Vec<Loc> = self
            .by_time
            .range((from, MIN_TRACE, MIN_CE)..=(to, MAX_TRACE, MAX_CE))
            .rev()
            .take(limit)
            .filter_map(|&(_, trace, ce)| self.events.get(&(trace, ce)).map(|meta| meta.loc))
            .collect();
        locs.reverse();
        locs
    }
}
