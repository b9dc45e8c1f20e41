//! Tenants, plans and hashed API keys.
//!
//! API keys are never stored: the config holds the hex SHA-256 of each key,
//! and [`TenantRegistry::authenticate`] looks a presented key up by its hash.
//! Keys are 256-bit random strings, so an unsalted hash is not open to
//! dictionary attacks.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::integrations::{Integrations, IntegrationsConfig, Provider};

/// Longest tenant id, in bytes (the same limit the CE model enforces).
pub const MAX_TENANT_ID_LEN: usize = 64;

/// The tenant id the dev key (`CAUSEWAY_DEV_API_KEY`) authenticates as.
pub const DEV_TENANT_ID: &str = "dev";

/// What a tenant pays for: a monthly CE quota and a retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// 200 000 CEs a month, 14 days of retention.
    Free,
    /// 1 000 000 CEs a month, 30 days.
    Pro,
    /// 5 000 000 CEs a month, 90 days.
    Team,
    /// No quota unless the tenant sets one; 365 days unless it sets another.
    Enterprise,
    /// The local dev tenant: no quota, 14 days.
    Dev,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Team => "team",
            Plan::Enterprise => "enterprise",
            Plan::Dev => "dev",
        }
    }

    /// CEs accepted per calendar month (UTC); `None` is unlimited.
    pub fn monthly_ce_quota(self) -> Option<u64> {
        match self {
            Plan::Free => Some(200_000),
            Plan::Pro => Some(1_000_000),
            Plan::Team => Some(5_000_000),
            Plan::Enterprise | Plan::Dev => None,
        }
    }

    /// How long artifacts and their share links live.
    pub fn retention_days(self) -> u32 {
        match self {
            Plan::Free | Plan::Dev => 14,
            Plan::Pro => 30,
            Plan::Team => 90,
            Plan::Enterprise => 365,
        }
    }
}

/// One tenant as written in the config file (`[[tenants]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// ASCII letters, digits, `-`, `_` and `.`; at most 64 bytes.
    pub id: String,
    pub plan: Plan,
    /// Hex SHA-256 of each API key the tenant may use (`causeway hash-key`
    /// prints it). Several keys allow rotation.
    pub api_key_sha256: Vec<String>,
    /// Overrides the plan's monthly CE quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_ce_quota: Option<u64>,
    /// Overrides the plan's retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Overrides the pre-alert window length (default 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_arm_seconds: Option<u64>,
    /// Paging tools that may send this tenant's alerts (docs/integrations.md).
    #[serde(default, skip_serializing_if = "IntegrationsConfig::is_empty")]
    pub integrations: IntegrationsConfig,
}

/// A tenant with its plan's limits resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub plan: Plan,
    /// `None` is unlimited.
    pub monthly_ce_quota: Option<u64>,
    pub retention_days: u32,
    /// `None` means the pipeline default.
    pub pre_arm_seconds: Option<u64>,
    /// Resolved integrations (secrets read from their references).
    pub integrations: Integrations,
}

impl Tenant {
    fn from_config(config: &TenantConfig) -> Self {
        Tenant {
            integrations: Integrations::default(),
            id: config.id.clone(),
            plan: config.plan,
            monthly_ce_quota: config.monthly_ce_quota.or(config.plan.monthly_ce_quota()),
            retention_days: config.retention_days.unwrap_or(config.plan.retention_days()),
            pre_arm_seconds: config.pre_arm_seconds,
        }
    }

