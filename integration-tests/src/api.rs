//! A client of the standalone's HTTP API, authenticated with one key.

use std::time::Duration;

use causeway_assembly::Artifact;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use crate::wait::{LONG_WAIT, wait_for};

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("status {}: body is not JSON ({err}): {}", self.status, self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }
}

/// What an assembled alert points at.
#[derive(Debug, Clone)]
pub struct Assembled {
    pub artifact_id: String,
    /// `/a/<token>` (the tests run without a public URL).
    pub share_path: String,
}

#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base_url: String,
    key: Option<String>,
}

impl Api {
    pub fn new(base_url: impl Into<String>, key: &str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        Api {
            client,
            base_url: base_url.into(),
            key: Some(key.to_owned()),
        }
    }

    /// The same server, another key (or none).
    pub fn with_key(&self, key: Option<&str>) -> Self {
        Api {
            key: key.map(str::to_owned),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `body` as is; `content_type` `None` sends no content type.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        self.try_post_raw(path, content_type, body)
            .await
            .unwrap_or_else(|err| panic!("POST {path}: {err}"))
    }

    /// Like [`Api::post_raw`], but a transport error is returned, not a panic
    /// (a server being stopped refuses connections).
    pub async fn try_post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self.client.post(format!("{}{path}", self.base_url)).body(body);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(key) = &self.key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let response = request.send().await?;
        read(response).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        let bytes = serde_json::to_vec(body).expect("json");
        self.post_raw(path, Some("application/json"), bytes).await
    }

    /// `POST /api/v1/ingest/batch`.
    pub async fn post_batch(&self, batch: &Value) -> Answer {
        self.post_json("/api/v1/ingest/batch", batch).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let mut request = self.client.get(format!("{}{path}", self.base_url));
        if let Some(key) = &self.key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let response = request.send().await.unwrap_or_else(|err| panic!("GET {path}: {err}"));
        read(response)
            .await
            .unwrap_or_else(|err| panic!("GET {path}: reading the body: {err}"))
    }

    /// The stored events of a trace (`GET /api/v1/traces/{id}`); a trace with
    /// nothing stored is an empty list.
    pub async fn trace_events(&self, trace_id: &str) -> Vec<Value> {
        let answer = self.get(&format!("/api/v1/traces/{trace_id}")).await;
        if answer.status == 404 {
            return Vec::new();
        }
        assert_eq!(answer.status, 200, "trace lookup {trace_id}: {}", answer.text());
        let body = answer.json();
        body["events"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no events list: {body}"))
    }

    /// Polls until the trace holds at least `count` events; returns them.
    pub async fn wait_trace(&self, trace_id: &str, count: usize) -> Vec<Value> {
        wait_for(&format!("{count} events of trace {trace_id}"), LONG_WAIT, || async {
            let events = self.trace_events(trace_id).await;
            if events.len() >= count {
                Ok(events)
            } else {
                Err(format!("{} events", events.len()))
            }
        })
        .await
    }

    /// Waits until the trace of `events` (one trace) holds them, then
    /// asserts it holds exactly their ids, none twice and none other.
    pub async fn assert_trace_exactly(&self, events: &[crate::EventSpec]) {
        let trace_id = events[0].trace_id.to_string();
        let stored = self.wait_trace(&trace_id, events.len()).await;
        let mut stored_ids: Vec<String> = stored
            .iter()
            .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
            .collect();
        stored_ids.sort();
        let mut sent_ids: Vec<String> = events.iter().map(|event| event.ce_id.to_string()).collect();
        sent_ids.sort();
        assert_eq!(
            stored_ids, sent_ids,
            "trace {trace_id}: every acknowledged event exactly once"
        );
    }

    /// `POST /api/v1/alerts` for `service`, fired now; returns the alert id.
    pub async fn post_alert(&self, service: &str) -> String {
        let body = json!({
            "service": service,
            "fired_at": crate::now_unix_ns(),
            "title": format!("{service} error rate"),
            "source": "integration-test",
        });
        let answer = self.post_json("/api/v1/alerts", &body).await;
        assert_eq!(answer.status, 202, "alert refused: {}", answer.text());
        answer.json()["alert_id"].as_str().expect("alert_id").to_owned()
    }

    /// Polls `GET /api/v1/alerts/{id}` until `assembled`; panics on `failed`.
    pub async fn wait_assembled(&self, alert_id: &str) -> Assembled {
        wait_for(&format!("alert {alert_id} to assemble"), LONG_WAIT, || async {
            let answer = self.get(&format!("/api/v1/alerts/{alert_id}")).await;
            let body = answer.json();
            match body["state"].as_str() {
                Some("assembled") => Ok(Assembled {
                    artifact_id: body["artifact_id"].as_str().expect("artifact_id").to_owned(),
                    share_path: body["share_url"].as_str().expect("share_url").to_owned(),
                }),
                Some("failed") => panic!("alert {alert_id} failed: {body}"),
                _ => Err(format!("status {}: {body}", answer.status)),
            }
        })
        .await
    }

    /// The artifact by id: the canonical bytes and the parsed artifact.
    pub async fn artifact(&self, artifact_id: &str) -> (Answer, Artifact) {
        let answer = self.get(&format!("/api/v1/artifacts/{artifact_id}")).await;
        assert_eq!(answer.status, 200, "artifact {artifact_id}: {}", answer.text());
        let artifact: Artifact = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|err| panic!("artifact does not parse ({err}): {}", answer.text()));
        (answer, artifact)
    }
}

async fn read(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    Ok(Answer { status, headers, body })
}
