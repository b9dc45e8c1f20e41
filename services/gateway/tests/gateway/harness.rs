//! Starts a gateway on port 0 with two tenants, an embedded bus (behind a
//! switch that can make it answer `Full`) and an embedded store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use causeway_bus::{Bus, BusError, Consumer, Delivery, PartitionEnd, Record, TopicSpec, Topics, open_bus};
use causeway_gateway::{AlertSettings, GatewayConfig, GatewayDeps, run};
use causeway_model::{CausalEvent, decode_ce_batch};
use causeway_runtime::backlog::Backlog;
use causeway_runtime::integrations::{IntegrationsConfig, LabelConfig, PagerDutyConfig, SlackConfig, TokenConfig};
use causeway_runtime::tenants::{Plan, TenantConfig, TenantRegistry, hash_api_key};
use causeway_store::{Stores, open_stores};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ACME_KEY: &str = "cw_acme_test_key";
/// A tenant on the free plan with a quota of 5 CEs a month.
pub const TINY_KEY: &str = "cw_tiny_test_key";
pub const TINY_QUOTA: u64 = 5;
/// The usage flush interval of a gateway from [`Gateway::start`].
pub const USAGE_FLUSH_MS: u64 = 25;

/// Integration credentials of `acme` (read by the gateway from files, as a
/// deployment would by reference). Two PagerDuty secrets: mid-rotation.
pub const PD_SECRET: &str = "pd-secret-current";
pub const PD_OLD_SECRET: &str = "pd-secret-previous";
pub const OPSGENIE_TOKEN: &str = "og-token-acme";
pub const ALERTMANAGER_TOKEN: &str = "am-token-acme";
pub const GRAFANA_TOKEN: &str = "gf-token-acme";
pub const SLACK_SECRET: &str = "slack-signing-secret-acme";
/// `tiny`'s PagerDuty secret: its map is required, with "Checkout API" only.
pub const TINY_PD_SECRET: &str = "pd-secret-tiny";

/// The real bus, or `Full` while `full` is set: the only way to make the
/// backpressure path deterministic.
pub struct SwitchableBus {
    pub inner: Arc<dyn Bus>,
    pub full: AtomicBool,
    /// Milliseconds each publish waits first (a slow broker).
    pub delay_ms: AtomicU64,
    /// Publishes begun, so a test can act while one is under way.
    pub publishes_begun: AtomicU64,
}

#[async_trait]
impl Bus for SwitchableBus {
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), BusError> {
        self.inner.ensure_topics(topics).await
    }
    async fn publish(&self, topic: &str, records: Vec<Record>) -> Result<(), BusError> {
        self.publishes_begun.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.full.load(Ordering::SeqCst) {
            return Err(BusError::Full {
                retry_after: Duration::from_millis(1500),
            });
        }
        self.inner.publish(topic, records).await
    }
    async fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        self.inner.subscribe(topic, group).await
    }
    async fn end_offsets(&self, topic: &str) -> Result<Vec<PartitionEnd>, BusError> {
        self.inner.end_offsets(topic).await
    }
    async fn ready(&self) -> bool {
        self.inner.ready().await
    }
}

/// A secret reference to a file holding `value`.
fn secret_file(dir: &std::path::Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    format!("file:{}", path.display())
}

