//! `Authorization: Bearer <api key>` -> the tenant, for every route of every
//! target (HTTP header or gRPC metadata alike).

use std::sync::Arc;

use crate::tenants::{Tenant, TenantRegistry};

/// Why a request was not authenticated; the message is safe to send back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing authorization header; send 'Authorization: Bearer <api key>'")]
    Missing,
    #[error("authorization header is not text")]
    NotText,
    #[error("authorization header must be 'Bearer <api key>'")]
    NotBearer,
    #[error("unknown api key")]
    UnknownKey,
}

impl AuthError {
    /// The message as a static string (for error types that hold one).
    pub fn message(self) -> &'static str {
        match self {
            AuthError::Missing => "missing authorization header; send 'Authorization: Bearer <api key>'",
            AuthError::NotText => "authorization header is not text",
            AuthError::NotBearer => "authorization header must be 'Bearer <api key>'",
            AuthError::UnknownKey => "unknown api key",
        }
    }
}

/// The tenant named by an `Authorization` value.
pub fn authenticate(registry: &TenantRegistry, authorization: Option<&[u8]>) -> Result<Arc<Tenant>, AuthError> {
    let raw = authorization.ok_or(AuthError::Missing)?;
    let text = std::str::from_utf8(raw).map_err(|_| AuthError::NotText)?;
    let key = bearer_key(text).ok_or(AuthError::NotBearer)?;
    registry.authenticate(key).ok_or(AuthError::UnknownKey)
}

/// The key of `Bearer <key>`; the scheme is case-insensitive (RFC 7235).
fn bearer_key(value: &str) -> Option<&str> {
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bearer_only() {
        let registry = TenantRegistry::new(&[], Some("secret")).expect("registry");
        assert_eq!(authenticate(&registry, Some(b"Bearer secret")).expect("ok").id, "dev");
        assert_eq!(authenticate(&registry, Some(b"bearer  secret ")).expect("ok").id, "dev");
        assert_eq!(authenticate(&registry, None).err(), Some(AuthError::Missing));
        assert_eq!(authenticate(&registry, Some(b"\xff")).err(), Some(AuthError::NotText));
        for bad in [&b"secret"[..], b"Basic secret", b"Bearer "] {
            assert_eq!(authenticate(&registry, Some(bad)).err(), Some(AuthError::NotBearer));
        }
        assert_eq!(
            authenticate(&registry, Some(b"Bearer other")).err(),
            Some(AuthError::UnknownKey)
        );
        for err in [
            AuthError::Missing,
            AuthError::NotText,
            AuthError::NotBearer,
            AuthError::UnknownKey,
        ] {
            assert_eq!(err.message(), err.to_string());
        }
    }
}
