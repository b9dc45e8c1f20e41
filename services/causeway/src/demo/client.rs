//! The demo's HTTP client for the gateway and the read API, with the
//! errors a newcomer can act on: nothing listening, a refused key, and the
//! gateway's own JSON error body for anything it rejected.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::flushes::Flush;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// A `503` from the gateway means "retry": the bus or store is busy.
const MAX_ATTEMPTS: u32 = 5;

pub struct Gateway {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Gateway {
    pub fn new(base_url: &str, key: &str) -> anyhow::Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--url {base_url:?} must start with http:// or https://");
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the http client")?;
        Ok(Self {
            base,
            key: key.to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A share link as a full URL: the assembler answers relative links
    /// (`/a/<token>`) unless its `public_url` is configured.
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    fn transport_error(&self, err: reqwest::Error) -> anyhow::Error {
        if err.is_connect() {
            return anyhow::anyhow!(
                "could not connect to {}: is `causeway standalone` running at {}?",
                self.base,
                self.base
            );
        }
        if err.is_timeout() {
            return anyhow::anyhow!("{} did not answer within {}s", self.base, REQUEST_TIMEOUT.as_secs());
        }
        anyhow::Error::new(err).context(format!("talking to {}", self.base))
    }

    /// Passes a success through; turns anything else into an error naming
    /// `what` and carrying the gateway's JSON body.
    async fn accept(&self, response: Response, what: &str) -> anyhow::Result<Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let body = body.trim();
        if status == StatusCode::UNAUTHORIZED {
            bail!(
                "the api key was refused by {} ({body}); pass the dev api key `causeway standalone` printed \
                 with --key or CAUSEWAY_DEV_API_KEY",
                self.base
            );
        }
        if status.is_client_error() {
            bail!("the gateway refused {what}: {status}: {body}");
        }
        bail!("the gateway failed {what}: {status}: {body}");
    }

    /// Sends one flush, retrying while the gateway answers `503`.
    pub async fn send(&self, flush: &Flush) -> anyhow::Result<()> {
        let url = format!("{}{}", self.base, flush.path());
        let what = format!("a batch of {} events from {}", flush.events, flush.service);
        for attempt in 1..=MAX_ATTEMPTS {
            let response = self
                .http
                .post(&url)
                .bearer_auth(&self.key)
                .header(reqwest::header::CONTENT_TYPE, flush.content_type())
                .body(flush.body.clone())
                .send()
                .await
                .map_err(|err| self.transport_error(err))?;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE && attempt < MAX_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                continue;
            }
            self.accept(response, &what).await?;
            return Ok(());
        }
        bail!("the gateway stayed unavailable for {what}")
    }

    /// `POST /api/v1/alerts`; the alert id.
    pub async fn fire_alert(&self, alert: &Value) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/api/v1/alerts", self.base))
            .bearer_auth(&self.key)
            .json(alert)
            .send()
            .await
            .map_err(|err| self.transport_error(err))?;
        let body: Value = self
            .accept(response, "the alert")
            .await?
            .json()
            .await
            .context("reading the alert answer")?;
        match body.get("alert_id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => bail!("the alert answer has no alert_id: {body}"),
        }
    }

    /// `POST /api/v1/integrations/pagerduty`, signed as PagerDuty signs
    /// (`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>`).
    pub async fn fire_pagerduty(&self, webhook: &Value, secret: &str) -> anyhow::Result<String> {
        let body = serde_json::to_vec(webhook).context("encoding the webhook")?;
        let signature = format!("v1={}", causeway_gateway::sign_hex(secret, &[&body]));
        let response = self
            .http
            .post(format!("{}/api/v1/integrations/pagerduty", self.base))
            .header("content-type", "application/json")
            .header("X-PagerDuty-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|err| self.transport_error(err))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "the pagerduty webhook was refused ({}); the tenant's [tenants.integrations.pagerduty] \
                 signing_secrets must hold --pagerduty-secret (docs/integrations.md)",
                body.trim()
            );
        }
        let body: Value = self
            .accept(response, "the pagerduty webhook")
            .await?
            .json()
            .await
            .context("reading the webhook answer")?;
        match body.pointer("/alerts/0/alert_id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_owned()),
            None => bail!("the webhook answer has no alert id: {body}"),
        }
    }

    /// `GET /api/v1/alerts/{id}`; `None` while the alert is not visible yet.
    pub async fn alert_state(&self, alert_id: &str) -> anyhow::Result<Option<Value>> {
        let response = self
            .http
            .get(format!("{}/api/v1/alerts/{alert_id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|err| self.transport_error(err))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = self.accept(response, "the alert lookup").await?;
        Ok(Some(body.json().await.context("reading the alert state")?))
    }

    /// `GET /api/v1/artifacts/{id}`: the canonical artifact JSON.
    pub async fn artifact(&self, artifact_id: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .get(format!("{}/api/v1/artifacts/{artifact_id}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|err| self.transport_error(err))?;
        self.accept(response, "the artifact lookup")
            .await?
            .text()
            .await
            .context("reading the artifact")
    }

    /// A share link, fetched the way a colleague would: without a key.
    pub async fn shared(&self, url: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|err| self.transport_error(err))?;
        self.accept(response, "the share link")
            .await?
            .text()
            .await
            .context("reading the share link")
    }
}
