//! Pure artifact assembly: no I/O, no clock, no randomness.
