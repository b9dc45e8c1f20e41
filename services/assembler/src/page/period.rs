//! What period the scorecard's call figures cover: rolled-up 5-minute slots
//! over the range, then the live window. Said on the page, with what is
//! missing, so no figure claims more than it holds.

use causeway_assembly::human_duration;
use maud::{Markup, html};

use super::format::count;

pub struct Period {
    /// Slots summed (each five minutes of calls).
    pub slots: usize,
    /// Start of the oldest slot summed, end of the newest (RFC 3339).
    pub slots_from: Option<String>,
    pub slots_to: Option<String>,
    /// More slots were in range than were read: the oldest were left out.
    pub slots_truncated: bool,
    /// Where the live window's calls start counting (RFC 3339).
    pub live_from: String,
    /// Between the newest slot and the live window: calls counted nowhere
    /// (the roll-up had not stored those slots).
    pub gap: Option<(String, String)>,
    /// The live window's length: services, ghost latencies.
    pub window_seconds: u64,
    /// The live window held more events than are read at once (the limit):
    /// its oldest were left out.
    pub live_truncated: Option<usize>,
}

fn at(when: &str) -> Markup {
    html! { time datetime=(when) { (when) } }
}

pub fn period(p: &Period, range_label: &str) -> Markup {
    html! {
        p.hint #period {
            @match (&p.slots_from, &p.slots_to) {
                (Some(from), Some(to)) => {
                    "Calls over the last " (range_label) ": " (count(p.slots as u64, "five-minute slot", "five-minute slots")) " rolled up from "
                    (at(from)) " to " (at(to)) ", then the live window from " (at(&p.live_from)) " to now."
                }
                _ => {
                    "Calls over the last " (range_label) ": no rolled-up slots in this range yet, so only the live window, from "
                    (at(&p.live_from)) " to now."
                }
            }
            @if p.slots_truncated {
                " Only the newest " (p.slots) " slots were read: older calls are left out."
            }
            @if let Some((from, to)) = &p.gap {
                " Calls from " (at(from)) " to " (at(to)) " are not counted: the roll-up had not stored those slots."
            }
            @if let Some(limit) = p.live_truncated {
                " The live window holds more than " (count(limit as u64, "event", "events")) ", the most read at once: its oldest are left out."
            }
            " Ghost latencies come from the live window only (the last "
            (human_duration(p.window_seconds.saturating_mul(1_000_000_000))) ")."
        }
    }
}
