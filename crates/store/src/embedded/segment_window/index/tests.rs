//! The index against a plain model of the same rules.

use std::collections::BTreeMap;

use causeway_model::{CausalEvent, Kind};

use super::*;
use crate::api::PeerCall;
use crate::embedded::segment_window::segments::{BUCKET_NS, bucket_of};

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
        kind: [Kind::HttpIn, Kind::HttpOut, Kind::QueuePublish][rng.below(3) as usize],
        status: if rng.below(4) == 0 { 503 } else { 200 },
        start_unix_ns: 1_000 * SECOND_NS + rng.below(20) * SECOND_NS / 2,
        duration_ns: rng.below(3) * SECOND_NS / 4,
        operation: None,
        // A peer named like a service shares its name; "" is no peer.
        peer: Some(["", "p", "b"][rng.below(3) as usize])
            .filter(|peer| !peer.is_empty())
            .map(str::to_owned),
        environment: None,
    }
}

/// Random writes (new events, copies with earlier and later expiries)
/// and expiry passes, with every read compared to the model after each
/// step: slots freed by expiry are used again by later events.
#[test]
fn every_read_matches_a_plain_model_through_writes_and_expiry() {
    // Expiry times fall in several buckets, a few to a bucket, so a slot's
    // segment (found from its expiry) changes as events are stored again.
    const TICK: u64 = BUCKET_NS / 3 + 1;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut index, mut model) = (TenantIndex::default(), Model::default());
    let mut now = 0;
    for step in 0..3_000u64 {
        if rng.below(10) == 0 {
            now += rng.below(4);
            let before = model.events.len();
            model.events.retain(|_, (_, _, expires_at)| *expires_at > now * TICK);
            assert_eq!(
                index.expire(now * TICK),
                (before - model.events.len()) as u64,
                "step {step}"
            );
        } else {
            let event = event(&mut rng);
            let expires_at = (now + 1 + rng.below(6)) * TICK;
            let loc = Loc {
                bucket: bucket_of(expires_at),
                offset: step,
                len: 1 + (step % 5) as u32,
            };
            let key = (event.trace_id, event.ce_id);
            let plan = index.plan(key.0, key.1, expires_at);
            match (model.events.get(&key), plan) {
                (None, Plan::New(Some(_))) | (Some(_), Plan::Skip) => {}
                (Some((_, stored_loc, _)), Plan::Extend(planned_loc, _)) => assert_eq!(planned_loc, *stored_loc),
                (stored, plan) => panic!("step {step}: planned {plan:?} for {stored:?}"),
            }
            if let (Some((_, _, stored)), Plan::Skip) = (model.events.get(&key), plan) {
                assert!(
                    *stored >= expires_at,
                    "step {step}: skipped an event stored to expire sooner"
                );
            }
            // Both ways in: the plan applied (as a write does), and a
            // fresh lookup (as the rebuild at open does).
            if step % 2 == 0 {
                index.apply(plan, &event.as_event_ref(), loc, expires_at);
            } else {
                index.insert(&event.as_event_ref(), loc, expires_at);
            }
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

    for peer in ["", "p", "b", "never"] {
        let mut calls: Vec<PeerCall> = model
            .events
            .values()
            .map(|(e, _, _)| e)
            .filter(|e| e.kind.is_outbound() && e.peer.as_deref().unwrap_or_default() == peer)
            .filter(|e| (from..=to).contains(&e.start_unix_ns))
            .map(|e| PeerCall {
                trace_id: e.trace_id,
                ce_id: e.ce_id,
                start_unix_ns: e.start_unix_ns,
                duration_ns: e.duration_ns,
                non_success: e.is_non_success(),
            })
            .collect();
        calls.sort_by_key(|c| (c.start_unix_ns, c.trace_id, c.ce_id));
        let latest = calls.split_off(calls.len().saturating_sub(limit));
        assert_eq!(index.peer_calls(peer, from, to, limit), latest, "peer {peer:?}");
    }

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
