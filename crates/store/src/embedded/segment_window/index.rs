//! The window's in-memory indexes, per tenant, kept compact because the
//! window holds millions of events: each stored event is one slot of a slab
//! (its ids, where it is stored, its times), and every index holds 4-byte
//! slot numbers: a hash table by `(trace, ce)`, the slots of each trace,
//! the slots and counters of each (start second, service), and the slots
//! due at each expiry. Failures (a small share) keep their ids, ordered by
//! completion. Rebuilt from the segments at open; nothing here is durable.
//! docs/embedded-storage.md has the bytes per event.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

use causeway_model::{CausalEvent, CeId, TraceId};
use hashbrown::HashTable;

use super::segments::Loc;
use crate::api::{FailureRef, ServiceActivity};

pub const MIN_TRACE: TraceId = TraceId([0; 16]);
pub const MAX_TRACE: TraceId = TraceId([0xff; 16]);
pub const MIN_CE: CeId = CeId([0; 16]);
pub const MAX_CE: CeId = CeId([0xff; 16]);

const SECOND_NS: u64 = 1_000_000_000;

/// One stored event (or a free slot, `live == false`).
#[derive(Debug, Clone, Copy)]
struct Slot {
    trace: TraceId,
    ce: CeId,
    loc: Loc,
    expires_at: u64,
    start: u64,
    end: u64,
    service: u32,
    live: bool,
    failed: bool,
}