fn with_integrations(mut tenant: TenantConfig, dir: &std::path::Path) -> TenantConfig {
    let file = |name: &str, value: &str| secret_file(dir, name, value);
    let label = |name: &str, value: &str| LabelConfig {
        tokens: vec![file(name, value)],
        service_label: "service".into(),
        services: Default::default(),
        require_mapping: false,
    };
    if tenant.id == "acme" {
        tenant.integrations = IntegrationsConfig {
            pagerduty: Some(PagerDutyConfig {
                signing_secrets: vec![file("pd-old", PD_OLD_SECRET), file("pd", PD_SECRET)],
                services: [("API Service".to_owned(), "checkout".to_owned())].into(),
                require_mapping: false,
            }),
            opsgenie: Some(TokenConfig {
                tokens: vec![file("og", OPSGENIE_TOKEN)],
                ..TokenConfig::default()
            }),
            alertmanager: Some(label("am", ALERTMANAGER_TOKEN)),
            grafana: Some(label("gf", GRAFANA_TOKEN)),
            slack: Some(SlackConfig {
                signing_secrets: vec![file("slack", SLACK_SECRET)],
                notice_webhook_url: None,
            }),
        };
    } else {
        tenant.integrations.pagerduty = Some(PagerDutyConfig {
            signing_secrets: vec![file("pd-tiny", TINY_PD_SECRET)],
            services: [("Checkout API".to_owned(), "checkout".to_owned())].into(),
            require_mapping: true,
        });
    }
    tenant
}

pub struct Gateway {
    pub http: String,
    pub grpc: String,
    pub bus: Arc<SwitchableBus>,
    pub stores: Stores,
    pub topics: Topics,
    pub client: reqwest::Client,
    /// As a windower in the same process would set it (0 unless a test does).
    pub backlog: Backlog,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

fn tenant(id: &str, key: &str, quota: Option<u64>) -> TenantConfig {
    TenantConfig {
        id: id.into(),
        plan: Plan::Free,
        api_key_sha256: vec![hash_api_key(key)],
        monthly_ce_quota: quota,
        retention_days: None,
        pre_arm_seconds: None,
        integrations: Default::default(),
    }
}

impl Gateway {
    /// Usage is flushed every `USAGE_FLUSH_MS` here, so tests read it
    /// soon after a request (see [`Gateway::metered_usage`]).
    pub async fn start() -> Gateway {
        Self::start_with(GatewayConfig {
            usage_flush_ms: USAGE_FLUSH_MS,
            ..GatewayConfig::default()
        })
        .await
    }

