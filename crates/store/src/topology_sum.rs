//! Summing topology slots into one range, shared by every implementation so
//! the limit and the order mean the same everywhere.

use std::collections::BTreeMap;

use crate::api::{EdgeDelta, TopologyRange};

/// Sums `slots` (start, edges), given newest first, keeping at most
/// `limit_slots` of them; `more` says whether the reader had further slots
/// in range past those given.
pub(crate) fn sum_slots(
    slots: impl IntoIterator<Item = (u64, Vec<EdgeDelta>)>,
    limit_slots: usize,
    more: bool,
) -> TopologyRange {
    let mut sums: BTreeMap<(String, String), EdgeDelta> = BTreeMap::new();
    let mut range = TopologyRange::default();
    for (start, edges) in slots {
        if range.slots == limit_slots {
            range.truncated = true;
            break;
        }
        range.slots += 1;
        range.newest_slot_s.get_or_insert(start);
        range.oldest_slot_s = Some(start);
        for edge in edges {
            let sum = sums
                .entry((edge.caller.clone(), edge.peer.clone()))
                .or_insert_with(|| EdgeDelta {
                    caller: edge.caller,
                    peer: edge.peer,
                    ..EdgeDelta::default()
                });
            sum.calls = sum.calls.saturating_add(edge.calls);
            sum.answered = sum.answered.saturating_add(edge.answered);
            sum.errors = sum.errors.saturating_add(edge.errors);
        }
    }
    range.truncated |= more;
    // BTreeMap order is byte order of the names, the contract's order.
    range.edges = sums.into_values().collect();
    range
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(caller: &str, peer: &str, calls: u64) -> EdgeDelta {
        EdgeDelta {
            caller: caller.into(),
            peer: peer.into(),
            calls,
            answered: 1,
            errors: 0,
        }
    }

    #[test]
    fn sums_newest_slots_up_to_the_limit() {
        let slots = vec![
            (600, vec![edge("b", "c", 1), edge("a", "b", 2)]),
            (300, vec![edge("a", "b", 3)]),
            (0, vec![edge("a", "b", 100)]),
        ];
        let range = sum_slots(slots, 2, false);
        assert_eq!(range.edges.len(), 2);
        assert_eq!((range.edges[0].calls, range.edges[0].answered), (5, 2));
        assert_eq!(range.edges[1].caller, "b");
        assert_eq!((range.slots, range.truncated), (2, true));
        assert_eq!((range.oldest_slot_s, range.newest_slot_s), (Some(300), Some(600)));
    }
}
