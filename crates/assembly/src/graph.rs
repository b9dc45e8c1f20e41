//! The trace graph: captured events plus one gap node per parent that was
//! named but not captured, with recorded links repaired so that every walk
//! terminates (self-parents, cycles and absurd depths are cut and reported).

use std::collections::{BTreeMap, HashMap, VecDeque};

use causeway_model::{CausalEvent, CeId};

use crate::artifact::{FrameLink, GraphRepairs};
use crate::dedupe::dedupe_by_ce_id;

/// Deeper than this is a clock-free sign of corrupt links, not a real call
/// chain; the link is cut and reported.
pub const MAX_DEPTH: u32 = 1_000;
/// Id lists in [`GraphRepairs`] keep at most this many ids (counts are exact).
pub const MAX_REPORTED_IDS: usize = 20;

#[derive(Debug)]
pub struct Node<'a> {
    pub ce_id: CeId,
    /// `None` for a gap.
    pub event: Option<&'a CausalEvent>,
    /// The node this one hangs under after repairs.
    pub parent: Option<usize>,
    pub link: FrameLink,
    pub depth: u32,
    /// Children by recorded link (cut cycle links excluded), sorted by index.
    pub children: Vec<usize>,
    /// Start time; for a gap, the earliest start among its children.
    pub start_unix_ns: u64,
}

#[derive(Debug)]
pub struct TraceGraph<'a> {
    /// Captured events sorted by `ce_id`, then gaps sorted by `ce_id`.
    pub nodes: Vec<Node<'a>>,
    pub captured: usize,
    pub repairs: GraphRepairs,
}

impl<'a> TraceGraph<'a> {
    /// Builds the graph of one trace's events (any order, duplicates allowed).
    pub fn build(events: impl IntoIterator<Item = &'a CausalEvent>) -> TraceGraph<'a> {
        let (unique, duplicates) = dedupe_by_ce_id(events);
        let mut repairs = GraphRepairs {
            duplicates_collapsed: duplicates,
            depth_limit: MAX_DEPTH,
            ..GraphRepairs::default()
        };
        let index: HashMap<CeId, usize> = unique.iter().enumerate().map(|(i, e)| (e.ce_id, i)).collect();
        let mut nodes: Vec<Node<'a>> = unique
            .iter()
            .map(|event| Node {
                ce_id: event.ce_id,
                event: Some(event),
                parent: None,
                link: FrameLink::Root,
                depth: 0,
                children: Vec::new(),
                start_unix_ns: event.start_unix_ns,
            })
            .collect();
        let captured = nodes.len();

        // Gaps in ce_id order, so their indices do not depend on input order.
        let mut gap_children: BTreeMap<CeId, Vec<usize>> = BTreeMap::new();
        for (i, event) in unique.iter().enumerate() {
            match event.parent_ce_id {
                None => {}
                Some(parent) if parent == event.ce_id => {
                    nodes[i].link = FrameLink::CutSelfParent;
                    repairs.self_parents += 1;
                    push_capped(&mut repairs.self_parent_ids, event.ce_id);
                }
                Some(parent) => match index.get(&parent) {
                    Some(&p) => {
                        nodes[i].parent = Some(p);
                        nodes[i].link = FrameLink::Child;
                    }
                    None => gap_children.entry(parent).or_default().push(i),
                },
            }
        }
        break_cycles(&mut nodes, &mut repairs);
        for (gap_id, children) in gap_children {
            let gap = nodes.len();
            let start = children.iter().map(|&c| nodes[c].start_unix_ns).min().unwrap_or(0);
            for &c in &children {
                nodes[c].parent = Some(gap);
                nodes[c].link = FrameLink::Child;
            }
            nodes.push(Node {
                ce_id: gap_id,
                event: None,
                parent: None,
                link: FrameLink::Root,
                depth: 0,
                children: Vec::new(),
                start_unix_ns: start,
            });
        }
        for i in 0..nodes.len() {
            if let Some(p) = nodes[i].parent {
                nodes[p].children.push(i);
            }
        }
        assign_depths(&mut nodes, &mut repairs);
        TraceGraph {
            nodes,
            captured,
            repairs,
        }
    }

    pub fn gaps(&self) -> usize {
        self.nodes.len() - self.captured
    }

    /// Captured events with their node index.
    pub fn events(&self) -> impl Iterator<Item = (usize, &'a CausalEvent)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| node.event.map(|e| (i, e)))
    }
}

fn push_capped(ids: &mut Vec<CeId>, id: CeId) {
    if ids.len() < MAX_REPORTED_IDS {
        ids.push(id);
    }
}

/// Parent links form a functional graph (at most one parent each), so every
/// cycle is found by walking parents with a path stack. In each cycle the
/// member with the smallest `ce_id` (smallest index: nodes are in `ce_id`
/// order) loses its parent link.
fn break_cycles(nodes: &mut [Node<'_>], repairs: &mut GraphRepairs) {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNSEEN; nodes.len()];
    let mut path_pos = vec![usize::MAX; nodes.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..nodes.len() {
        let mut current = Some(start);
        while let Some(i) = current {
            match state[i] {
                UNSEEN => {
                    state[i] = ON_PATH;
                    path_pos[i] = path.len();
                    path.push(i);
                    current = nodes[i].parent;
                }
                ON_PATH => {
                    let cycle = &path[path_pos[i]..];
                    let cut = cycle.iter().copied().min().unwrap_or(i);
                    nodes[cut].parent = None;
                    nodes[cut].link = FrameLink::CutCycle;
                    repairs.cycles_broken += 1;
                    push_capped(&mut repairs.cycle_cut_ids, nodes[cut].ce_id);
                    current = None;
                }
                _ => current = None,
            }
        }
        for &i in &path {
            state[i] = DONE;
        }
        path.clear();
    }
}

/// Breadth-first from every root. After cycle breaking every node has a
/// root above it, so each is visited exactly once.
fn assign_depths(nodes: &mut [Node<'_>], repairs: &mut GraphRepairs) {
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&i| nodes[i].parent.is_none()).collect();
    let mut visited = 0usize;
    while let Some(i) = queue.pop_front() {
        visited += 1;
        let child_depth = nodes[i].depth + 1;
        for k in 0..nodes[i].children.len() {
            let c = nodes[i].children[k];
            if child_depth > MAX_DEPTH {
                nodes[c].parent = None;
                nodes[c].link = FrameLink::CutDepthLimit;
                nodes[c].depth = 0;
                repairs.depth_cuts += 1;
                push_capped(&mut repairs.depth_cut_ids, nodes[c].ce_id);
            } else {
                nodes[c].depth = child_depth;
            }
            queue.push_back(c);
        }
    }
    debug_assert_eq!(
        visited,
        nodes.len(),
        "every node hangs under a root after cycle breaking"
    );
}
