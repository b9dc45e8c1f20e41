//! The gateway target.
