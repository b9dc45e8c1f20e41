//! Fresh events without encoding them again: a pool of encoded requests is
//! sent round after round, and each round rewrites every id and timestamp
//! in place, at offsets found once when the pool is built. Ids are XOR-ed
//! with a key of the round's own (a parent and its child change alike, so
//! the chains stay linked) and times move forward by how long ago the pool
//! was first sent, so events stay distinct and recent for as long as a run
//! lasts while the generator spends a copy and a few hundred writes per
//! request, not an encoding.

use std::sync::Mutex;

use anyhow::{Context, bail};
use bytes::Bytes;
use causeway_model::{CeId, TraceId};

use super::args::Protocol;
use super::payload::Request;

/// One encoded request and where its ids and times are.
#[derive(Debug, Clone)]
pub struct Template {
    request: Request,
    patches: Vec<Patch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Patch {
    offset: usize,
    form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Raw id bytes: the first 8 change.
    RawId,
    /// A hyphenated UUID: the first 8 bytes are its first 16 hex digits.
    UuidText,
    /// Unix nanoseconds, protobuf fixed64 (little-endian).
    Fixed64Time,
    /// Unix nanoseconds as this many decimal digits.
    DecimalTime(usize),
}

/// OTLP: ExportTraceServiceRequest.resource_spans (1) -> scope_spans (2) ->
/// spans (2); in a span trace_id (1), span_id (2), parent_span_id (4), and
/// start and end times (7, 8).
const OTLP_PATH: &[u32] = &[1, 2, 2];
const OTLP_LEAVES: &[(u32, Form)] = &[
    (1, Form::RawId),
    (2, Form::RawId),
    (4, Form::RawId),
    (7, Form::Fixed64Time),
    (8, Form::Fixed64Time),
];
/// causeway's IngestRequest.batch (1) -> events (1); in an event trace_id
/// (2), ce_id (3), parent_ce_id (4) and start (8).
const INGEST_PATH: &[u32] = &[1, 1];
const INGEST_LEAVES: &[(u32, Form)] = &[
    (2, Form::RawId),
    (3, Form::RawId),
    (4, Form::RawId),
    (8, Form::Fixed64Time),
];
/// SDK JSON keys whose values change (compact JSON, as loadgen writes it).
const JSON_IDS: [&[u8]; 3] = [b"\"trace_id\":\"", b"\"ce_id\":\"", b"\"parent_ce_id\":\""];
const JSON_TIMES: [&[u8]; 2] = [b"\"wall_ts_ns\":", b"\"flushed_at\":"];

impl Template {
    /// Finds where `request`'s ids and times are; an error when fewer ids
    /// are found than its events carry.
    pub fn new(protocol: Protocol, request: Request) -> anyhow::Result<Self> {
        let mut patches = Vec::new();
        match protocol {
            Protocol::SdkJson => find_json(&request.body, &mut patches)?,
            Protocol::OtlpHttp | Protocol::OtlpGrpc => walk(&request.body, 0, OTLP_PATH, OTLP_LEAVES, &mut patches)?,
            Protocol::Grpc => walk(&request.body, 0, INGEST_PATH, INGEST_LEAVES, &mut patches)?,
        }
        let template = Self { request, patches };
        // Every event has a trace id and its own id: fewer means the walk missed some.
        let ids = template
            .patches
            .iter()
            .filter(|p| matches!(p.form, Form::RawId | Form::UuidText));
        if ids.count() < 2 * template.request.events {
            bail!("loadgen could not find every id in its own {protocol:?} request");
        }
        Ok(template)
    }

    pub fn events(&self) -> usize {
        self.request.events
    }

    /// The request as round `round` sends it: `key` changes every id,
    /// `shift_ns` moves every time forward. Round 0 (key 0, shift 0) is the
    /// request as built.
    pub fn round(&self, key: u64, shift_ns: u64) -> Request {
        if key == 0 && shift_ns == 0 {
            return self.request.clone();
        }
        let mut body = self.request.body.to_vec();
        for patch in &self.patches {
            apply(&mut body, *patch, key, shift_ns);
        }
        let ids = self
            .request
            .ids
            .iter()
            .map(|(trace, ce)| (TraceId(xor_front(trace.0, key)), CeId(xor_front(ce.0, key))))
            .collect();
        Request {
            body: Bytes::from(body),
            events: self.request.events,
            ids,
        }
    }
}

/// Hands out the pool round after round, until `limit` CEs when set.
pub struct Recycler {
    templates: Vec<Template>,
    limit: Option<u64>,
    state: Mutex<Rounds>,
}

#[derive(Default)]
struct Rounds {
    next: usize,
    round: u64,
    shift_ns: u64,
    /// When the first request went out.
    started_ns: Option<u64>,
    handed_out_ces: u64,
}

impl Recycler {
    pub fn new(templates: Vec<Template>, limit: Option<u64>) -> Self {
        Self {
            templates,
            limit,
            state: Mutex::new(Rounds::default()),
        }
    }

