//! The window's in-memory indexes, per tenant, kept compact because the
//! window holds millions of events: each stored event is one slot of a slab
//! (its ids, where it is stored, its times), and every index holds 4-byte
//! slot numbers: a hash table by `(trace, ce)`, each trace's newest slot
//! (chained to its earlier ones), the slots and counters of each (start
//! second, service), the outbound slots of each (peer, start second), and
//! the slots due at each expiry.
//! Failures (a small share) keep their ids, ordered by
//! completion. Rebuilt from the segments at open; nothing here is durable.
//! docs/embedded-storage.md has the bytes per event.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;

use causeway_model::{CeId, EventRef, TraceId};
use foldhash::fast::RandomState;
use hashbrown::HashTable;

mod reads;
mod slot;
pub use self::slot::MAX_LEN;
use self::slot::Slot;
use super::segments::Loc;

pub const MIN_TRACE: TraceId = TraceId([0; 16]);
pub const MAX_TRACE: TraceId = TraceId([0xff; 16]);
pub const MIN_CE: CeId = CeId([0; 16]);
pub const MAX_CE: CeId = CeId([0xff; 16]);

const SECOND_NS: u64 = 1_000_000_000;

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
    /// Beside each slot, the slot its trace held before it ([`END`] for
    /// the first): a trace's events are a chain from its newest slot, so a
    /// trace costs one map entry and four bytes an event, not a list of
    /// its own (with its allocation and growth, ~3–4 bytes an event more
    /// at 1M events, BENCHMARKS.md "Smaller slots").
    earlier_in_trace: Vec<u32>,
    free: Vec<u32>,
    live: usize,
    /// Keyed by a seeded hash of `(trace, ce)`: ids are the client's, so
    /// an unseeded hash would let one tenant flood a bucket. Every map here
    /// hashes with a random seed per map (foldhash: several times faster
    /// than SipHash on 16- and 32-byte keys, and still seeded).
    hasher: RandomState,
    by_key: HashTable<u32>,
    /// Each trace's newest slot.
    traces: HashMap<TraceId, u32, RandomState>,
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

/// Ends a trace's chain of slots.
const END: u32 = u32::MAX;

/// The order of reads by time: start, then trace and `ce_id`.
type SlotKey = (u64, TraceId, CeId);

/// What a write must do for one event: planned against the index before
/// the write, and applied to it after ([`TenantIndex::apply`]). Nothing
/// else changes the index in between (one writer plans, writes and indexes
/// at a time), so the plan still holds, and what it found need not be
/// looked up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Not stored: write it. The hash of its key in the tenant's index,
    /// when the tenant has one.
    New(Option<u64>),
    /// Stored, in this slot, with an earlier expiry: write its stored bytes
    /// again under the later expiry (the first content stays).
    Extend(Loc, u32),
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
        let hash = self.hash(&trace, &ce);
        match self.find_hashed(hash, trace, ce) {
            None => Plan::New(Some(hash)),
            Some(at) if self.slots[at as usize].expires_at < expires_at => {
                Plan::Extend(self.slots[at as usize].loc(), at)
            }
            Some(_) => Plan::Skip,
        }
    }

    /// Indexes `event`, stored at `loc`, as `plan` says; `plan` was made by
    /// [`Self::plan`] with nothing indexed since but events of other keys.
    pub fn apply(&mut self, plan: Plan, event: &EventRef<'_>, loc: Loc, expires_at: u64) {
        match plan {
            Plan::New(Some(hash)) => self.insert_new(hash, event, loc, expires_at),
            Plan::Extend(_, at) => self.extend(at, loc, expires_at),
            Plan::New(None) | Plan::Skip => self.insert(event, loc, expires_at),
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
        match self.find_hashed(hash, event.trace_id, event.ce_id) {
            Some(at) => self.extend(at, loc, expires_at),
            None => self.insert_new(hash, event, loc, expires_at),
        }
    }

    /// Moves a stored event's expiry (and location) later, if it is.
    fn extend(&mut self, at: u32, loc: Loc, expires_at: u64) {
        let slot = &mut self.slots[at as usize];
        if slot.expires_at < expires_at {
            slot.relocate(loc, expires_at);
            self.expiry.entry(expires_at).or_default().push(at);
        }
    }

    /// Indexes an event whose key (hashing to `hash`) is not indexed.
    fn insert_new(&mut self, hash: u64, event: &EventRef<'_>, loc: Loc, expires_at: u64) {
        debug_assert!(self.find_hashed(hash, event.trace_id, event.ce_id).is_none());
        let service = self.service_id(event.service);
        let peer = event
            .kind
            .is_outbound()
            .then(|| self.service_id(event.peer.unwrap_or_default()));
        let slot = Slot::new(
            event.trace_id,
            event.ce_id,
            loc,
            expires_at,
            (event.start_unix_ns, event.end_unix_ns()),
            service,
            event.is_non_success(),
        );
        let head = self.traces.entry(slot.trace).or_insert(END);
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = slot;
                self.earlier_in_trace[at as usize] = *head;
                at
            }
            None => {
                self.slots.push(slot);
                self.earlier_in_trace.push(*head);
                (self.slots.len() - 1) as u32
            }
        };
        *head = at;
        self.live += 1;
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_key.insert_unique(hash, at, |&other| {
            let other = &slots[other as usize];
            hasher.hash_one((&other.trace, &other.ce))
        });
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
        if slot.failed() {
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
                if !slot.live() || slot.expires_at != expires_at {
                    continue;
                }
                self.slots[at as usize].free();
                let hash = self.hash(&slot.trace, &slot.ce);
                if let Ok(entry) = self.by_key.find_entry(hash, |&other| other == at) {
                    entry.remove();
                }
                let second = (slot.start / SECOND_NS, slot.service);
                if slot.failed() {
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
        for trace in traces {
            self.unlink_freed(trace);
        }
        let slots = &self.slots;
        for second in seconds {
            if let Some(counts) = self.seconds.get_mut(&second) {
                for peer in &counts.peers {
                    let key = (*peer, second.0);
                    if let Some(calls) = self.calls.get_mut(&key) {
                        calls.retain(|&at| slots[at as usize].live());
                        if calls.is_empty() {
                            self.calls.remove(&key);
                        }
                    }
                }
                counts.slots.retain(|&at| slots[at as usize].live());
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

    /// The slots of a trace's chain from `head`, newest first.
    fn chain(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors((head != END).then_some(head), |&at| {
            Some(self.earlier_in_trace[at as usize]).filter(|&earlier| earlier != END)
        })
    }

    /// Takes a trace's freed slots out of its chain, keeping the order of
    /// the rest; forgets the trace once none is left.
    fn unlink_freed(&mut self, trace: TraceId) {
        let Some(&head) = self.traces.get(&trace) else {
            return;
        };
        let kept: Vec<u32> = self.chain(head).filter(|&at| self.slots[at as usize].live()).collect();
        let (Some(&newest), Some(&oldest)) = (kept.first(), kept.last()) else {
            self.traces.remove(&trace);
            return;
        };
        for pair in kept.windows(2) {
            self.earlier_in_trace[pair[0] as usize] = pair[1];
        }
        self.earlier_in_trace[oldest as usize] = END;
        self.traces.insert(trace, newest);
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests;