    pub async fn start_with(config: GatewayConfig) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let bus_dir = dir.path().join("bus");
        let store_dir = dir.path().join("store");
        let inner = open_bus(&format!("embedded://{}", bus_dir.display())).await.unwrap();
        let stores = open_stores(&format!("embedded://{}", store_dir.display()))
            .await
            .unwrap();
        let topics = Topics::with_prefix("causeway");
        let specs: Vec<TopicSpec> = topics
            .all()
            .iter()
            .map(|name| TopicSpec {
                name: (*name).to_owned(),
                partitions: 4,
                replication: 1,
            })
            .collect();
        inner.ensure_topics(&specs).await.unwrap();
        let bus = Arc::new(SwitchableBus {
            inner,
            full: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            publishes_begun: AtomicU64::new(0),
        });
        let registry = TenantRegistry::new(
            &[
                with_integrations(tenant("acme", ACME_KEY, None), dir.path()),
                with_integrations(tenant("tiny", TINY_KEY, Some(TINY_QUOTA)), dir.path()),
            ],
            None,
        )
        .unwrap();
        let backlog = Backlog::default();
        let deps = GatewayDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            tenants: Arc::new(registry),
            topology: stores.topology.clone(),
            artifacts: stores.artifacts.clone(),
            alerts: AlertSettings::default(),
            window_backlog: Some(backlog.clone()),
        };
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_url = format!("http://{}", http.local_addr().unwrap());
        let grpc_url = format!("http://{}", grpc.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(config, deps, http, grpc, shutdown.clone()));
        Gateway {
            http: http_url,
            grpc: grpc_url,
            bus,
            stores,
            topics,
            client: reqwest::Client::new(),
            backlog,
            shutdown,
            task,
            _dir: dir,
        }
    }

    pub fn post(&self, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.post(format!("{}{path}", self.http));
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// Everything on `topic` so far, read by a fresh consumer group.
    pub async fn records(&self, topic: &str) -> Vec<Delivery> {
        let group = format!("test-{}", uuid::Uuid::new_v4());
        let mut consumer = self.bus.subscribe(topic, &group).await.unwrap();
        let mut all = Vec::new();
        loop {
            let batch = consumer.poll(1000, Duration::from_millis(300)).await.unwrap();
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    /// Every CE on the CE topic, with the key of the record it came in.
    pub async fn published_events(&self) -> Vec<(String, Vec<CausalEvent>)> {
        self.records(&self.topics.ce)
            .await
            .into_iter()
            .filter(|d| {
                d.record.header(causeway_bus::headers::RECORD_TYPE) == Some(causeway_bus::headers::TYPE_CE_BATCH)
            })
            .map(|d| {
                let key = String::from_utf8(d.record.key.to_vec()).unwrap();
                (key, decode_ce_batch(&d.record.value, None, u64::MAX).unwrap())
            })
            .collect()
    }

    /// Every event published, whichever record carried it.
    pub async fn published_event_list(&self) -> Vec<CausalEvent> {
        self.published_events()
            .await
            .into_iter()
            .flat_map(|(_, events)| events)
            .collect()
    }

    pub async fn assert_nothing_published(&self) {
        for topic in [&self.topics.ce, &self.topics.alerts] {
            let records = self.records(topic).await;
            assert!(
                records.is_empty(),
                "{} records on {topic} after a rejected request",
                records.len()
            );
        }
    }

    /// Asks the gateway to stop without waiting.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The tenant's usage in the store once the gateway's flushes have had
    /// time to write what it accepted: waits (up to 10 s) for `expected`,
    /// and for at least a few flush intervals, then returns what is stored.
    pub async fn metered_usage(&self, tenant: &str, month: u32, expected: u64) -> u64 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        tokio::time::sleep(Duration::from_millis(3 * USAGE_FLUSH_MS)).await;
        loop {
            let stored = self.stores.topology.usage(tenant, month).await.unwrap();
            if stored == expected || tokio::time::Instant::now() >= deadline {
                return stored;
            }
            tokio::time::sleep(Duration::from_millis(USAGE_FLUSH_MS)).await;
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// Unix nanoseconds a minute ago (well inside every timestamp rule).
pub fn recent_ns() -> u64 {
    causeway_gateway::now_unix_ns() - 60_000_000_000
}

/// One SDK wire-v1 event as the `incidentary` SDK writes it.
pub fn sdk_event(trace_id: &str, ce_id: &str, service: &str) -> Value {
    json!({
        "ce_id": ce_id,
        "trace_id": trace_id,
        "parent_ce_id": null,
        "service_id": service,
        "wall_ts_ns": recent_ns(),
        "kind": "HTTP_IN",
        "status": 200,
        "duration_ns": 1_000_000,
        "sdk_version": "0.2.0",
        "event_type": "http_in",
    })
}

/// An SDK batch envelope around `events`.
pub fn sdk_batch(events: Vec<Value>) -> Value {
    json!({
        "schema_version": "1",
        "workspace_id": "ws_demo",
        "service_id": "checkout",
        "environment": "staging",
        "flushed_at": recent_ns(),
        "capture_mode": "SKELETON",
        "sdk_telemetry": {"sdk_version": "0.2.0", "sdk_language": "python", "queue_depth": 0, "dropped_ce_count": 0, "flush_latency_ms": 0},
        "events": events,
    })
}

/// A fresh UUIDv4 text.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A loopback HTTP server standing in for a webhook receiver (Slack's
/// `response_url`, an incoming webhook): records every JSON body posted.
pub struct Recorder {
    pub url: String,
    pub posts: Arc<std::sync::Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        let posts: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
        let seen = posts.clone();
        let router = axum::Router::new().route(
            "/hook/{*rest}",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook/T0001/B0001/secretpart", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Recorder { url, posts, task }
    }

    pub fn posts(&self) -> Vec<Value> {
        self.posts.lock().unwrap().clone()
    }

    /// Waits until `n` bodies arrived (or the deadline passes).
    pub async fn wait_for(&self, n: usize, deadline: Duration) -> Vec<Value> {
        let started = std::time::Instant::now();
        while self.posts().len() < n && started.elapsed() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.posts()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
