//! HMAC-SHA256 (RFC 2104) over SHA-256, and a comparison whose time does
//! not depend on where the bytes differ: what PagerDuty and Slack sign with.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in message {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Equal bytes, compared without an early exit.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether any of `signatures` (hex, as sent) is the HMAC of `message`
/// under any of `secrets`: rotation lists several of either.
pub(crate) fn any_matches<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    signatures: &[Vec<u8>],
    message: &[&[u8]],
) -> bool {
    secrets.into_iter().any(|secret| {
        let expected = hmac_sha256(secret.as_bytes(), message);
        signatures.iter().any(|sent| constant_time_eq(sent, &expected))
    })
}

/// Lower-case hex of a MAC (tests and the demo sign with it).
pub fn sign_hex(secret: &str, message: &[&[u8]]) -> String {
    hex_encode(&hmac_sha256(secret.as_bytes(), message))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex text to bytes; `None` when it is not hex.
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_vectors() {
        // Test case 2.
        assert_eq!(
            sign_hex("Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        let key = [0xaau8; 131];
        assert_eq!(
            hex_encode(&hmac_sha256(
                &key,
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn any_listed_signature_under_any_secret_verifies() {
        let good = hmac_sha256(b"new", &[b"body"]).to_vec();
        let other = hmac_sha256(b"old", &[b"else"]).to_vec();
        assert!(any_matches(["old", "new"], &[other.clone(), good.clone()], &[b"body"]));
        assert!(!any_matches(["old"], &[good], &[b"body"]));
        assert!(!any_matches(["new"], &[other], &[b"body"]));
        assert_eq!(hex_decode("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