    /// The next request; a new round moves times by how long ago the first
    /// round began, so each round's events are as recent as the first's were.
    pub fn next(&self) -> Option<Request> {
        let (template, key, shift_ns) = {
            let mut state = self.state.lock().ok()?;
            if self.templates.is_empty() || self.limit.is_some_and(|limit| state.handed_out_ces >= limit) {
                return None;
            }
            let now = causeway_runtime::clock::now_unix_ns();
            let started = *state.started_ns.get_or_insert(now);
            if state.next == self.templates.len() {
                state.next = 0;
                state.round += 1;
                state.shift_ns = now.saturating_sub(started);
            }
            let template = &self.templates[state.next];
            state.next += 1;
            state.handed_out_ces += template.events() as u64;
            (template, round_key(state.round), state.shift_ns)
        };
        Some(template.round(key, shift_ns))
    }
}

/// The key of round `round`: 0 for the first, distinct and scattered after.
pub fn round_key(round: u64) -> u64 {
    if round == 0 {
        return 0;
    }
    // splitmix64's finalizer: a bijection, so distinct rounds get distinct keys.
    let mut z = round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

fn xor_front(mut id: [u8; 16], key: u64) -> [u8; 16] {
    for (byte, k) in id.iter_mut().zip(key.to_be_bytes()) {
        *byte ^= k;
    }
    id
}

fn apply(body: &mut [u8], patch: Patch, key: u64, shift_ns: u64) {
    let at = patch.offset;
    match patch.form {
        Form::RawId => {
            for (byte, k) in body[at..at + 8].iter_mut().zip(key.to_be_bytes()) {
                *byte ^= k;
            }
        }
        Form::UuidText => {
            // Hex digits 0..8, 9..13 and 14..18 (hyphens at 8 and 13).
            let digits = [at..at + 8, at + 9..at + 13, at + 14..at + 18];
            let mut value = 0u64;
            for range in digits.clone() {
                for &c in &body[range] {
                    value = value << 4 | u64::from(hex_value(c));
                }
            }
            let mut value = value ^ key;
            for range in digits.into_iter().rev() {
                for slot in body[range].iter_mut().rev() {
                    *slot = b"0123456789abcdef"[(value & 0xf) as usize];
                    value >>= 4;
                }
            }
        }
        Form::Fixed64Time => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&body[at..at + 8]);
            let moved = u64::from_le_bytes(bytes).saturating_add(shift_ns);
            body[at..at + 8].copy_from_slice(&moved.to_le_bytes());
        }
        Form::DecimalTime(len) => {
            let value = body[at..at + len]
                .iter()
                .fold(0u64, |v, c| v * 10 + u64::from(c - b'0'));
            let mut moved = value.saturating_add(shift_ns);
            // Same digit count as long as the time stays before 2286.
            for slot in body[at..at + len].iter_mut().rev() {
                *slot = b'0' + (moved % 10) as u8;
                moved /= 10;
            }
        }
    }
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Records the leaves of the messages on `path` in the protobuf `buf`
/// (which starts at `base` in the whole body).
fn walk(buf: &[u8], base: usize, path: &[u32], leaves: &[(u32, Form)], out: &mut Vec<Patch>) -> anyhow::Result<()> {
    let mut at = 0;
    while at < buf.len() {
        let key = varint(buf, &mut at)?;
        let (field, wire) = ((key >> 3) as u32, key & 7);
        let leaf = if path.is_empty() {
            leaves
                .iter()
                .find(|(number, _)| *number == field)
                .map(|(_, form)| *form)
        } else {
            None
        };
        match wire {
            0 => {
                varint(buf, &mut at)?;
            }
            1 => {
                if leaf == Some(Form::Fixed64Time) && at + 8 <= buf.len() {
                    out.push(Patch {
                        offset: base + at,
                        form: Form::Fixed64Time,
                    });
                }
                at += 8;
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut at)?)?;
                let value = buf.get(at..at + len).context("a length past the end")?;
                match path.split_first() {
                    Some((&next, rest)) if next == field => walk(value, base + at, rest, leaves, out)?,
                    None if leaf == Some(Form::RawId) && len >= 8 => out.push(Patch {
                        offset: base + at,
                        form: Form::RawId,
                    }),
                    _ => {}
                }
                at += len;
            }
            5 => at += 4,
            _ => bail!("wire type {wire} in loadgen's own request"),
        }
    }
    if at > buf.len() {
        bail!("a field past the end of loadgen's own request");
    }
    Ok(())
}

