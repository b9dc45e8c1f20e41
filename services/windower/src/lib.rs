//! The windower target.
