//! Per-service failure timeline over the whole scope (DESIGN §5.8), so an
//! earlier failure shows even when the chosen trace is a later one.

use std::collections::BTreeMap;

use causeway_model::CausalEvent;
use causeway_model::time_parse::format_rfc3339;

use crate::artifact::ServiceWindow;
use crate::first_break::signed_diff;
use crate::input::ServiceTally;

/// `scope_events` holds one copy per `ce_id`. Sorted by first failure
/// (earliest first; services that never failed last), then service name.
pub fn window_summary(scope_events: &[&CausalEvent], fired_at_unix_ns: u64) -> Vec<ServiceWindow> {
    #[derive(Default)]
    struct Tally {
        events: u64,
        non_success: u64,
        first_failure: Option<u64>,
    }
    let mut per_service: BTreeMap<&str, Tally> = BTreeMap::new();
    for event in scope_events {
        let tally = per_service.entry(event.service.as_str()).or_default();
        tally.events += 1;
        if event.is_non_success() {
            tally.non_success += 1;
            let end = event.end_unix_ns();
            tally.first_failure = Some(tally.first_failure.map_or(end, |t| t.min(end)));
        }
    }
    let rows: Vec<ServiceWindow> = per_service
        .into_iter()
        .map(|(service, tally)| {
            row(
                service,
                tally.events,
                tally.non_success,
                tally.first_failure,
                fired_at_unix_ns,
            )
        })
        .collect();
    sorted(rows)
}

/// The same rows from the store's per-service counters over the scope:
/// every event counted, none sampled.
pub fn summary_from_tallies(tallies: &[ServiceTally], fired_at_unix_ns: u64) -> Vec<ServiceWindow> {
    let rows = tallies
        .iter()
        .filter(|tally| tally.events > 0)
        .map(|tally| {
            row(
                &tally.service,
                tally.events,
                tally.non_success,
                tally.first_failure_end_unix_ns,
                fired_at_unix_ns,
            )
        })
        .collect();
    sorted(rows)
}

fn row(service: &str, events: u64, non_success: u64, first_failure: Option<u64>, fired_at: u64) -> ServiceWindow {
    ServiceWindow {
        service: service.to_owned(),
        events,
        non_success,
        first_failure_unix_ns: first_failure,
        first_failure: first_failure.map(format_rfc3339),
        first_failure_lead_ns: first_failure.map(|t| signed_diff(fired_at, t)),
    }
}

fn sorted(mut rows: Vec<ServiceWindow>) -> Vec<ServiceWindow> {
    rows.sort_by(|a, b| {
        let key = |row: &ServiceWindow| (row.first_failure_unix_ns.is_none(), row.first_failure_unix_ns);
        key(a).cmp(&key(b)).then_with(|| a.service.cmp(&b.service))
    });
    rows
}