fn varint(buf: &[u8], at: &mut usize) -> anyhow::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at).context("a varint past the end")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    bail!("a varint longer than 10 bytes")
}

fn find_json(body: &[u8], out: &mut Vec<Patch>) -> anyhow::Result<()> {
    for pattern in JSON_IDS {
        for start in occurrences(body, pattern) {
            let offset = start + pattern.len();
            let hyphens = [offset + 8, offset + 13, offset + 18].map(|at| body.get(at) == Some(&b'-'));
            if body.len() < offset + 36 || hyphens.contains(&false) {
                bail!("an id that is not a hyphenated UUID in loadgen's own request");
            }
            out.push(Patch {
                offset,
                form: Form::UuidText,
            });
        }
    }
    for pattern in JSON_TIMES {
        for start in occurrences(body, pattern) {
            let offset = start + pattern.len();
            let len = body[offset..].iter().take_while(|c| c.is_ascii_digit()).count();
            if len == 0 || len > 19 {
                bail!("a time of {len} digits in loadgen's own request");
            }
            out.push(Patch {
                offset,
                form: Form::DecimalTime(len),
            });
        }
    }
    Ok(())
}

fn occurrences<'a>(body: &'a [u8], pattern: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    body.windows(pattern.len())
        .enumerate()
        .filter(move |(_, window)| *window == pattern)
        .map(|(at, _)| at)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use causeway_model::proto::v1;
    use causeway_model::{CausalEvent, decode_otlp_protobuf, decode_sdk_batch, events_from_ce_batch};
    use prost::Message;

    use super::*;
    use crate::demo::rng::Rng;
    use crate::demo::topology::Reporting;
    use crate::loadgen::payload::Batcher;
    use crate::loadgen::traffic::{Traffic, services};

    const NOW: u64 = 1_800_000_000_000_000_000;

    fn decode(protocol: Protocol, body: &Bytes) -> Vec<CausalEvent> {
        match protocol {
            Protocol::SdkJson => decode_sdk_batch(body, "t", u64::MAX).expect("sdk").events,
            Protocol::Grpc => {
                let ingest = v1::IngestRequest::decode(body.clone()).expect("proto");
                events_from_ce_batch(ingest.batch.expect("batch"), Some("t"), u64::MAX).expect("valid")
            }
            _ => decode_otlp_protobuf(body, "t", u64::MAX).expect("otlp"),
        }
    }

    /// Each round of each protocol decodes, through the gateway's own
    /// decoders, to fresh ids that are exactly the ones it claims, with the
    /// parent links and every time moved by the shift.
    #[test]
    fn every_round_is_fresh_linked_and_moved_in_time() {
        for protocol in [Protocol::SdkJson, Protocol::OtlpHttp, Protocol::Grpc] {
            let reporting = if protocol == Protocol::SdkJson {
                Reporting::SdkJson
            } else {
                Reporting::Otlp
            };
            let traffic = Traffic::new(Rng::seeded(3), services(4, reporting), 200);
            let requests = Batcher::new(traffic, protocol, 40).all(400, |_| NOW).expect("encode");
            let templates: Vec<Template> = requests
                .into_iter()
                .map(|r| Template::new(protocol, r).expect("template"))
                .collect();
            let original: Vec<Vec<CausalEvent>> = templates.iter().map(|t| decode(protocol, &t.request.body)).collect();
            let mut seen = BTreeSet::new();
            for round in 0..3u64 {
                let shift = round * 7_000_000_123;
                for (template, before) in templates.iter().zip(&original) {
                    let request = template.round(round_key(round), shift);
                    let events = decode(protocol, &request.body);
                    let ids: Vec<(TraceId, CeId)> = events.iter().map(|e| (e.trace_id, e.ce_id)).collect();
                    assert_eq!(ids, request.ids, "{protocol:?} round {round}");
                    assert!(ids.iter().all(|id| seen.insert(*id)), "{protocol:?}: an id came back");
                    for (after, before) in events.iter().zip(before) {
                        assert_eq!(after.start_unix_ns, before.start_unix_ns + shift);
                        assert_eq!(after.duration_ns, before.duration_ns);
                        assert_eq!(after.service, before.service);
                        assert_eq!(after.parent_ce_id.is_some(), before.parent_ce_id.is_some());
                        if let (Some(a), Some(b)) = (after.parent_ce_id, before.parent_ce_id) {
                            assert_eq!(a.0, xor_front(b.0, round_key(round)));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn round_keys_are_distinct_and_the_first_changes_nothing() {
        assert_eq!(round_key(0), 0);
        let keys: BTreeSet<u64> = (1..10_000).map(round_key).collect();
        assert_eq!(keys.len(), 9_999);
        assert!(!keys.contains(&0));
    }
}
