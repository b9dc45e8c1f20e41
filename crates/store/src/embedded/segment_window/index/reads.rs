//! The window's reads from the indexes: a trace's events, a service's
//! traces, failures and activity by time, the latest events, and the
//! calls naming a peer. Each takes locations or figures from the slots;
//! the events themselves are read from the segments by the caller.

use std::collections::BTreeMap;

use causeway_model::TraceId;

use super::slot::Slot;
use super::{MAX_CE, MAX_TRACE, MIN_CE, MIN_TRACE, SECOND_NS, SlotKey, TenantIndex};
use crate::api::{FailureRef, PeerCall, ServiceActivity};
use crate::embedded::segment_window::segments::Loc;

impl TenantIndex {
    /// Locations of a trace's events, ordered by `ce_id`, at most `limit`.
    pub fn trace(&self, trace: TraceId, limit: usize) -> Vec<Loc> {
        let Some(&head) = self.traces.get(&trace) else {
            return Vec::new();
        };
        let mut list: Vec<u32> = self.chain(head).collect();
        list.sort_unstable_by_key(|&at| self.slots[at as usize].ce);
        list.into_iter()
            .take(limit)
            .map(|at| self.slots[at as usize].loc())
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
        let located = |slot: &Slot| ((slot.start, slot.trace, slot.ce), slot.loc());
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
                non_success: slot.failed(),
            };
            ((slot.start, slot.trace, slot.ce), call)
        };
        self.latest_slots(seconds, from, to, limit, call)
            .into_iter()
            .map(|(_, call)| call)
            .collect()
    }
}
