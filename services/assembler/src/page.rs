//! Server-rendered HTML: the share page and the page a gone link answers.
//!
//! Templates are `maud` macros, so every value is escaped by construction;
//! the stylesheet and the optional script are embedded in the binary (no
//! CDN, nothing fetched). Pages read fully with JavaScript off: the script
//! only adds collapse/expand to the waterfall.

mod format;
mod gone;
mod layout;
mod sections;
mod share;
mod waterfall;

pub use gone::{GoneReason, gone_page};
pub use share::{ShareView, share_page};
