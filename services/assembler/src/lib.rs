//! The assembler target.
