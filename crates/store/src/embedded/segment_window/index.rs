//! The window's in-memory indexes, per tenant, kept compact because the
//! window holds millions of events: each stored event is one slot of a slab
//! (its ids, where it is stored, its times), and every index holds 4-byte
//! slot numbers: a hash table by `(trace, ce)`, the slots of each trace,
//! the slots and counters of each (start second, service), the outbound
//! slots of each (peer, start second), and the slots due at each expiry.
//! Failures (a small share) keep their ids, ordered by
//! completion. Rebuilt from the segments at open; nothing here is durable.
//! docs/embedded-storage.md has the bytes per event.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;

use causeway_model::{CeId, EventRef, TraceId};
use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::segments::Loc;
use crate::api::{FailureRef, PeerCall, ServiceActivity};

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

/// The events of one (start second, service): their slots, the
/// completion times of the non-success ones, ascending (a multiset), and
/// the peers its outbound steps named (their slots are in `calls`).
#[derive(Debug, Default)]
struct Second {
    slots: Vec<u32>,
    failure_ends: Vec<u64>,
    peers: Vec<u32>,
}

#[derive(Debug, Default)]
pub struct TenantIndex {
    services: Vec<String>,
    service_ids: HashMap<String, u32, RandomState>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// Keyed by a seeded hash of `(trace, ce)`: ids are the client's, so
    /// an unseeded hash would let one tenant flood a bucket. Every map here
    /// hashes with a random seed per map (foldhash: several times faster
    /// than SipHash on 16- and 32-byte keys, and still seeded).
    hasher: RandomState,
    by_key: HashTable<u32>,
    traces: HashMap<TraceId, Vec<u32>, RandomState>,
    seconds: BTreeMap<(u64, u32), Second>,
    /// Outbound steps by (peer, start second); peer names share the
    /// service-name table, `""` for a step naming no peer.
    calls: BTreeMap<(u32, u64), Vec<u32>>,
    failures: BTreeSet<(u64, TraceId, CeId)>,
    /// Per expiry time, the slots written with it: a batch shares one
    /// expiry, so this is one append per event. An event whose expiry moved
    /// later is in two lists; the earlier entry no longer matches its slot
    /// and is skipped.
    expiry: BTreeMap<u64, Vec<u32>>,
}

/// The order of reads by time: start, then trace and `ce_id`.
type SlotKey = (u64, TraceId, CeId);

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
    pub fn insert(&mut self, event: &EventRef<'_>, loc: Loc, expires_at: u64) {
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
        let service = self.service_id(event.service);
        let peer = event
            .kind
            .is_outbound()
            .then(|| self.service_id(event.peer.unwrap_or_default()));
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
        let start_second = slot.start / SECOND_NS;
        let second = self.seconds.entry((start_second, service)).or_default();
        second.slots.push(at);
        if let Some(peer) = peer {
            self.calls.entry((peer, start_second)).or_default().push(at);
            if !second.peers.contains(&peer) {
                second.peers.push(peer);
            }
        }
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
                for peer in &counts.peers {
                    let key = (*peer, second.0);
                    if let Some(calls) = self.calls.get_mut(&key) {
                        calls.retain(|&at| slots[at as usize].live);
                        if calls.is_empty() {
                            self.calls.remove(&key);
                        }
                    }
                }
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
        let seconds = self.starting(from, to).rev().map(|(second, _, slots)| (second, slots));
        let located = |slot: &Slot| ((slot.start, slot.trace, slot.ce), slot.loc);
        self.latest_slots(seconds, from, to, limit, located)
            .into_iter()
            .map(|(_, loc)| loc)
            .collect()
    }

    /// From lists of slots by start second, latest second first: what
    /// `pick` makes of the `limit` slots starting in `[from, to]` latest,
    /// ordered by its key (start, trace, ce). Whole seconds are taken until
    /// they hold `limit`. Each slot is read once (at volume every slot read
    /// is a cache miss), and each second is sorted on its own: seconds
    /// already order the starts, so no sort spans the whole result.
    fn latest_slots<'s, T>(
        &self,
        seconds: impl Iterator<Item = (u64, &'s [u32])>,
        from: u64,
        to: u64,
        limit: usize,
        pick: impl Fn(&Slot) -> (SlotKey, T),
    ) -> Vec<(SlotKey, T)> {
        // Per second, latest first.
        let mut taken: Vec<Vec<(SlotKey, T)>> = Vec::new();
        let mut second_slots: Vec<(SlotKey, T)> = Vec::new();
        let (mut total, mut current) = (0, None);
        for (second, slots) in seconds {
            if current != Some(second) {
                if total >= limit {
                    break;
                }
                current = Some(second);
                taken.push(std::mem::take(&mut second_slots));
            }
            let before = second_slots.len();
            second_slots.extend(
                slots
                    .iter()
                    .map(|&at| &self.slots[at as usize])
                    .filter(|slot| (from..=to).contains(&slot.start))
                    .map(&pick),
            );
            total += second_slots.len() - before;
        }
        taken.push(second_slots);
        // Every second but the oldest taken holds fewer than `limit`
        // together: only the oldest is cut.
        let mut skip = total.saturating_sub(limit);
        let mut out = Vec::with_capacity(total - skip);
        for mut slots in taken.into_iter().rev() {
            slots.sort_unstable_by_key(|(key, _)| *key);
            let cut = skip.min(slots.len());
            skip -= cut;
            out.extend(slots.into_iter().skip(cut));
        }
        out
    }

    /// The `limit` outbound steps naming `peer` that started in `[from,
    /// to]` latest, ordered by (start, trace, ce), from the slots alone.
    pub fn peer_calls(&self, peer: &str, from: u64, to: u64, limit: usize) -> Vec<PeerCall> {
        let Some(&peer) = self.service_ids.get(peer) else {
            return Vec::new();
        };
        let seconds = self
            .calls
            .range((peer, from / SECOND_NS)..=(peer, to / SECOND_NS))
            .rev()
            .map(|(&(_, second), slots)| (second, slots.as_slice()));
        let call = |slot: &Slot| {
            let call = PeerCall {
                trace_id: slot.trace,
                ce_id: slot.ce,
                start_unix_ns: slot.start,
                duration_ns: slot.end.saturating_sub(slot.start),
                non_success: slot.failed,
            };
            ((slot.start, slot.trace, slot.ce), call)
        };
        self.latest_slots(seconds, from, to, limit, call)
            .into_iter()
            .map(|(_, call)| call)
            .collect()
    }
}

#[cfg(test)]
mod tests;
