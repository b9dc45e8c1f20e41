//! Key encodings. Every key starts with the tenant, length-prefixed, so a
//! tenant's rows form one contiguous range and no tenant id can be a prefix
//! of another's; numbers are big-endian so byte order is numeric order.

use causeway_model::{CeId, TraceId};

/// `len:u16be bytes`: an exact-match component (tenant, service, caller).
pub fn push_str(key: &mut Vec<u8>, text: &str) {
    let bytes = &text.as_bytes()[..text.len().min(usize::from(u16::MAX))];
    key.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    key.extend_from_slice(bytes);
}

pub fn tenant(tenant_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + tenant_id.len() + 48);
    push_str(&mut key, tenant_id);
    key
}

/// `(tenant, trace_id, ce_id)`: the event row. Ordered by trace, so a
/// trace's events are one contiguous range (`trace_events`).
pub fn event(tenant_id: &str, trace_id: TraceId, ce_id: CeId) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(trace_id.as_bytes());
    key.extend_from_slice(ce_id.as_bytes());
    key
}

/// `(tenant, trace_id)`: the prefix of one trace's rows.
pub fn trace_prefix(tenant_id: &str, trace_id: TraceId) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(trace_id.as_bytes());
    key
}

/// `(tenant, start_ns, trace_id, ce_id)`: `window_events`.
pub fn by_time(tenant_id: &str, start_ns: u64, trace_id: TraceId, ce_id: CeId) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&start_ns.to_be_bytes());
    key.extend_from_slice(trace_id.as_bytes());
    key.extend_from_slice(ce_id.as_bytes());
    key
}

/// `(tenant, service, start_ns, trace_id, ce_id)`: `service_traces`; the
/// `ce_id` keeps one entry per event, so dropping one event leaves the
/// trace's other entries.
pub fn by_service(tenant_id: &str, service: &str, start_ns: u64, trace_id: TraceId, ce_id: CeId) -> Vec<u8> {
    let mut key = service_prefix(tenant_id, service);
    key.extend_from_slice(&start_ns.to_be_bytes());
    key.extend_from_slice(trace_id.as_bytes());
    key.extend_from_slice(ce_id.as_bytes());
    key
}

pub fn service_prefix(tenant_id: &str, service: &str) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    push_str(&mut key, service);
    key
}

/// `(tenant, end_ns, trace_id, ce_id)`: the failure index, non-success
/// events by completion time.
pub fn failure(tenant_id: &str, end_ns: u64, trace_id: TraceId, ce_id: CeId) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&end_ns.to_be_bytes());
    key.extend_from_slice(trace_id.as_bytes());
    key.extend_from_slice(ce_id.as_bytes());
    key
}

/// `(tenant, start_second, service)`: per-second activity counters.
pub fn activity(tenant_id: &str, second: u64, service: &str) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&second.to_be_bytes());
    push_str(&mut key, service);
    key
}

/// `(topic, partition)`: a windower's progress.
pub fn progress(topic: &str, partition: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + topic.len() + 4);
    push_str(&mut key, topic);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// The event row key `(tenant, trace_id, ce_id)` of an index key that ends
/// in `trace_id, ce_id`.
pub fn row_from_index(tenant_id: &str, index_key: &[u8]) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&index_key[index_key.len().saturating_sub(32)..]);
    key
}

/// The `(trace_id, ce_id)` an index key ends in.
pub fn ids_at_end(index_key: &[u8]) -> Option<(TraceId, CeId)> {
    let ids = index_key.get(index_key.len().checked_sub(32)?..)?;
    let (trace, ce) = ids.split_at(16);
    Some((TraceId::from_bytes(trace).ok()?, CeId::from_bytes(ce).ok()?))
}

/// `(expires_at_ns, row key)`: `expire` walks only what expired.
pub fn expiry(expires_at_ns: u64, row_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + row_key.len());
    key.extend_from_slice(&expires_at_ns.to_be_bytes());
    key.extend_from_slice(row_key);
    key
}

/// Splits an expiry key into its time and row key.
pub fn split_expiry(key: &[u8]) -> Option<(u64, &[u8])> {
    let (time, row) = key.split_at_checked(8)?;
    Some((u64::from_be_bytes(time.try_into().ok()?), row))
}

/// `(tenant, received_at_ns, content hash)`: notices in time order; the
/// same notice stored twice keeps one row.
pub fn notice(tenant_id: &str, received_at_ns: u64, content_hash: u64) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&received_at_ns.to_be_bytes());
    key.extend_from_slice(&content_hash.to_be_bytes());
    key
}

/// `(tenant, id)`: artifacts and alert states.
pub fn tenant_id_key(tenant_id: &str, id: &str) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `(tenant, u64::MAX - created_at, artifact_id)`: a forward scan lists
/// newest first.
pub fn artifact_listing(tenant_id: &str, created_at_ns: u64, artifact_id: &str) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&(u64::MAX - created_at_ns).to_be_bytes());
    key.extend_from_slice(artifact_id.as_bytes());
    key
}

/// `(tenant, month)`: usage counters.
pub fn usage(tenant_id: &str, month: u32) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&month.to_be_bytes());
    key
}

/// `(tenant, slot_start_s)`: one topology slot; a tenant's slots in time order.
pub fn topology_slot(tenant_id: &str, slot_start_s: u64) -> Vec<u8> {
    let mut key = tenant(tenant_id);
    key.extend_from_slice(&slot_start_s.to_be_bytes());
    key
}

/// `(slot_start_s, tenant)`: the slot expiry index, oldest first.
pub fn topology_slot_expiry(slot_start_s: u64, tenant_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(10 + tenant_id.len());
    key.extend_from_slice(&slot_start_s.to_be_bytes());
    push_str(&mut key, tenant_id);
    key
}

/// Reads a `push_str` component at the start of `bytes`; returns it and the rest.
pub fn take_str(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (len, rest) = bytes.split_at_checked(2)?;
    let len = usize::from(u16::from_be_bytes(len.try_into().ok()?));
    let (text, rest) = rest.split_at_checked(len)?;
    Some((String::from_utf8_lossy(text).into_owned(), rest))
}

/// The exclusive upper bound of every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff: no finite bound; callers scan to the table's end.
    Vec::new()
}

/// 64-bit FNV-1a, stable across runs.
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter().chain(std::iter::once(&0xffu8)))
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_never_prefix_each_other() {
        let longer = event("abc", TraceId([2; 16]), CeId([1; 16]));
        assert!(!longer.starts_with(&tenant("ab")));
        assert!(event("ab", TraceId([2; 16]), CeId([1; 16])).starts_with(&tenant("ab")));
    }

    #[test]
    fn newer_artifacts_sort_first() {
        assert!(artifact_listing("t", 20, "a") < artifact_listing("t", 10, "a"));
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), vec![1, 3]);
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
        assert!(prefix_end(&[0xff]).is_empty());
    }

    #[test]
    fn strings_round_trip() {
        let mut key = Vec::new();
        push_str(&mut key, "svc");
        key.push(9);
        assert_eq!(take_str(&key), Some(("svc".to_owned(), &[9u8][..])));
    }
}
