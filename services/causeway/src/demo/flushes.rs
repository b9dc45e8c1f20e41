//! The timeline cut into the requests the services' exporters would have
//! made: every service flushes what completed in each 5-second interval
//! (the SDK and the OpenTelemetry batch processor both flush on a timer),
//! in chunks no larger than an exporter's batch.

use std::collections::BTreeMap;

use super::otlp;
use super::sdk_json;
use super::topology::{Reporting, Step};

/// How often each service flushes.
const FLUSH_INTERVAL_NS: u64 = 5_000_000_000;
/// Most events in one request (well under the gateway's 10,000).
const MAX_EVENTS_PER_REQUEST: usize = 2_000;

pub const SDK_BATCH_PATH: &str = "/api/v1/ingest/batch";
pub const OTLP_TRACES_PATH: &str = "/v1/traces";

/// One request, ready to send.
#[derive(Debug, Clone)]
pub struct Flush {
    pub service: &'static str,
    pub reporting: Reporting,
    pub events: usize,
    pub body: Vec<u8>,
}

impl Flush {
    pub fn path(&self) -> &'static str {
        match self.reporting {
            Reporting::SdkJson => SDK_BATCH_PATH,
            Reporting::Otlp => OTLP_TRACES_PATH,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self.reporting {
            Reporting::SdkJson => "application/json",
            Reporting::Otlp => "application/x-protobuf",
        }
    }
}

/// Every flush in time order (interval, then service); `now_ns` caps the
/// flush time of the last interval.
pub fn flushes(steps: &[Step], now_ns: u64) -> anyhow::Result<Vec<Flush>> {
    let mut by_interval: BTreeMap<(u64, &'static str), Vec<&Step>> = BTreeMap::new();
    for step in steps {
        by_interval
            .entry((step.end_ns() / FLUSH_INTERVAL_NS, step.service.name))
            .or_default()
            .push(step);
    }
    let mut out = Vec::new();
    for ((interval, service), mut pending) in by_interval {
        pending.sort_by_key(|step| step.end_ns());
        let flushed_at = ((interval + 1) * FLUSH_INTERVAL_NS).min(now_ns);
        for chunk in pending.chunks(MAX_EVENTS_PER_REQUEST) {
            let reporting = chunk[0].service.reporting;
            let body = match reporting {
                Reporting::SdkJson => serde_json::to_vec(&sdk_json::batch(service, chunk, flushed_at))?,
                Reporting::Otlp => otlp::export(service, chunk),
            };
            out.push(Flush {
                service,
                reporting,
                events: chunk.len(),
                body,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;
    use crate::demo::timeline::plan;
    use crate::demo::topology::SERVICES;

    #[test]
    fn every_step_is_sent_once_by_its_own_service() {
        let now = 1_800_000_000_000_000_000;
        let timeline = plan(&mut Rng::seeded(2), now, 300);
        let flushes = flushes(&timeline.steps, now).expect("encode");
        assert_eq!(flushes.iter().map(|f| f.events).sum::<usize>(), timeline.steps.len());
        for service in SERVICES {
            let mine: Vec<&Flush> = flushes.iter().filter(|f| f.service == service.name).collect();
            assert!(mine.len() > 10, "{} flushes several times", service.name);
            assert!(mine.iter().all(|f| f.reporting == service.reporting));
        }
        assert!(flushes.iter().all(|f| f.events <= MAX_EVENTS_PER_REQUEST));
    }
}
