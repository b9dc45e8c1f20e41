//! Server-rendered HTML: the share page, the page a gone link answers, and
//! the coverage scorecard with its sign-in page.
//!
//! Templates are `maud` macros, so every value is escaped by construction;
//! the stylesheet and the optional script are embedded in the binary (no
//! CDN, nothing fetched). Pages read fully with JavaScript off: the script
//! only adds collapse/expand to the waterfall.

mod format;
mod gone;
mod layout;
mod period;
mod scorecard;
mod sections;
mod share;
mod sign_in;
mod topology_svg;
mod waterfall;

pub use gone::{GoneReason, gone_page};
pub use period::Period;
pub use scorecard::{AlertRow, ScoreRange, ScorecardView, scorecard_page};
pub use share::{ShareView, share_page};
pub use sign_in::sign_in_page;
