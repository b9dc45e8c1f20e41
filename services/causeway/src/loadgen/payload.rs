//! Requests, encoded before they are timed: traces are cut into what each
//! service's exporter would send (one service per request, up to `batch`
//! events), and each request is encoded once for the chosen protocol with
//! the demo's encoders.

use bytes::Bytes;
use causeway_model::proto::v1;
use causeway_model::{CausalEvent, CeId, Kind, TraceId};
use prost::Message;

use super::args::Protocol;
use super::traffic::Traffic;
use crate::demo::topology::{Direction, Step};
use crate::demo::{otlp, sdk_json};

/// One encoded request and the ids it carries (for --verify).
#[derive(Debug, Clone)]
pub struct Request {
    pub body: Bytes,
    pub events: usize,
    pub ids: Vec<(TraceId, CeId)>,
}

/// Encodes `steps` (all of one service) for `protocol`.
pub fn encode(protocol: Protocol, service: &str, steps: &[&Step], now_ns: u64) -> anyhow::Result<Bytes> {
    Ok(match protocol {
        Protocol::SdkJson => serde_json::to_vec(&sdk_json::batch(service, steps, now_ns))?.into(),
        Protocol::OtlpHttp | Protocol::OtlpGrpc => otlp::export(service, steps).into(),
        Protocol::Grpc => v1::IngestRequest {
            batch: Some(v1::CeBatch {
                events: steps.iter().map(|step| v1::CausalEvent::from(&event(step))).collect(),
            }),
        }
        .encode_to_vec()
        .into(),
    })
}

/// A step as the model holds it (the gateway replaces the tenant with the key's).
fn event(step: &Step) -> CausalEvent {
    let span = |id: &[u8; 8]| {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(id);
        CeId(bytes)
    };
    CausalEvent {
        tenant_id: "loadgen".to_owned(),
        trace_id: TraceId(step.trace_id),
        ce_id: span(&step.id),
        parent_ce_id: step.parent.as_ref().map(span),
        service: step.service.name.to_owned(),
        kind: match step.direction {
            Direction::Inbound => Kind::HttpIn,
            Direction::Outbound => Kind::HttpOut,
        },
        status: step.status,
        start_unix_ns: step.start_ns,
        duration_ns: step.duration_ns,
        operation: Some(format!("{} {}", step.method, step.route)),
        peer: step.peer.map(str::to_owned),
        environment: Some(sdk_json::ENVIRONMENT.to_owned()),
    }
}

fn ids(steps: &[&Step]) -> Vec<(TraceId, CeId)> {
    steps
        .iter()
        .map(|step| {
            let mut ce = [0u8; 16];
            ce[..8].copy_from_slice(&step.id);
            (TraceId(step.trace_id), CeId(ce))
        })
        .collect()
}

/// Cuts traces into per-service requests of `batch` events.
pub struct Batcher {
    traffic: Traffic,
    protocol: Protocol,
    batch: usize,
    /// Steps generated but not yet in a request, per service.
    pending: Vec<Vec<Step>>,
    generated: u64,
}

impl Batcher {
    pub fn new(traffic: Traffic, protocol: Protocol, batch: usize) -> Self {
        let pending = vec![Vec::new(); traffic.services().len()];
        Self {
            traffic,
            protocol,
            batch: batch.max(1),
            pending,
            generated: 0,
        }
    }

    /// Generates traces until `ces` CEs exist, then returns every request:
    /// full ones as they fill, then each service's remainder.
    pub fn all(&mut self, ces: u64, mut end_ns: impl FnMut(u64) -> u64) -> anyhow::Result<Vec<Request>> {
        let mut out = Vec::new();
        while self.generated < ces {
            self.add_trace(end_ns(self.generated));
            while let Some(service) = self.pending.iter().position(|steps| steps.len() >= self.batch) {
                out.push(self.take(service, self.batch, end_ns(self.generated))?);
            }
        }
        for service in 0..self.pending.len() {
            while !self.pending[service].is_empty() {
                let count = self.pending[service].len().min(self.batch);
                out.push(self.take(service, count, end_ns(self.generated))?);
            }
        }
        Ok(out)
    }

    fn add_trace(&mut self, end_ns: u64) {
        let steps = self.traffic.trace(end_ns);
        self.generated += steps.len() as u64;
        for step in steps {
            let index = self
                .traffic
                .services()
                .iter()
                .position(|service| service.name == step.service.name)
                .unwrap_or(0);
            self.pending[index].push(step);
        }
    }

    fn take(&mut self, service: usize, count: usize, now_ns: u64) -> anyhow::Result<Request> {
        let steps: Vec<Step> = self.pending[service].drain(..count).collect();
        let refs: Vec<&Step> = steps.iter().collect();
        let name = self.traffic.services()[service].name;
        Ok(Request {
            body: encode(self.protocol, name, &refs, now_ns)?,
            events: refs.len(),
            ids: ids(&refs),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use causeway_model::{decode_otlp_protobuf, decode_sdk_batch};

    use super::*;
    use crate::demo::rng::Rng;
    use crate::demo::topology::Reporting;
    use crate::loadgen::traffic::services;

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn batcher(protocol: Protocol, batch: usize) -> Batcher {
        let reporting = match protocol {
            Protocol::SdkJson => Reporting::SdkJson,
            _ => Reporting::Otlp,
        };
        Batcher::new(
            Traffic::new(Rng::seeded(8), services(5, reporting), 100),
            protocol,
            batch,
        )
    }

    /// Every protocol's requests decode, through the gateway's own decoders,
    /// to exactly the ids they claim, each once.
    #[test]
    fn every_request_decodes_to_its_ids() {
        for protocol in [Protocol::SdkJson, Protocol::OtlpHttp, Protocol::Grpc] {
            let requests = batcher(protocol, 50)
                .all(1_000, |_| NOW - 1_000_000_000)
                .expect("encode");
            let total: usize = requests.iter().map(|r| r.events).sum();
            assert!((1_000..1_100).contains(&total), "{total}");
            assert!(requests.iter().all(|r| r.events <= 50 && r.events == r.ids.len()));
            let mut seen = BTreeSet::new();
            for request in &requests {
                let events = match protocol {
                    Protocol::SdkJson => decode_sdk_batch(&request.body, "t", NOW).expect("sdk").events,
                    Protocol::Grpc => {
                        let ingest = v1::IngestRequest::decode(request.body.clone()).expect("proto");
                        causeway_model::events_from_ce_batch(ingest.batch.expect("batch"), Some("t"), NOW)
                            .expect("valid")
                    }
                    _ => decode_otlp_protobuf(&request.body, "t", NOW).expect("otlp"),
                };
                let decoded: Vec<(TraceId, CeId)> = events.iter().map(|e| (e.trace_id, e.ce_id)).collect();
                assert_eq!(decoded, request.ids, "{protocol:?}");
                assert!(events.iter().all(|e| e.service == events[0].service));
                assert!(request.ids.iter().all(|id| seen.insert(*id)));
            }
        }
    }
}
