//! Key encodings. Every key starts with the tenant, length-prefixed, so a
//! tenant's rows form one contiguous range and no tenant id can be a prefix
//! of another's; numbers are big-endian so byte order is numeric order.

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

/// `(topic, partition)`: a windower's progress.
#[cfg(test)]
pub fn progress(topic: &str, partition: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + topic.len() + 4);
    push_str(&mut key, topic);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// The topic and partition of a [`progress`] key.
pub fn split_progress(key: &[u8]) -> Option<(&str, u32)> {
    let (len, rest) = key.split_first_chunk::<2>()?;
    let (topic, partition) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    Some((
        std::str::from_utf8(topic).ok()?,
        u32::from_be_bytes(partition.try_into().ok()?),
    ))
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
        let longer = notice("abc", 2, 1);
        assert!(!longer.starts_with(&tenant("ab")));
        assert!(notice("ab", 2, 1).starts_with(&tenant("ab")));
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
