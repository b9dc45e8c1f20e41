//! The tenant's service topology as server-rendered SVG: callers on the
//! left, what they call to the right (layered by longest call path),
//! instrumented services solid, ghosts dashed, each edge coloured by how
//! often its calls propagated to a reporting callee.

use std::collections::{BTreeMap, BTreeSet};

use causeway_assembly::Coverage;
use maud::{Markup, html};

/// Nodes drawn at most; the tables below list everything.
const MAX_NODES: usize = 40;
const COLUMN_WIDTH: u32 = 210;
const ROW_HEIGHT: u32 = 56;
const NODE_WIDTH: u32 = 160;
const NODE_HEIGHT: u32 = 32;

struct Node<'a> {
    name: &'a str,
    ghost: bool,
    layer: u32,
    row: u32,
}

/// Longest-path layering over the call edges, bounded by the node count
/// (cycles cannot push a node further than that).
fn layers<'a>(names: &BTreeSet<&'a str>, edges: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, u32> {
    let mut layer: BTreeMap<&str, u32> = names.iter().map(|&n| (n, 0)).collect();
    let cap = names.len() as u32;
    for _ in 0..names.len() {
        let mut changed = false;
        for &(caller, peer) in edges {
            let next = (layer.get(caller).copied().unwrap_or(0) + 1).min(cap);
            if let Some(current) = layer.get_mut(peer)
                && *current < next
            {
                *current = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

fn health_class(per_mille: u32) -> &'static str {
    match per_mille {
        950.. => "edge-ok",
        500..950 => "edge-warn",
        _ => "edge-bad",
    }
}

pub fn topology(coverage: &Coverage) -> Markup {
    let ghosts: BTreeSet<&str> = coverage.ghost_services.iter().map(|g| g.peer.as_str()).collect();
    let mut names: BTreeSet<&str> = coverage.instrumented_services.iter().map(String::as_str).collect();
    names.extend(ghosts.iter().copied());
    names.extend(coverage.edges.iter().flat_map(|e| [e.caller.as_str(), e.peer.as_str()]));
    let names: BTreeSet<&str> = names.into_iter().take(MAX_NODES).collect();
    let edges: Vec<(&str, &str)> = coverage
        .edges
        .iter()
        .map(|e| (e.caller.as_str(), e.peer.as_str()))
        .filter(|(c, p)| names.contains(c) && names.contains(p) && c != p)
        .collect();
    if names.is_empty() {
        return html! { p.empty { "No service reported in the window yet." } };
    }
    let layer = layers(&names, &edges);
    let mut rows: BTreeMap<u32, u32> = BTreeMap::new();
    let nodes: BTreeMap<&str, Node<'_>> = names
        .iter()
        .map(|&name| {
            let l = layer.get(name).copied().unwrap_or(0);
            let row = rows.entry(l).or_insert(0);
            let node = Node {
                name,
                ghost: ghosts.contains(name),
                layer: l,
                row: *row,
            };
            *row += 1;
            (name, node)
        })
        .collect();
    let width = (rows.keys().max().copied().unwrap_or(0) + 1) * COLUMN_WIDTH;
    let height = rows.values().max().copied().unwrap_or(1) * ROW_HEIGHT + 8;
    let x = |n: &Node<'_>| n.layer * COLUMN_WIDTH + 8;
    let y = |n: &Node<'_>| n.row * ROW_HEIGHT + 8;
    html! {
        svg.topology viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height)
            role="img" aria-labelledby="topology-title" {
            title #topology-title {
                "Service topology: " (nodes.len()) " services, " (edges.len()) " call edges, "
                (ghosts.len()) " ghost services"
            }
            defs {
                marker #arrow viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto" {
                    path d="M0,0 L10,5 L0,10 z" class="arrowhead" {}
                }
            }
            @for e in &coverage.edges {
                @if let (Some(from), Some(to)) = (nodes.get(e.caller.as_str()), nodes.get(e.peer.as_str())) {
                    @if from.name != to.name {
                        path class={ "edge " (health_class(e.propagation_per_mille)) }
                            d={ "M" (x(from) + NODE_WIDTH) "," (y(from) + NODE_HEIGHT / 2)
                                " C" (x(from) + NODE_WIDTH + 30) "," (y(from) + NODE_HEIGHT / 2)
                                " " (x(to).saturating_sub(30)) "," (y(to) + NODE_HEIGHT / 2)
                                " " (x(to)) "," (y(to) + NODE_HEIGHT / 2) }
                            marker-end="url(#arrow)" {
                            title { (e.caller) " → " (e.peer) ": " (e.calls) " calls, "
                                (e.propagation_per_mille / 10) "% propagated, " (e.errors) " errors" }
                        }
                    }
                }
            }
            @for node in nodes.values() {
                g class=(if node.ghost { "node ghost" } else { "node" }) {
                    rect x=(x(node)) y=(y(node)) width=(NODE_WIDTH) height=(NODE_HEIGHT) rx="6" {}
                    text x=(x(node) + NODE_WIDTH / 2) y=(y(node) + NODE_HEIGHT / 2 + 5) text-anchor="middle" {
                        (node.name) @if node.ghost { " (ghost)" }
                    }
                }
            }
        }
    }
}
