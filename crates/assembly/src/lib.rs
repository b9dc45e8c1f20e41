//! Pure artifact assembly: no I/O, no clock, no randomness. The same
//! [`AssemblyInput`] always gives a byte-identical [`Artifact`]
//! ([`Artifact::canonical_json`], [`Artifact::digest`]).
//!
//! See `docs/artifact.md` for every field, the linkage rule and the
//! completeness formula.

pub mod artifact;
mod assemble;
mod claims;
pub mod completeness;
pub mod coverage;
mod coverage_range;
mod dedupe;
mod first_break;
mod ghosts;
pub mod graph;
mod input;
pub mod linkage;
mod render;
mod selection;
mod stats;
mod window_summary;

pub use artifact::*;
pub use assemble::{assemble, ghost_peers};
pub use coverage::{AssemblyShares, Coverage, EdgeHealth, GhostCoverage, coverage};
pub use coverage_range::{call_edges, coverage_over_range};
pub use input::{
    AssemblyInput, CallSample, DEFAULT_PRE_ARM_NS, DEFAULT_SETTLE_NS, PreArmSignal, ServiceTally, WindowProgress,
    scope_bounds,
};
pub use render::{human_duration, human_lead, render_waterfall, tree_order};
