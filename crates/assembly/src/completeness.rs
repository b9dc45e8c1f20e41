//! The completeness label (DESIGN §5.5), topology-aware by counting
//! services against gaps:
//!
//! * `full`    — no gaps (and at least one captured event);
//! * `partial` — gaps, but at least [`SERVICES_PER_GAP_FOR_PARTIAL`]
//!   captured services per gap (coverage `S / (S + G)` of 80% or more);
//! * `low`     — fewer services per gap, or nothing captured.
//!
//! One gap in a 2-service trace: 2 < 4 -> `low`. One gap in a 20-service
//! trace: 20 >= 4 -> `partial`. The label only falls as services disappear
//! or gaps appear, so losing more events never improves it — except losing
//! the last event that named a gap, which removes the evidence of the gap.

use crate::artifact::{Completeness, CompletenessLabel};
use crate::input::WindowProgress;
use crate::stats::per_mille;

/// Captured services needed per gap for `partial`.
pub const SERVICES_PER_GAP_FOR_PARTIAL: u64 = 4;

pub fn label_for(captured_services: u64, captured_events: u64, gaps: u64) -> CompletenessLabel {
    if captured_events == 0 {
        CompletenessLabel::Low
    } else if gaps == 0 {
        CompletenessLabel::Full
    } else if captured_services >= SERVICES_PER_GAP_FOR_PARTIAL.saturating_mul(gaps) {
        CompletenessLabel::Partial
    } else {
        CompletenessLabel::Low
    }
}

/// The label and its explanation. A window that had not caught up when it
/// was read may lack events of this very trace: the label is then never
/// `full`, whatever the trace looks like.
pub fn completeness(captured_services: u64, captured_events: u64, gaps: u64, window: WindowProgress) -> Completeness {
    let trace_label = label_for(captured_services, captured_events, gaps);
    let label = if window.complete {
        trace_label
    } else {
        trace_label.min(CompletenessLabel::Partial)
    };
    let coverage_per_mille = per_mille(captured_services, captured_services + gaps);
    let explanation = match trace_label {
        CompletenessLabel::Full if captured_events > 0 => format!(
            "every parent named by the {captured_events} captured events was captured; \
             {captured_services} services, no gaps"
        ),
        CompletenessLabel::Full => String::new(),
        CompletenessLabel::Partial => format!(
            "{gaps} gap(s) against {captured_services} captured services \
             (at least {SERVICES_PER_GAP_FOR_PARTIAL} services per gap): the chain is largely intact"
        ),
        CompletenessLabel::Low if captured_events == 0 => {
            "no events were captured for a trace of this alert".to_owned()
        }
        CompletenessLabel::Low => format!(
            "{gaps} gap(s) against {captured_services} captured services \
             (fewer than {SERVICES_PER_GAP_FOR_PARTIAL} services per gap): treat conclusions with caution"
        ),
    };
    let explanation = if window.complete {
        explanation
    } else {
        format!(
            "the window had not caught up when this was assembled ({} record(s) not yet written), \
             so events of this trace may be missing; {explanation}",
            window.lag_records
        )
    };
    Completeness {
        label,
        captured_services,
        captured_events,
        gaps,
        coverage_per_mille,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gap_in_two_services_is_low_and_in_twenty_is_partial() {
        assert_eq!(label_for(2, 4, 1), CompletenessLabel::Low);
        assert_eq!(label_for(20, 40, 1), CompletenessLabel::Partial);
        assert_eq!(label_for(2, 4, 0), CompletenessLabel::Full);
    }

    #[test]
    fn threshold_is_four_services_per_gap() {
        assert_eq!(label_for(4, 8, 1), CompletenessLabel::Partial);
        assert_eq!(label_for(3, 8, 1), CompletenessLabel::Low);
        assert_eq!(label_for(8, 8, 2), CompletenessLabel::Partial);
        assert_eq!(label_for(7, 8, 2), CompletenessLabel::Low);
        assert_eq!(label_for(0, 0, 0), CompletenessLabel::Low);
    }

    #[test]
    fn label_never_rises_with_more_gaps_or_fewer_services() {
        for services in 0..30u64 {
            for gaps in 0..10u64 {
                let here = label_for(services, services + 1, gaps);
                assert!(label_for(services, services + 1, gaps + 1) <= here);
                if services > 0 {
                    assert!(label_for(services - 1, services, gaps) <= here);
                }
            }
        }
    }

    #[test]
    fn coverage_is_services_over_services_plus_gaps() {
        let c = completeness(20, 40, 1, WindowProgress::default());
        assert_eq!(c.coverage_per_mille, 952);
        assert_eq!(completeness(2, 3, 1, WindowProgress::default()).coverage_per_mille, 666);
    }

    #[test]
    fn a_window_behind_is_never_full() {
        let behind = WindowProgress {
            complete: false,
            lag_records: 12,
        };
        let c = completeness(5, 9, 0, behind);
        assert_eq!(c.label, CompletenessLabel::Partial);
        assert!(
            c.explanation.contains("12 record(s) not yet written"),
            "{}",
            c.explanation
        );
        assert_eq!(
            completeness(2, 3, 1, behind).label,
            CompletenessLabel::Low,
            "low stays low"
        );
        assert_eq!(
            completeness(5, 9, 0, WindowProgress::default()).label,
            CompletenessLabel::Full
        );
    }
}
