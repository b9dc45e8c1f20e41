//! `--verify`: every acknowledged CE must be readable from the window
//! through `GET /api/v1/traces/{trace_id}`. The window fills
//! asynchronously (the windower consumes what the gateway published), so
//! traces still short are read again until the deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use causeway_model::{CeId, TraceId};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// Trace reads in flight at once.
const READERS: usize = 8;
const ROUND_PAUSE: Duration = Duration::from_millis(500);
/// Missing ids listed in the report.
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub traces: usize,
    pub checked_ces: usize,
    pub missing_ces: usize,
    /// A few missing CEs as `trace_id/ce_id`.
    pub missing_examples: Vec<String>,
    pub seconds: f64,
}

#[derive(Deserialize)]
struct TraceBody {
    events: Vec<StoredEvent>,
}

#[derive(Deserialize)]
struct StoredEvent {
    ce_id: CeId,
}

pub async fn verify(
    read_url: &str,
    key: &str,
    acked: &[(TraceId, CeId)],
    timeout: Duration,
) -> anyhow::Result<VerifyReport> {
    let started = Instant::now();
    let mut missing: BTreeMap<TraceId, BTreeSet<CeId>> = BTreeMap::new();
    for (trace, ce) in acked {
        missing.entry(*trace).or_default().insert(*ce);
    }
    let traces = missing.len();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the http client")?;
    let reader = Arc::new(Reader {
        client,
        base: read_url.to_owned(),
        authorization: format!("Bearer {key}"),
    });
    loop {
        missing = reader.read_round(missing).await?;
        if missing.is_empty() || started.elapsed() >= timeout {
            break;
        }
        tokio::time::sleep(ROUND_PAUSE).await;
    }
    let missing_examples = missing
        .iter()
        .flat_map(|(trace, ces)| ces.iter().map(move |ce| format!("{trace}/{ce}")))
        .take(EXAMPLES)
        .collect();
    Ok(VerifyReport {
        traces,
        checked_ces: acked.len(),
        missing_ces: missing.values().map(BTreeSet::len).sum(),
        missing_examples,
        seconds: started.elapsed().as_secs_f64(),
    })
}

struct Reader {
    client: reqwest::Client,
    base: String,
    authorization: String,
}

impl Reader {
    /// Reads every trace still missing something; returns what is still missing.
    async fn read_round(
        self: &Arc<Self>,
        missing: BTreeMap<TraceId, BTreeSet<CeId>>,
    ) -> anyhow::Result<BTreeMap<TraceId, BTreeSet<CeId>>> {
        let entries: Vec<(TraceId, BTreeSet<CeId>)> = missing.into_iter().collect();
        let chunk = entries.len().div_ceil(READERS).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for part in entries.chunks(chunk) {
            let part = part.to_vec();
            let reader = Arc::clone(self);
            tasks.spawn(async move {
                let mut left = Vec::new();
                for (trace, mut ces) in part {
                    for stored in reader.stored(trace).await? {
                        ces.remove(&stored);
                    }
                    if !ces.is_empty() {
                        left.push((trace, ces));
                    }
                }
                anyhow::Ok(left)
            });
        }
        let mut still = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            still.extend(joined.context("trace reader")??);
        }
        Ok(still)
    }

    async fn stored(&self, trace: TraceId) -> anyhow::Result<Vec<CeId>> {
        let url = format!("{}/api/v1/traces/{trace}", self.base);
        let response = self
            .client
            .get(&url)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .send()
            .await
            .with_context(|| format!("reading {url}"))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(Vec::new()),
            status if status.is_success() => {
                let body: TraceBody = response.json().await.with_context(|| format!("reading {url}"))?;
                Ok(body.events.into_iter().map(|event| event.ce_id).collect())
            }
            status => {
                let text = response.text().await.unwrap_or_default();
                bail!("{url} answered {status}: {}", text.trim())
            }
        }
    }
}
