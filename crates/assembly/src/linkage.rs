//! Which outbound steps were answered by an instrumented callee, under both
//! linkage conventions, by counting recorded links (never by timestamps).
//!
//! * OpenTelemetry (and the SDK's urllib patch): the callee's inbound event
//!   is a CHILD of the caller's outbound step.
//! * The SDK's httpx/aiohttp patches: the callee's inbound event is a child
//!   of the caller's INBOUND step, a SIBLING of the outbound step.
//!
//! Rule, applied per outbound step (`HTTP_OUT`, `QUEUE_PUBLISH`,
//! `WEBHOOK_OUT`), in order of (start, `ce_id`):
//! 1. it has an inbound child (`HTTP_IN`, `QUEUE_CONSUME`, `WEBHOOK_IN`):
//!    answered;
//! 2. otherwise, among inbound siblings (same recorded parent) not yet
//!    claimed by another outbound step, one whose service equals the peer
//!    exactly answers it;
//! 3. otherwise one whose service equals the peer's host name (scheme, port,
//!    path and domain suffix removed: `http://pricing.prod:8080` -> `pricing`);
//! 4. otherwise any remaining inbound sibling from another service answers
//!    it: the count of answers then equals the count of callees that
//!    reported, even when the peer was named by address.
//!
//! Each inbound sibling answers at most one outbound step. An outbound step
//! left unanswered counts toward its peer's ghost statistics.

use std::collections::{BTreeMap, VecDeque};

use causeway_model::CausalEvent;

use crate::graph::TraceGraph;

/// The peer label used when an outbound step named none.
pub const UNNAMED_PEER: &str = "(unnamed peer)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    InboundChild,
    SiblingByName,
    SiblingByHost,
    SiblingByCount,
}

#[derive(Debug, Clone)]
pub struct OutboundCall<'a> {
    pub node: usize,
    pub event: &'a CausalEvent,
    pub answer: Option<Answer>,
}

impl<'a> OutboundCall<'a> {
    pub fn peer(&self) -> &'a str {
        self.event.peer.as_deref().unwrap_or(UNNAMED_PEER)
    }
}

/// The host part of a peer, lower-cased: scheme, credentials, path, port and
/// domain suffix removed. IP addresses are kept whole.
pub fn peer_host(peer: &str) -> String {
    let lower = peer.trim().to_ascii_lowercase();
    let without_scheme = lower.split_once("://").map_or(lower.as_str(), |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host_port.starts_with('[') {
        return host_port
            .split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
            .to_owned();
    }
    let host = host_port.split(':').next().unwrap_or("");
    if !host.is_empty() && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.to_owned();
    }
    host.split('.').next().unwrap_or("").to_owned()
}

fn sort_key(graph: &TraceGraph<'_>, i: usize) -> (u64, causeway_model::CeId) {
    (graph.nodes[i].start_unix_ns, graph.nodes[i].ce_id)
}

/// Every captured outbound step of the graph with how it was answered,
/// ordered by node index (`ce_id`).
pub fn outbound_calls<'a>(graph: &TraceGraph<'a>) -> Vec<OutboundCall<'a>> {
    let mut calls = Vec::new();
    let mut waiting_by_parent: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, event) in graph.events() {
        if !event.kind.is_outbound() {
            continue;
        }
        let has_inbound_child = graph.nodes[i]
            .children
            .iter()
            .any(|&c| graph.nodes[c].event.is_some_and(|child| child.kind.is_inbound()));
        let answer = has_inbound_child.then_some(Answer::InboundChild);
        if answer.is_none()
            && let Some(parent) = graph.nodes[i].parent
        {
            waiting_by_parent.entry(parent).or_default().push(calls.len());
        }
        calls.push(OutboundCall { node: i, event, answer });
    }
    for (parent, mut waiting) in waiting_by_parent {
        waiting.sort_by_key(|&k| sort_key(graph, calls[k].node));
        match_siblings(graph, parent, &waiting, &mut calls);
    }
    calls
}

fn match_siblings(graph: &TraceGraph<'_>, parent: usize, waiting: &[usize], calls: &mut [OutboundCall<'_>]) {
    let mut inbound: Vec<usize> = graph.nodes[parent]
        .children
        .iter()
        .copied()
        .filter(|&c| graph.nodes[c].event.is_some_and(|e| e.kind.is_inbound()))
        .collect();
    if inbound.is_empty() {
        return;
    }
    inbound.sort_by_key(|&c| sort_key(graph, c));
    let service = |c: usize| graph.nodes[c].event.map_or("", |e| e.service.as_str());
    let mut claimed = vec![false; inbound.len()];

    let mut by_name: BTreeMap<&str, VecDeque<usize>> = BTreeMap::new();
    let mut by_host: BTreeMap<String, VecDeque<usize>> = BTreeMap::new();
    for (slot, &c) in inbound.iter().enumerate() {
        by_name.entry(service(c)).or_default().push_back(slot);
        by_host.entry(peer_host(service(c))).or_default().push_back(slot);
    }
    for &k in waiting {
        if let Some(slot) = take_unclaimed(by_name.get_mut(calls[k].peer()), &claimed) {
            claimed[slot] = true;
            calls[k].answer = Some(Answer::SiblingByName);
        }
    }
    for &k in waiting {
        if calls[k].answer.is_some() {
            continue;
        }
        if let Some(slot) = take_unclaimed(by_host.get_mut(&peer_host(calls[k].peer())), &claimed) {
            claimed[slot] = true;
            calls[k].answer = Some(Answer::SiblingByHost);
        }
    }
    // Slots before `first_open` are all claimed; skipping them keeps this
    // pass linear when many calls go unanswered.
    let mut first_open = 0;
    for &k in waiting {
        if calls[k].answer.is_some() {
            continue;
        }
        while first_open < inbound.len() && claimed[first_open] {
            first_open += 1;
        }
        let caller = calls[k].event.service.as_str();
        let found = (first_open..inbound.len()).find(|&slot| !claimed[slot] && service(inbound[slot]) != caller);
        if let Some(slot) = found {
            claimed[slot] = true;
            calls[k].answer = Some(Answer::SiblingByCount);
        }
    }
}

fn take_unclaimed(queue: Option<&mut VecDeque<usize>>, claimed: &[bool]) -> Option<usize> {
    let queue = queue?;
    while let Some(slot) = queue.pop_front() {
        if !claimed[slot] {
            return Some(slot);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::peer_host;

    #[test]
    fn peer_host_strips_scheme_port_path_and_domain() {
        assert_eq!(peer_host("pricing-service"), "pricing-service");
        assert_eq!(peer_host("http://Pricing.prod.svc:8080/price"), "pricing");
        assert_eq!(peer_host("user@auth.internal:443"), "auth");
        assert_eq!(peer_host("10.0.3.7:8080"), "10.0.3.7");
        assert_eq!(peer_host("[::1]:80"), "::1");
        assert_eq!(peer_host(""), "");
    }
}
