//! The one configuration file of every target: process-wide settings plus
//! one section per target. Loaded by `causeway_runtime::config::load`
//! (defaults, file, `CAUSEWAY_*` env; unknown keys rejected).

use causeway_assembler::AssemblerConfig;
use causeway_gateway::GatewayConfig;
use causeway_runtime::config::Validate;
use causeway_runtime::secret::Secret;
use causeway_runtime::secret_url::SecretUrl;
use causeway_runtime::tenants::TenantConfig;
use causeway_windower::WindowerConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CausewayConfig {
    /// `embedded://PATH` or `kafka://host:port`. Empty: standalone's
    /// `<data-dir>/bus`. May carry credentials: shown only redacted.
    pub bus: SecretUrl,
    /// `embedded://PATH` or `scylla://host1,host2/keyspace?…` (docs/scylla.md). Empty: standalone's
    /// `<data-dir>/store`. Shown only redacted.
    pub store: SecretUrl,
    /// Where standalone keeps its bus, store and dev key.
    pub data_dir: String,
    /// HTTP: SDK batches, OTLP/HTTP, alerts, read API, share links.
    pub http_addr: String,
    /// gRPC: IngestService, OTLP TraceService, health.
    pub grpc_addr: String,
    /// `/live`, `/ready`, `/metrics`.
    pub admin_addr: String,
    /// Creates a tenant `dev` with this API key (for scripts and tests).
    /// Shown as `***` in Debug output.
    pub dev_api_key: Option<Secret>,
    /// `text` or `json`.
    pub log_format: String,
    /// How long a graceful shutdown may take before the process exits.
    pub shutdown_deadline_seconds: u64,
    pub topics: TopicsConfig,
    pub gateway: GatewayConfig,
    pub windower: WindowerConfig,
    pub assembler: AssemblerConfig,
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Topic names are `<prefix>.ce`, `<prefix>.alerts`, `<prefix>.artifacts`,
    /// `<prefix>.dead-letter`.
    pub prefix: String,
    /// Partitions of the CE topic (parallelism of the windower). Unset: 8 on
    /// Kafka; 1 on the embedded bus, where one windower reads them all and
    /// every partition a group commit touches costs it an fsync.
    pub ce_partitions: Option<u32>,
    /// Partitions of the alert and artifact topics.
    pub alert_partitions: u32,
    pub replication: u16,
}

impl TopicsConfig {
    /// The CE topic's partitions on the bus at `bus_url` (see `ce_partitions`).
    pub fn ce_partitions_for(&self, bus_url: &str) -> u32 {
        self.ce_partitions
            .unwrap_or(if bus_url.starts_with("kafka://") { 8 } else { 1 })
    }
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self {
            prefix: "causeway".to_owned(),
            ce_partitions: None,
            alert_partitions: 2,
            replication: 1,
        }
    }
}

impl Default for CausewayConfig {
    fn default() -> Self {
        Self {
            bus: SecretUrl::default(),
            store: SecretUrl::default(),
            data_dir: "./data".to_owned(),
            http_addr: "127.0.0.1:4318".to_owned(),
            grpc_addr: "127.0.0.1:4317".to_owned(),
            admin_addr: "127.0.0.1:9464".to_owned(),
            dev_api_key: None,
            log_format: "text".to_owned(),
            shutdown_deadline_seconds: 20,
            topics: TopicsConfig::default(),
            gateway: GatewayConfig::default(),
            windower: WindowerConfig::default(),
            assembler: AssemblerConfig::default(),
            tenants: Vec::new(),
        }
    }
}

impl Validate for CausewayConfig {
    fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (key, addr) in [
            ("http_addr", &self.http_addr),
            ("grpc_addr", &self.grpc_addr),
            ("admin_addr", &self.admin_addr),
        ] {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                errors.push(format!("{key}: {addr:?} is not an address like 127.0.0.1:4318"));
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            errors.push(format!("log_format: {:?} must be text or json", self.log_format));
        }
        if self.topics.prefix.is_empty()
            || !self
                .topics
                .prefix
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        {
            errors.push(format!(
                "topics.prefix: {:?} must be non-empty letters, digits, '.', '_' or '-'",
                self.topics.prefix
            ));
        }
        if self.topics.ce_partitions == Some(0) || self.topics.alert_partitions == 0 {
            errors.push("topics.ce_partitions, topics.alert_partitions: must be above 0".to_owned());
        }
        if self.dev_api_key.as_ref().is_some_and(|key| key.expose().len() < 16) {
            errors.push("dev_api_key: must be at least 16 characters".to_owned());
        }
        if self.shutdown_deadline_seconds
            <= self
                .windower
                .drain_deadline_seconds
                .max(self.assembler.drain_deadline_seconds)
        {
            errors.push("shutdown_deadline_seconds: must be above windower.drain_deadline_seconds and assembler.drain_deadline_seconds".to_owned());
        }
        errors.extend(self.gateway.validate());
        errors.extend(self.windower.validate());
        errors.extend(self.assembler.validate());
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_config_never_shows_its_passwords() {
        let env = [
            (
                "CAUSEWAY_BUS".to_owned(),
                "kafka://b1:9093?sasl.username=causeway&sasl.password=hunter2&ssl.key.password=k3ypass".to_owned(),
            ),
            (
                "CAUSEWAY_STORE".to_owned(),
                "scylla://admin:pa55word@n1/causeway".to_owned(),
            ),
            ("CAUSEWAY_DEV_API_KEY".to_owned(), "devkey-s3cretvalue-0123".to_owned()),
        ];
        let config: CausewayConfig = causeway_runtime::config::load(None, env).expect("load");
        assert!(config.bus.expose().contains("hunter2"));
        assert_eq!(
            config.dev_api_key.as_ref().map(Secret::expose),
            Some("devkey-s3cretvalue-0123")
        );
        for shown in [format!("{config:?}"), format!("{config:#?}"), config.bus.to_string()] {
            for secret in ["hunter2", "k3ypass", "pa55word", "s3cretvalue"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        assert!(format!("{config:?}").contains("sasl.password=***"));
    }

    /// Unset, the CE topic has 8 partitions on Kafka and 1 on the embedded
    /// bus; set (in the file or the environment), it is what was set.
    #[test]
    fn ce_partitions_default_by_bus_and_follow_what_is_set() {
        let unset: CausewayConfig = causeway_runtime::config::load(None, Vec::new()).expect("load");
        assert_eq!(unset.topics.ce_partitions_for("kafka://b1:9092"), 8);
        assert_eq!(unset.topics.ce_partitions_for("embedded:///var/lib/causeway/bus"), 1);
        let env = [("CAUSEWAY_TOPICS__CE_PARTITIONS".to_owned(), "3".to_owned())];
        let set: CausewayConfig = causeway_runtime::config::load(None, env).expect("load");
        assert_eq!(set.topics.ce_partitions_for("kafka://b1:9092"), 3);
        assert_eq!(set.topics.ce_partitions_for("embedded:///var/lib/causeway/bus"), 3);
        let zero = [("CAUSEWAY_TOPICS__CE_PARTITIONS".to_owned(), "0".to_owned())];
        let refused = causeway_runtime::config::load::<CausewayConfig>(None, zero).expect_err("0 is refused");
        assert!(format!("{refused:?}").contains("topics.ce_partitions"), "{refused:?}");
    }
}
