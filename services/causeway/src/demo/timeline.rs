//! When each demo request happened, relative to the moment the demo
//! starts: background traffic over the last two minutes, healthy until the
//! incident starts 90 seconds before the alert, then mostly failing.

use super::rng::Rng;
use super::topology::{Step, request_steps};

const SECOND_NS: u64 = 1_000_000_000;
/// How far back the background traffic starts.
pub const HISTORY_NS: u64 = 120 * SECOND_NS;
/// The ledger starts failing this long before `now` (the alert fires at `now`).
pub const INCIDENT_LEAD_NS: u64 = 90 * SECOND_NS;
/// The newest request starts this long before `now`, so every step has
/// completed by the time it is sent.
const NEWEST_NS: u64 = 2 * SECOND_NS;
/// Share of requests that fail once the incident has started.
const INCIDENT_FAILURE_PER_MILLE: u64 = 600;

/// The requests of one demo run, oldest first.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub steps: Vec<Step>,
    pub requests: usize,
    pub failing_requests: usize,
    /// Start of the first failing request.
    pub incident_start_ns: u64,
}

/// `background` requests spread evenly over the history (with jitter),
/// plus the first failing request exactly at the incident start, so even a
/// tiny run shows the incident.
pub fn plan(rng: &mut Rng, now_ns: u64, background: usize) -> Timeline {
    let first = now_ns - HISTORY_NS;
    let incident_start_ns = now_ns - INCIDENT_LEAD_NS;
    let spread = HISTORY_NS - NEWEST_NS;
    let slot = spread / background.max(1) as u64;
    let mut starts: Vec<(u64, bool)> = (0..background as u64)
        .map(|index| {
            let start = first + index * slot + rng.between(0, slot.saturating_sub(1));
            let failing = start >= incident_start_ns && rng.chance(INCIDENT_FAILURE_PER_MILLE);
            (start, failing)
        })
        .collect();
    starts.push((incident_start_ns, true));
    starts.sort_unstable();
    let mut steps = Vec::with_capacity(starts.len() * 10);
    for &(start, failing) in &starts {
        // Healthy requests vary between 0.8x and 1.5x the template; slower
        // ones cluster in the incident, as load shifts to the retries.
        let slowness = if start >= incident_start_ns {
            rng.between(1_000, 1_500)
        } else {
            rng.between(800, 1_200)
        };
        steps.extend(request_steps(rng, start, failing, slowness));
    }
    Timeline {
        steps,
        requests: starts.len(),
        failing_requests: starts.iter().filter(|(_, failing)| *failing).count(),
        incident_start_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::topology::{ALERTING_SERVICE, BREAKING_SERVICE};

    const NOW: u64 = 1_800_000_000_000_000_000;

    #[test]
    fn healthy_before_the_incident_failing_after() {
        let timeline = plan(&mut Rng::seeded(3), NOW, 200);
        assert_eq!(timeline.requests, 201);
        assert!(timeline.failing_requests > 1 && timeline.failing_requests < timeline.requests);
        let failures: Vec<&Step> = timeline.steps.iter().filter(|s| s.status >= 400).collect();
        let earliest = failures.iter().min_by_key(|s| s.end_ns()).expect("a failure");
        assert_eq!(earliest.service.name, BREAKING_SERVICE);
        assert!(failures.iter().all(|s| s.start_ns >= timeline.incident_start_ns));
        assert!(
            timeline
                .steps
                .iter()
                .all(|s| s.start_ns >= NOW - HISTORY_NS && s.end_ns() < NOW)
        );
        let roots = timeline.steps.iter().filter(|s| s.parent.is_none());
        assert!(roots.clone().all(|s| s.service.name == ALERTING_SERVICE));
        assert_eq!(roots.count(), timeline.requests);
    }

    #[test]
    fn one_background_request_still_shows_the_incident() {
        let timeline = plan(&mut Rng::seeded(9), NOW, 0);
        assert_eq!((timeline.requests, timeline.failing_requests), (1, 1));
    }
}
