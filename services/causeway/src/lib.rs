//! The causeway binary as a library: the wiring of every target, so tests
//! start a whole `standalone` in-process on port 0 (see [`testing`]).

pub mod assemble_cmd;
pub mod config;
pub mod demo;
pub mod dev_key;
pub mod loadgen;
pub mod migrate_cmd;
pub mod serve;
pub mod targets;
pub mod testing;
pub mod topics_cmd;
