//! The wall clock, read in one place.

pub use causeway_runtime::clock::now_unix_ns;
