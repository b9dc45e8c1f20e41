//! Artifact ids and share tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Derived from the alert, so a redelivered alert maps to the same artifact
/// and never produces a second one.
pub fn artifact_id(tenant_id: &str, alert_id: &str) -> String {
    let digest = Sha256::digest(format!("artifact\0{tenant_id}\0{alert_id}").as_bytes());
    format!("art_{}", hex::encode(&digest[..16]))
}

/// 192 random bits from the OS generator, URL-safe: unguessable, and the
/// only key of the no-auth share link.
pub fn share_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_ids_are_stable_and_tenant_scoped() {
        assert_eq!(artifact_id("a", "x"), artifact_id("a", "x"));
        assert_ne!(artifact_id("a", "x"), artifact_id("b", "x"));
        assert_eq!(artifact_id("a", "x").len(), 4 + 32);
    }

    #[test]
    fn share_tokens_are_long_and_distinct() {
        let a = share_token();
        let b = share_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