    fn dev() -> Self {
        Tenant {
            id: DEV_TENANT_ID.to_owned(),
            plan: Plan::Dev,
            monthly_ce_quota: Plan::Dev.monthly_ce_quota(),
            retention_days: Plan::Dev.retention_days(),
            pre_arm_seconds: None,
            integrations: Integrations::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("tenant id {id:?} is invalid: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("tenant {0:?} is configured twice")]
    DuplicateId(String),
    #[error("tenant {0:?} has no api_key_sha256 entries")]
    NoKeys(String),
    #[error("tenant {tenant:?}: api_key_sha256[{index}] is not 64 hex digits (the SHA-256 of the key)")]
    BadKeyHash { tenant: String, index: usize },
    #[error("tenant {tenant:?}: api_key_sha256[{index}] is already the key of tenant {other:?}")]
    DuplicateKey {
        tenant: String,
        index: usize,
        other: String,
    },
    #[error("the dev api key is already the key of tenant {0:?}")]
    DevKeyTaken(String),
    #[error("the dev api key must not be empty")]
    EmptyDevKey,
    #[error("tenant {tenant:?}: retention_days must be at least 1")]
    ZeroRetention { tenant: String },
    #[error("tenant {tenant:?}: {message}")]
    Integration { tenant: String, message: String },
    #[error("tenant {tenant:?}: a {provider} token is already the token of tenant {other:?}")]
    DuplicateIntegrationToken {
        tenant: String,
        provider: &'static str,
        other: String,
    },
}

/// Every tenant, found by id or by the hash of an API key.
#[derive(Debug, Clone, Default)]
pub struct TenantRegistry {
    by_id: HashMap<String, Arc<Tenant>>,
    by_key_hash: HashMap<[u8; 32], Arc<Tenant>>,
    /// URL tokens of the token-authenticated integrations, by hash.
    by_integration_token: HashMap<(Provider, [u8; 32]), Arc<Tenant>>,
}

impl TenantRegistry {
    /// Builds the registry from the config and, when given, the dev key.
    ///
    /// The dev key authenticates as tenant `dev`: when the config defines a
    /// tenant `dev`, the key is added to it (its plan holds); otherwise a
    /// `dev` tenant on the unlimited `dev` plan is created.
    pub fn new(configs: &[TenantConfig], dev_api_key: Option<&str>) -> Result<Self, TenantError> {
        let mut registry = TenantRegistry::default();
        for config in configs {
            validate_id(&config.id)?;
            if registry.by_id.contains_key(&config.id) {
                return Err(TenantError::DuplicateId(config.id.clone()));
            }
            if config.api_key_sha256.is_empty() {
                return Err(TenantError::NoKeys(config.id.clone()));
            }
            if config.retention_days == Some(0) {
                return Err(TenantError::ZeroRetention {
                    tenant: config.id.clone(),
                });
            }
            let mut tenant = Tenant::from_config(config);
            tenant.integrations =
                Integrations::resolve(&config.integrations).map_err(|message| TenantError::Integration {
                    tenant: config.id.clone(),
                    message,
                })?;
            let tenant = Arc::new(tenant);
            for (provider, token) in tenant.integrations.tokens() {
                let hash = sha256(token.expose());
                if let Some(other) = registry.by_integration_token.get(&(provider, hash)) {
                    return Err(TenantError::DuplicateIntegrationToken {
                        tenant: config.id.clone(),
                        provider: provider.as_str(),
                        other: other.id.clone(),
                    });
                }
                registry
                    .by_integration_token
                    .insert((provider, hash), Arc::clone(&tenant));
            }
            for (index, hex_hash) in config.api_key_sha256.iter().enumerate() {
                let hash = parse_key_hash(hex_hash).ok_or_else(|| TenantError::BadKeyHash {
                    tenant: config.id.clone(),
                    index,
                })?;
                if let Some(other) = registry.by_key_hash.get(&hash) {
                    return Err(TenantError::DuplicateKey {
                        tenant: config.id.clone(),
                        index,
                        other: other.id.clone(),
                    });
                }
                registry.by_key_hash.insert(hash, Arc::clone(&tenant));
            }
            registry.by_id.insert(config.id.clone(), tenant);
        }
        if let Some(key) = dev_api_key {
            registry.add_dev_key(key)?;
        }
        Ok(registry)
    }

    fn add_dev_key(&mut self, key: &str) -> Result<(), TenantError> {
        if key.is_empty() {
            return Err(TenantError::EmptyDevKey);
        }
        let hash = sha256(key);
        if let Some(other) = self.by_key_hash.get(&hash) {
            return Err(TenantError::DevKeyTaken(other.id.clone()));
        }
        let tenant = Arc::clone(
            self.by_id
                .entry(DEV_TENANT_ID.to_owned())
                .or_insert_with(|| Arc::new(Tenant::dev())),
        );
        self.by_key_hash.insert(hash, tenant);
        Ok(())
    }

    /// The tenant whose key this is, by the key's SHA-256.
    pub fn authenticate(&self, bearer_key: &str) -> Option<Arc<Tenant>> {
        if bearer_key.is_empty() {
            return None;
        }
        self.by_key_hash.get(&sha256(bearer_key)).cloned()
    }

    /// The tenant whose `provider` integration has this URL token.
    pub fn by_integration_token(&self, provider: Provider, token: &str) -> Option<Arc<Tenant>> {
        if token.is_empty() {
            return None;
        }
        self.by_integration_token.get(&(provider, sha256(token))).cloned()
    }

    pub fn get(&self, id: &str) -> Option<Arc<Tenant>> {
        self.by_id.get(id).cloned()
    }

    /// The tenant's pre-alert window: its override, else `default` (also for
    /// a tenant not in the registry).
    pub fn pre_arm_seconds(&self, id: &str, default: u64) -> u64 {
        self.by_id
            .get(id)
            .and_then(|tenant| tenant.pre_arm_seconds)
            .unwrap_or(default)
    }

    /// Every tenant, in id order.
    pub fn tenants(&self) -> Vec<Arc<Tenant>> {
        let mut all: Vec<_> = self.by_id.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The hex SHA-256 of an API key, as written in `api_key_sha256`.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(sha256(key))
}

/// A new API key: `cw_` followed by 32 random bytes as 64 hex digits.
pub fn generate_api_key() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("cw_{}", hex::encode(bytes))
}

fn sha256(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_key_hash(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out).ok()?;
    Some(out)
}

fn validate_id(id: &str) -> Result<(), TenantError> {
    let invalid = |reason| {
        Err(TenantError::InvalidId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return invalid("must not be empty");
    }
    if id.len() > MAX_TENANT_ID_LEN {
        return invalid("is longer than 64 bytes");
    }
    // `/` separates the tenant from the trace in bus keys, so ids stay plain.
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return invalid("may hold only ASCII letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str, plan: Plan, keys: &[&str]) -> TenantConfig {
        TenantConfig {
            id: id.to_owned(),
            plan,
            api_key_sha256: keys.iter().map(|key| hash_api_key(key)).collect(),
            monthly_ce_quota: None,
            retention_days: None,
            pre_arm_seconds: None,
            integrations: IntegrationsConfig::default(),
        }
    }

    #[test]
    fn authenticates_by_key_hash() {
        let registry = TenantRegistry::new(
            &[
                tenant("acme", Plan::Pro, &["k1", "k2"]),
                tenant("beta", Plan::Free, &["k3"]),
            ],
            None,
        )
        .expect("valid");
        assert_eq!(registry.authenticate("k1").expect("k1").id, "acme");
        assert_eq!(registry.authenticate("k2").expect("k2").id, "acme");
        assert_eq!(registry.authenticate("k3").expect("k3").id, "beta");
        assert!(registry.authenticate("k4").is_none());
        assert!(registry.authenticate("").is_none());
        assert_eq!(registry.get("beta").expect("beta").monthly_ce_quota, Some(200_000));
        assert!(registry.get("dev").is_none());
    }

    #[test]
    fn integration_tokens_find_their_tenant_and_must_be_unique() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "tok-1").expect("write");
        let reference = format!("file:{}", path.display());
        let mut with = tenant("acme", Plan::Pro, &["k1"]);
        with.integrations.alertmanager = Some(crate::integrations::LabelConfig {
            tokens: vec![reference.clone()],
            service_label: "service".into(),
            services: Default::default(),
            require_mapping: false,
        });
        let registry = TenantRegistry::new(std::slice::from_ref(&with), None).expect("registry");
        let found = registry
            .by_integration_token(Provider::Alertmanager, "tok-1")
            .expect("found");
        assert_eq!(found.id, "acme");
        assert!(registry.by_integration_token(Provider::Grafana, "tok-1").is_none());
        assert!(registry.by_integration_token(Provider::Alertmanager, "tok-2").is_none());
        let mut twin = with.clone();
        twin.id = "beta".into();
        twin.api_key_sha256 = vec![hash_api_key("k2")];
        let err = TenantRegistry::new(&[with.clone(), twin], None).expect_err("shared token");
        assert!(matches!(err, TenantError::DuplicateIntegrationToken { .. }), "{err}");
        with.integrations.alertmanager = Some(crate::integrations::LabelConfig {
            tokens: vec!["inline-token".into()],
            service_label: "service".into(),
            services: Default::default(),
            require_mapping: false,
        });
        let err = TenantRegistry::new(&[with], None).expect_err("inline");
        assert!(err.to_string().contains("integrations.alertmanager.tokens[0]"), "{err}");
        assert!(!err.to_string().contains("inline-token"), "{err}");
    }

    #[test]
    fn pre_arm_is_the_override_or_the_default() {
        let mut long = tenant("long", Plan::Pro, &["k1"]);
        long.pre_arm_seconds = Some(900);
        let registry = TenantRegistry::new(&[long, tenant("plain", Plan::Pro, &["k2"])], None).expect("registry");
        assert_eq!(registry.pre_arm_seconds("long", 300), 900);
        assert_eq!(registry.pre_arm_seconds("plain", 300), 300);
        assert_eq!(registry.pre_arm_seconds("unknown", 300), 300);
    }

    #[test]
    fn plans_resolve_and_overrides_apply() {
        let mut config = tenant("big", Plan::Enterprise, &["k"]);
        assert_eq!(Tenant::from_config(&config).monthly_ce_quota, None);
        config.monthly_ce_quota = Some(42);
        config.retention_days = Some(7);
        config.pre_arm_seconds = Some(600);
        let resolved = Tenant::from_config(&config);
        assert_eq!(
            (
                resolved.monthly_ce_quota,
                resolved.retention_days,
                resolved.pre_arm_seconds
            ),
            (Some(42), 7, Some(600))
        );
        assert_eq!(
            Tenant::from_config(&tenant("t", Plan::Team, &["k"])).monthly_ce_quota,
            Some(5_000_000)
        );
        assert_eq!(Tenant::from_config(&tenant("t", Plan::Team, &["k"])).retention_days, 90);
        assert_eq!(Plan::Pro.retention_days(), 30);
    }

    #[test]
    fn hash_is_hex_sha256_and_upper_case_config_is_accepted() {
        assert_eq!(
            hash_api_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut config = tenant("acme", Plan::Free, &[]);
        config.api_key_sha256 = vec![hash_api_key("abc").to_uppercase()];
        let registry = TenantRegistry::new(&[config], None).expect("valid");
        assert_eq!(registry.authenticate("abc").expect("abc").id, "acme");
    }

    #[test]
    fn rejects_bad_configs_precisely() {
        let err = TenantRegistry::new(&[tenant("a", Plan::Free, &["k"]), tenant("a", Plan::Pro, &["j"])], None)
            .expect_err("duplicate id");
        assert_eq!(err, TenantError::DuplicateId("a".into()));
        let err = TenantRegistry::new(
            &[tenant("a", Plan::Free, &["k"]), tenant("b", Plan::Pro, &["j", "k"])],
            None,
        )
        .expect_err("duplicate key");
        assert_eq!(
            err,
            TenantError::DuplicateKey {
                tenant: "b".into(),
                index: 1,
                other: "a".into()
            }
        );
        let mut bad_hex = tenant("a", Plan::Free, &["k"]);
        bad_hex.api_key_sha256.push("not-hex".into());
        let err = TenantRegistry::new(&[bad_hex], None).expect_err("bad hex");
        assert_eq!(
            err,
            TenantError::BadKeyHash {
                tenant: "a".into(),
                index: 1
            }
        );
        let err = TenantRegistry::new(&[tenant("a/b", Plan::Free, &["k"])], None).expect_err("slash");
        assert!(matches!(err, TenantError::InvalidId { .. }), "{err}");
        let err = TenantRegistry::new(&[tenant("", Plan::Free, &["k"])], None).expect_err("empty");
        assert!(matches!(err, TenantError::InvalidId { .. }), "{err}");
        let err = TenantRegistry::new(&[tenant("a", Plan::Free, &[])], None).expect_err("no keys");
        assert_eq!(err, TenantError::NoKeys("a".into()));
    }

    #[test]
    fn dev_key_creates_or_joins_the_dev_tenant() {
        let registry = TenantRegistry::new(&[], Some("devkey")).expect("valid");
        let dev = registry.authenticate("devkey").expect("dev");
        assert_eq!(
            (dev.id.as_str(), dev.plan, dev.monthly_ce_quota),
            ("dev", Plan::Dev, None)
        );

        let registry = TenantRegistry::new(&[tenant("dev", Plan::Free, &["k"])], Some("devkey")).expect("valid");
        assert_eq!(registry.authenticate("devkey").expect("dev").plan, Plan::Free);
        assert_eq!(registry.len(), 1);

        let err = TenantRegistry::new(&[tenant("acme", Plan::Free, &["k"])], Some("k")).expect_err("taken");
        assert_eq!(err, TenantError::DevKeyTaken("acme".into()));
        assert_eq!(
            TenantRegistry::new(&[], Some("")).expect_err("empty"),
            TenantError::EmptyDevKey
        );
    }

    #[test]
    fn generated_keys_are_distinct_and_well_formed() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a, b);
        assert!(a.starts_with("cw_") && a.len() == 3 + 64, "{a}");
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let text = r#"id = "a"
plan = "pro"
api_key_sha256 = []
quota = 5
"#;
        let err = toml::from_str::<TenantConfig>(text).expect_err("unknown field");
        assert!(err.to_string().contains("quota"), "{err}");
        let ok: TenantConfig =
            toml::from_str("id = \"a\"\nplan = \"team\"\napi_key_sha256 = [\"00\"]\n").expect("valid");
        assert_eq!(ok.plan, Plan::Team);
    }
}
