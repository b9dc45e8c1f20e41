//! The ghost services' caller-side figures over the whole scope, from the
//! store's peer index: the assembly names the ghosts of the chosen trace
//! first, then only their calls are read — not the window's events.

use causeway_assembly::linkage::UNNAMED_PEER;
use causeway_assembly::{AssemblyInput, CallSample, ReadCut, ghost_peers};
use causeway_store::{PeerCall, StoreError, WindowStore};

use crate::config::AssemblerConfig;

/// The index names of one ghost: a step naming no peer is indexed under
/// `""` and reported as [`UNNAMED_PEER`], which a peer may also be called.
fn index_names(peer: &str) -> Vec<&str> {
    if peer == UNNAMED_PEER {
        vec!["", UNNAMED_PEER]
    } else {
        vec![peer]
    }
}

/// Fills `input.peer_calls` for every ghost peer of the chosen trace, at
/// most `max_peer_calls` each (the latest; a cut is reported past it).
pub async fn read_ghost_calls(
    window: &dyn WindowStore,
    config: &AssemblerConfig,
    input: &mut AssemblyInput,
) -> Result<(), StoreError> {
    let (from, to) = input.scope_bounds();
    let limit = config.max_peer_calls;
    for peer in ghost_peers(input) {
        let names = index_names(&peer);
        let mut calls: Vec<PeerCall> = Vec::new();
        for name in &names {
            let read = window
                .peer_calls(&input.alert.tenant_id, name, from, to, limit.saturating_add(1))
                .await?;
            calls.extend(read);
        }
        if calls.len() > limit {
            // Each read is in start order already; two are merged.
            if names.len() > 1 {
                calls.sort_unstable_by_key(|call| (call.start_unix_ns, call.trace_id, call.ce_id));
            }
            calls.drain(..calls.len() - limit);
            input.cuts.push(ReadCut {
                what: "ghost_calls".to_owned(),
                limit: limit as u64,
                kept: limit as u64,
                total: None,
                note: format!("the caller-side figures of {peer} cover the {limit} calls to it nearest the alert"),
            });
        }
        let samples = calls
            .iter()
            .map(|call| CallSample {
                duration_ns: call.duration_ns,
                non_success: call.non_success,
            })
            .collect();
        input.peer_calls.insert(peer, samples);
    }
    Ok(())
}
