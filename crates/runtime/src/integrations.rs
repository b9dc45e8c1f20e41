//! Per-tenant alert integrations (`[tenants.integrations.*]`): which paging
//! tools may send this tenant's alerts and how their payloads map onto
//! causeway service names.
//!
//! Secrets are never written in the config: each is a reference,
//! `env:NAME` or `file:PATH`, resolved once when the registry is built. The
//! resolved values are wrapped in [`Secret`], whose `Debug` prints nothing
//! of them, so no log line can carry one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The label (Alertmanager, Grafana) naming the service when none is set.
pub const DEFAULT_SERVICE_LABEL: &str = "service";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<TokenConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertmanager: Option<LabelConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana: Option<LabelConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackConfig>,
}

impl IntegrationsConfig {
    pub fn is_empty(&self) -> bool {
        self == &IntegrationsConfig::default()
    }
}

/// How a provider's service name becomes a causeway service name (the
/// webhook decoders of `causeway_model::webhooks` apply it).
pub use causeway_model::webhooks::ServiceMapping;

/// PagerDuty V3 webhooks, verified by the subscription's signing secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Secret references; several while a secret is rotated.
    pub signing_secrets: Vec<String>,
    /// Provider service name → causeway service name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Refuse (422) a provider service missing from `services`.
    #[serde(default)]
    pub require_mapping: bool,
}

/// A provider authenticated by a per-integration URL token (`?token=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Secret references; several while a token is rotated.
    pub tokens: Vec<String>,
    /// Provider service name → causeway service name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Refuse (422) a provider service missing from `services`.
    #[serde(default)]
    pub require_mapping: bool,
}

/// Alertmanager and Grafana: a URL token and the label naming the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelConfig {
    pub tokens: Vec<String>,
    #[serde(default = "default_service_label")]
    pub service_label: String,
    /// Provider service name → causeway service name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Refuse (422) a provider service missing from `services`.
    #[serde(default)]
    pub require_mapping: bool,
}

fn default_service_label() -> String {
    DEFAULT_SERVICE_LABEL.to_owned()
}

/// Slack: the slash command's signing secret and the notice webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// Secret references of the app's signing secret (slash commands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signing_secrets: Vec<String>,
    /// Secret reference of an incoming-webhook URL: a notice is posted there
    /// when an artifact of this tenant is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_webhook_url: Option<String>,
}

fn mapping(services: &BTreeMap<String, String>, require_mapping: bool) -> ServiceMapping {
    ServiceMapping {
        services: services.clone(),
        require_mapping,
    }
}

/// A resolved secret. `Debug` shows only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads a secret reference: `env:NAME` (the variable's value) or
/// `file:PATH` (the file's content without its trailing newline). The error
/// names the reference, never a value.
pub fn resolve_secret(reference: &str) -> Result<Secret, String> {
    let value = if let Some(name) = reference.strip_prefix("env:") {
        std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))?
    } else if let Some(path) = reference.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {path}: {err}"))?
            .trim_end_matches(['\r', '\n'])
            .to_owned()
    } else {
        return Err("must be env:NAME or file:PATH (secrets are never written in the config)".to_owned());
    };
    if value.is_empty() {
        return Err(format!("{reference} is empty"));
    }
    Ok(Secret(value))
}

/// A tenant's integrations with their secrets resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrations {
    pub pagerduty: Option<ResolvedIntegration>,
    pub opsgenie: Option<ResolvedIntegration>,
    pub alertmanager: Option<ResolvedIntegration>,
    pub grafana: Option<ResolvedIntegration>,
    pub slack: Option<ResolvedSlack>,
}

/// Credentials (signing secrets or URL tokens) plus the service mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedIntegration {
    pub secrets: Vec<Secret>,
    pub mapping: ServiceMapping,
    /// Alertmanager, Grafana: the label naming the service.
    pub service_label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedSlack {
    pub signing_secrets: Vec<Secret>,
    pub notice_webhook_url: Option<Secret>,
}

/// The providers, for lookups and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Pagerduty,
    Opsgenie,
    Alertmanager,
    Grafana,
    Slack,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Pagerduty => "pagerduty",
            Provider::Opsgenie => "opsgenie",
            Provider::Alertmanager => "alertmanager",
            Provider::Grafana => "grafana",
            Provider::Slack => "slack",
        }
    }
}