/// The events of one (start second, service): their slots, and the
/// completion times of the non-success ones, ascending (a multiset).
#[derive(Debug, Default)]
struct Second {
    slots: Vec<u32>,
    failure_ends: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct TenantIndex {
    services: Vec<String>,
    service_ids: HashMap<String, u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// Keyed by a seeded hash of `(trace, ce)`: ids are the client's, so
    /// an unseeded hash would let one tenant flood a bucket.
    hasher: RandomState,
    by_key: HashTable<u32>,
    traces: HashMap<TraceId, Vec<u32>>,
    seconds: BTreeMap<(u64, u32), Second>,
    failures: BTreeSet<(u64, TraceId, CeId)>,
    /// Per expiry time, the slots written with it: a batch shares one
    /// expiry, so this is one append per event. An event whose expiry moved
    /// later is in two lists; the earlier entry no longer matches its slot
    /// and is skipped.
    expiry: BTreeMap<u64, Vec<u32>>,
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
    fn hash(&self, trace: &TraceId, ce: &CeId) -> u64 {
        self.hasher.hash_one((trace, ce))
    }

    fn find(&self, trace: TraceId, ce: CeId) -> Option<u32> {
        self.find_hashed(self.hash(&trace, &ce), trace, ce)
    }

    /// [`Self::find`] with the key's hash already taken.
    fn find_hashed(&self, hash: u64, trace: TraceId, ce: CeId) -> Option<u32> {
        let slots = &self.slots;
        self.by_key
            .find(hash, |&at| {
                let slot = &slots[at as usize];
                slot.trace == trace && slot.ce == ce
            })
            .copied()
    }

    pub fn plan(&self, trace: TraceId, ce: CeId, expires_at: u64) -> Plan {
        match self.find(trace, ce).map(|at| &self.slots[at as usize]) {
            None => Plan::New,
            Some(slot) if slot.expires_at < expires_at => Plan::Extend(slot.loc),
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
        // One hash per event: the lookup and the table insert share it.
        let hash = self.hash(&event.trace_id, &event.ce_id);
        if let Some(at) = self.find_hashed(hash, event.trace_id, event.ce_id) {
            let slot = &mut self.slots[at as usize];
            if slot.expires_at < expires_at {
                slot.expires_at = expires_at;
                slot.loc = loc;
                self.expiry.entry(expires_at).or_default().push(at);
            }
            return;
        }
        let service = self.service_id(&event.service);
        let slot = Slot {
            trace: event.trace_id,
            ce: event.ce_id,
            loc,
            expires_at,
            start: event.start_unix_ns,
            end: event.end_unix_ns(),
            service,
            live: true,
            failed: event.is_non_success(),
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_key.insert_unique(hash, at, |&other| {
            let other = &slots[other as usize];
            hasher.hash_one((&other.trace, &other.ce))
        });
        self.traces.entry(slot.trace).or_default().push(at);
        self.expiry.entry(expires_at).or_default().push(at);
        let second = self.seconds.entry((slot.start / SECOND_NS, service)).or_default();
        second.slots.push(at);
        if slot.failed {
            self.failures.insert((slot.end, slot.trace, slot.ce));
            let position = second.failure_ends.partition_point(|end| *end < slot.end);
            second.failure_ends.insert(position, slot.end);
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
        let mut freed = Vec::new();
        let mut traces = HashSet::new();
        let mut seconds = BTreeSet::new();
        for (expires_at, due) in due {
            for at in due {
                let slot = self.slots[at as usize];
                // A free slot, or a stale entry: the event's expiry moved later.
                if !slot.live || slot.expires_at != expires_at {
                    continue;
                }
                self.slots[at as usize].live = false;
                let hash = self.hash(&slot.trace, &slot.ce);
                if let Ok(entry) = self.by_key.find_entry(hash, |&other| other == at) {
                    entry.remove();
                }
                let second = (slot.start / SECOND_NS, slot.service);
                if slot.failed {
                    self.failures.remove(&(slot.end, slot.trace, slot.ce));
                    if let Some(counts) = self.seconds.get_mut(&second)
                        && let Ok(position) = counts.failure_ends.binary_search(&slot.end)
                    {
                        counts.failure_ends.remove(position);
                    }
                }
                traces.insert(slot.trace);
                seconds.insert(second);
                freed.push(at);
            }
        }
        // One pass over each trace and second that lost events (a trace of
        // 100k events expiring is one pass, not 100k searches), before any
        // freed slot is used again.
        let slots = &self.slots;
        for trace in traces {
            if let Some(list) = self.traces.get_mut(&trace) {
                list.retain(|&at| slots[at as usize].live);
                if list.is_empty() {
                    self.traces.remove(&trace);
                }
            }
        }
        for second in seconds {
            if let Some(counts) = self.seconds.get_mut(&second) {
                counts.slots.retain(|&at| slots[at as usize].live);
                if counts.slots.is_empty() {
                    self.seconds.remove(&second);
                }
            }
        }
        self.live -= freed.len();
        let removed = freed.len() as u64;
        self.free.extend(freed);
        removed
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Locations of a trace's events, ordered by `ce_id`, at most `limit`.
    pub fn trace(&self, trace: TraceId, limit: usize) -> Vec<Loc> {
        let Some(list) = self.traces.get(&trace) else {
            return Vec::new();
        };
        let mut list = list.clone();
        list.sort_unstable_by_key(|&at| self.slots[at as usize].ce);
        list.into_iter()
            .take(limit)
            .map(|at| self.slots[at as usize].loc)
            .collect()
    }

    /// The slots of the events starting in `[from, to]`, per second.
    fn starting(&self, from: u64, to: u64) -> impl DoubleEndedIterator<Item = (u64, u32, &[u32])> {
        self.seconds
            .range((from / SECOND_NS, 0)..=(to / SECOND_NS, u32::MAX))
            .map(|(&(second, service), counts)| (second, service, counts.slots.as_slice()))
    }

    fn starts_within(&self, at: u32, from: u64, to: u64) -> bool {
        (from..=to).contains(&self.slots[at as usize].start)
    }

    pub fn service_traces(&self, service: &str, from: u64, to: u64, limit: usize) -> Vec<TraceId> {
        let Some(&service) = self.service_ids.get(service) else {
            return Vec::new();
        };
        let mut traces: Vec<TraceId> = self
            .starting(from, to)
            .filter(|(_, of, _)| *of == service)
            .flat_map(|(_, _, slots)| slots)
            .filter(|&&at| self.starts_within(at, from, to))
            .map(|&at| self.slots[at as usize].trace)
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
                let slot = &self.slots[self.find(trace_id, ce_id)? as usize];
                Some(FailureRef {
                    trace_id,
                    ce_id,
                    service: self.services.get(slot.service as usize)?.clone(),
                    start_unix_ns: slot.start,
                    end_unix_ns: end,
                })
            })
            .take(limit)
            .collect()
    }

    pub fn activity(&self, from_second: u64, to_second: u64) -> Vec<ServiceActivity> {
        let mut per_service: BTreeMap<&str, ServiceActivity> = BTreeMap::new();
        for (&(_, service), counter) in self.seconds.range((from_second, 0)..=(to_second, u32::MAX)) {
            let Some(name) = self.services.get(service as usize) else {
                continue;
            };
            let total = per_service.entry(name).or_insert_with(|| ServiceActivity {
                service: name.clone(),
                ..ServiceActivity::default()
            });
            total.events += counter.slots.len() as u64;
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
        // Whole seconds, latest first, until they hold `limit` events; then
        // the exact order within them.
        let mut picked: Vec<u32> = Vec::new();
        let mut last_second = None;
        for (second, _, slots) in self.starting(from, to).rev() {
            if last_second != Some(second) && picked.len() >= limit {
                break;
            }
            last_second = Some(second);
            picked.extend(slots.iter().filter(|&&at| self.starts_within(at, from, to)));
        }
        let key = |at: &u32| {
            let slot = &self.slots[*at as usize];
            (slot.start, slot.trace, slot.ce)
        };
        picked.sort_unstable_by_key(key);
        let skip = picked.len().saturating_sub(limit);
        picked[skip..].iter().map(|&at| self.slots[at as usize].loc).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use causeway_model::Kind;

    use super::*;

    /// The plainest model of the same rules: every live event, by key.
    #[derive(Default)]
    struct Model {
        events: BTreeMap<(TraceId, CeId), (CausalEvent, Loc, u64)>,
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    fn event(rng: &mut Rng) -> CausalEvent {
        // Few traces and ids, so copies, shared traces and ties are common.
        let mut trace = [0u8; 16];
        trace[0] = rng.below(40) as u8;
        let mut ce = [0u8; 16];
        ce[0] = rng.below(30) as u8;
        CausalEvent {
            tenant_id: "t".to_owned(),
            trace_id: TraceId(trace),
            ce_id: CeId(ce),
            parent_ce_id: None,
            service: ["a", "b", "c"][rng.below(3) as usize].to_owned(),
            kind: Kind::HttpIn,
            status: if rng.below(4) == 0 { 503 } else { 200 },
            start_unix_ns: 1_000 * SECOND_NS + rng.below(20) * SECOND_NS / 2,
            duration_ns: rng.below(3) * SECOND_NS / 4,
            operation: None,
            peer: None,
            environment: None,
        }
    }

    /// Random writes (new events, copies with earlier and later expiries)
    /// and expiry passes, with every read compared to the model after each
    /// step: slots freed by expiry are used again by later events.
    #[test]
    fn every_read_matches_a_plain_model_through_writes_and_expiry() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut index, mut model) = (TenantIndex::default(), Model::default());
        let mut now = 0;
        for step in 0..3_000u64 {
            if rng.below(10) == 0 {
                now += rng.below(4);
                let before = model.events.len();
                model.events.retain(|_, (_, _, expires_at)| *expires_at > now);
                assert_eq!(index.expire(now), (before - model.events.len()) as u64, "step {step}");
            } else {
                let event = event(&mut rng);
                let expires_at = now + 1 + rng.below(6);
                let loc = Loc {
                    bucket: expires_at,
                    offset: step,
                    len: 1,
                };
                let key = (event.trace_id, event.ce_id);
                let expected = match model.events.get(&key) {
                    None => Plan::New,
                    Some((_, loc, stored)) if *stored < expires_at => Plan::Extend(*loc),
                    Some(_) => Plan::Skip,
                };
                assert_eq!(index.plan(key.0, key.1, expires_at), expected);
                index.insert(&event, loc, expires_at);
                match model.events.get_mut(&key) {
                    None => {
                        model.events.insert(key, (event, loc, expires_at));
                    }
                    Some(stored) if stored.2 < expires_at => (stored.1, stored.2) = (loc, expires_at),
                    Some(_) => {}
                }
            }
            if step % 7 == 0 {
                compare(&index, &model, &mut rng);
            }
        }
        assert_eq!(index.is_empty(), model.events.is_empty());
    }

    fn compare(index: &TenantIndex, model: &Model, rng: &mut Rng) {
        let trace = TraceId({
            let mut id = [0u8; 16];
            id[0] = rng.below(40) as u8;
            id
        });
        let limit = 1 + rng.below(12) as usize;
        let expected: Vec<Loc> = model
            .events
            .range((trace, MIN_CE)..=(trace, MAX_CE))
            .take(limit)
            .map(|(_, (_, loc, _))| *loc)
            .collect();
        assert_eq!(index.trace(trace, limit), expected);

        let (from, to) = (
            1_000 * SECOND_NS + rng.below(6) * SECOND_NS,
            1_000 * SECOND_NS + 10 * SECOND_NS,
        );
        let mut by_start: Vec<(u64, TraceId, CeId, Loc)> = model
            .events
            .values()
            .filter(|(e, _, _)| (from..=to).contains(&e.start_unix_ns))
            .map(|(e, loc, _)| (e.start_unix_ns, e.trace_id, e.ce_id, *loc))
            .collect();
        by_start.sort_by_key(|&(start, trace, ce, _)| (start, trace, ce));
        let latest: Vec<Loc> = by_start[by_start.len().saturating_sub(limit)..]
            .iter()
            .map(|entry| entry.3)
            .collect();
        assert_eq!(index.latest(from, to, limit), latest);

        let mut traces: Vec<TraceId> = model
            .events
            .values()
            .filter(|(e, _, _)| e.service == "b" && (from..=to).contains(&e.start_unix_ns))
            .map(|(e, _, _)| e.trace_id)
            .collect();
        traces.sort_unstable();
        traces.dedup();
        traces.truncate(limit);
        assert_eq!(index.service_traces("b", from, to, limit), traces);

        let mut failures: Vec<(u64, TraceId, CeId)> = model
            .events
            .values()
            .filter(|(e, _, _)| e.is_non_success())
            .map(|(e, _, _)| (e.end_unix_ns(), e.trace_id, e.ce_id))
            .collect();
        failures.sort_unstable();
        let found: Vec<(u64, TraceId, CeId)> = index
            .failures(0, u64::MAX, usize::MAX)
            .into_iter()
            .map(|f| (f.end_unix_ns, f.trace_id, f.ce_id))
            .collect();
        assert_eq!(found, failures);

        let activity = index.activity(0, u64::MAX);
        let events: u64 = activity.iter().map(|a| a.events).sum();
        let non_success: u64 = activity.iter().map(|a| a.non_success).sum();
        assert_eq!(events, model.events.len() as u64);
        assert_eq!(non_success, failures.len() as u64);
    }
}
