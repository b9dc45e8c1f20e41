//! `Authorization: Bearer <key>` on every route, HTTP header or gRPC metadata.

use std::sync::Arc;

use causeway_runtime::tenants::{Tenant, TenantRegistry};

use crate::error::IngestError;

/// The tenant named by an `Authorization` value, if any.
pub(crate) fn authenticate(
    registry: &TenantRegistry,
    authorization: Option<&[u8]>,
) -> Result<Arc<Tenant>, IngestError> {
    let Some(raw) = authorization else {
        return Err(IngestError::Unauthorized(
            "missing authorization header; send 'Authorization: Bearer <api key>'",
        ));
    };
    let text = std::str::from_utf8(raw).map_err(|_| IngestError::Unauthorized("authorization header is not text"))?;
    let key = bearer_key(text).ok_or(IngestError::Unauthorized(
        "authorization header must be 'Bearer <api key>'",
    ))?;
    registry
        .authenticate(key)
        .ok_or(IngestError::Unauthorized("unknown api key"))
}

/// The key of `Bearer <key>`; the scheme is case-insensitive (RFC 7235).
fn bearer_key(value: &str) -> Option<&str> {
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use causeway_runtime::tenants::TenantRegistry;

    use super::*;

    #[test]
    fn accepts_bearer_only() {
        let registry = TenantRegistry::new(&[], Some("secret")).expect("registry");
        assert_eq!(authenticate(&registry, Some(b"Bearer secret")).expect("ok").id, "dev");
        assert_eq!(authenticate(&registry, Some(b"bearer  secret ")).expect("ok").id, "dev");
        for bad in [&b"secret"[..], b"Basic secret", b"Bearer ", b"Bearer other", b"\xff"] {
            assert!(matches!(
                authenticate(&registry, Some(bad)),
                Err(IngestError::Unauthorized(_))
            ));
        }
        assert!(matches!(
            authenticate(&registry, None),
            Err(IngestError::Unauthorized(_))
        ));
    }
}