impl Integrations {
    /// Resolves every secret reference; errors name the key, e.g.
    /// `integrations.pagerduty.signing_secrets[0]: environment variable X is not set`.
    pub fn resolve(config: &IntegrationsConfig) -> Result<Integrations, String> {
        let list = |key: &str, refs: &[String]| -> Result<Vec<Secret>, String> {
            if refs.is_empty() {
                return Err(format!("integrations.{key}: name at least one secret reference"));
            }
            refs.iter()
                .enumerate()
                .map(|(index, reference)| {
                    resolve_secret(reference).map_err(|err| format!("integrations.{key}[{index}]: {err}"))
                })
                .collect()
        };
        let label = |key: &str, config: &LabelConfig| -> Result<ResolvedIntegration, String> {
            if config.service_label.is_empty() {
                return Err(format!("integrations.{key}.service_label: must not be empty"));
            }
            Ok(ResolvedIntegration {
                secrets: list(&format!("{key}.tokens"), &config.tokens)?,
                mapping: mapping(&config.services, config.require_mapping),
                service_label: config.service_label.clone(),
            })
        };
        Ok(Integrations {
            pagerduty: config
                .pagerduty
                .as_ref()
                .map(|pd| -> Result<_, String> {
                    Ok(ResolvedIntegration {
                        secrets: list("pagerduty.signing_secrets", &pd.signing_secrets)?,
                        mapping: mapping(&pd.services, pd.require_mapping),
                        service_label: String::new(),
                    })
                })
                .transpose()?,
            opsgenie: config
                .opsgenie
                .as_ref()
                .map(|og| -> Result<_, String> {
                    Ok(ResolvedIntegration {
                        secrets: list("opsgenie.tokens", &og.tokens)?,
                        mapping: mapping(&og.services, og.require_mapping),
                        service_label: String::new(),
                    })
                })
                .transpose()?,
            alertmanager: config
                .alertmanager
                .as_ref()
                .map(|am| label("alertmanager", am))
                .transpose()?,
            grafana: config.grafana.as_ref().map(|gf| label("grafana", gf)).transpose()?,
            slack: config
                .slack
                .as_ref()
                .map(|slack| -> Result<_, String> {
                    let signing_secrets = if slack.signing_secrets.is_empty() {
                        Vec::new()
                    } else {
                        list("slack.signing_secrets", &slack.signing_secrets)?
                    };
                    let notice_webhook_url = slack
                        .notice_webhook_url
                        .as_deref()
                        .map(|reference| {
                            resolve_secret(reference)
                                .map_err(|err| format!("integrations.slack.notice_webhook_url: {err}"))
                        })
                        .transpose()?;
                    Ok(ResolvedSlack {
                        signing_secrets,
                        notice_webhook_url,
                    })
                })
                .transpose()?,
        })
    }

    /// The URL-token providers' tokens, for the registry's token index.
    pub fn tokens(&self) -> Vec<(Provider, &Secret)> {
        let mut out = Vec::new();
        for (provider, integration) in [
            (Provider::Opsgenie, &self.opsgenie),
            (Provider::Alertmanager, &self.alertmanager),
            (Provider::Grafana, &self.grafana),
        ] {
            if let Some(integration) = integration {
                out.extend(integration.secrets.iter().map(|secret| (provider, secret)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_resolve_by_reference_and_never_print() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pd");
        std::fs::write(&path, "s3cret\n").expect("write");
        let secret = resolve_secret(&format!("file:{}", path.display())).expect("file");
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        let err = resolve_secret("s3cret").expect_err("inline");
        assert!(err.contains("env:NAME or file:PATH"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let err = resolve_secret("env:CAUSEWAY_SURELY_UNSET_VARIABLE").expect_err("unset");
        assert!(err.contains("CAUSEWAY_SURELY_UNSET_VARIABLE"), "{err}");
    }

    #[test]
    fn config_parses_with_defaults_and_rejects_unknown_keys() {
        let text = r#"
[pagerduty]
signing_secrets = ["env:PD"]
services = { "Checkout API" = "checkout" }
[alertmanager]
tokens = ["file:/x"]
"#;
        let config: IntegrationsConfig = toml::from_str(text).expect("valid");
        let pd = config.pagerduty.as_ref().expect("pd");
        let pd = mapping(&pd.services, pd.require_mapping);
        assert_eq!(pd.resolve("Checkout API").as_deref(), Some("checkout"));
        assert_eq!(pd.resolve("other").as_deref(), Some("other"));
        assert_eq!(config.alertmanager.as_ref().expect("am").service_label, "service");
        let err = toml::from_str::<IntegrationsConfig>("[grafana]\ntokens=[]\nlabel='x'\n").expect_err("unknown");
        assert!(err.to_string().contains("label"), "{err}");
        let strict = ServiceMapping {
            services: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
            require_mapping: true,
        };
        assert_eq!(strict.resolve("a").as_deref(), Some("b"));
        assert_eq!(strict.resolve("c"), None);
    }

    #[test]
    fn resolve_names_the_key() {
        let config = IntegrationsConfig {
            opsgenie: Some(TokenConfig {
                tokens: vec!["env:CAUSEWAY_SURELY_UNSET_VARIABLE".into()],
                ..TokenConfig::default()
            }),
            ..IntegrationsConfig::default()
        };
        let err = Integrations::resolve(&config).expect_err("unset");
        assert!(err.starts_with("integrations.opsgenie.tokens[0]:"), "{err}");
    }
}
