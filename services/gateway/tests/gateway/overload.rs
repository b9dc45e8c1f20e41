//! The gateway-wide in-flight limits: over the byte budget or the request
//! limit, HTTP is answered 503 + `Retry-After` naming the limit and gRPC
//! `RESOURCE_EXHAUSTED`, nothing is published, and once the requests
//! holding the budget end (here: their clients go away), intake resumes.
//! The same for events while a windower in the process is too far behind,
//! which alerts do not wait for.

use std::time::{Duration, Instant};

use causeway_gateway::GatewayConfig;
use causeway_model::proto::v1::ingest_service_client::IngestServiceClient;
use causeway_model::proto::v1::{CausalEvent as ProtoEvent, CeBatch, IngestRequest};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::harness::{ACME_KEY, Gateway, recent_ns, sdk_batch, sdk_event, uuid};

/// Starts an SDK batch request whose chunked body sends `sent` bytes of a
/// chunk it announces as larger, and never finishes it: the request stays
/// in flight, holding what it sent, until the stream is dropped.
async fn hold_request(gateway: &Gateway, sent: usize) -> TcpStream {
    let address = gateway.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/ingest/batch HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ACME_KEY}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
        sent + 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Sends a body that is not JSON until the gateway refuses it as
/// overloaded (admitted, it would be a 400): the held requests are then
/// counted. Returns the refusal's body.
async fn wait_until_overloaded(gateway: &Gateway, probe_bytes: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = gateway
            .post("/api/v1/ingest/batch", Some(ACME_KEY))
            .header("content-type", "application/json")
            .body(vec![b'x'; probe_bytes])
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            503 => return response.json().await.unwrap(),
            400 => {}
            other => panic!("probe answered {other}"),
        }
        assert!(Instant::now() < deadline, "the held requests were never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Posts `body` until it is accepted: the budget comes back once the
/// server has seen the held requests' clients go.
async fn post_until_accepted(gateway: &Gateway, body: &Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = gateway
            .post("/api/v1/ingest/batch", Some(ACME_KEY))
            .json(body)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => return,
            503 => {}
            other => panic!("answered {other}: {}", response.text().await.unwrap()),
        }
        assert!(Instant::now() < deadline, "the in-flight budget was never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Posts `batch` and checks it is refused whole: 503 `overloaded` by
/// `limit_type` at `limit`, with `Retry-After` and the config key named.
async fn assert_overloaded(gateway: &Gateway, batch: &Value, limit_type: &str, limit: u64, key: &str) {
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "overloaded", "{body}");
    assert_eq!(body["limit_type"], limit_type, "{body}");
    assert_eq!(body["limit"], limit, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(key), "{message}");
}

/// The same over gRPC: `RESOURCE_EXHAUSTED` with `retry-after` and the key.
async fn assert_grpc_overloaded(
    client: &mut IngestServiceClient<tonic::transport::Channel>,
    request: tonic::Request<IngestRequest>,
    key: &str,
) {
    let status = client.ingest(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.metadata().get("retry-after").unwrap(), "1");
    assert!(status.message().contains(key), "{status:?}");
}

fn batch_of(events: usize) -> Value {
    sdk_batch((0..events).map(|_| sdk_event(&uuid(), &uuid(), "checkout")).collect())
}

fn grpc_request(events: usize, key: Option<&str>) -> tonic::Request<IngestRequest> {
    let events = (0..events)
        .map(|i| ProtoEvent {
            trace_id: uuid::Uuid::new_v4().into_bytes().to_vec(),
            ce_id: uuid::Uuid::new_v4().into_bytes().to_vec(),
            service: "checkout".into(),
            kind: 1,
            status: 200,
            start_unix_ns: recent_ns(),
            operation: format!("GET /orders/{i}/{}", "x".repeat(64)),
            ..Default::default()
        })
        .collect();
    let mut request = tonic::Request::new(IngestRequest {
        batch: Some(CeBatch { events }),
    });
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    request
}

#[tokio::test]
async fn over_the_byte_budget_is_503_until_the_holders_go() {
    let max_body = 64 * 1024;
    let budget = 2 * max_body;
    let gateway = Gateway::start_with(GatewayConfig {
        max_body_bytes: max_body,
        max_inflight_bytes: budget,
        ..GatewayConfig::default()
    })
    .await;
    // Two requests hold 120 KiB of the 128 KiB budget.
    let first = hold_request(&gateway, 60 * 1024).await;
    let second = hold_request(&gateway, 60 * 1024).await;
    let refused = wait_until_overloaded(&gateway, 16 * 1024).await;
    assert_eq!(refused["limit_type"], "inflight_bytes", "{refused}");

    // A valid batch larger than what is left is refused whole.
    let batch = batch_of(60);
    let size = serde_json::to_vec(&batch).unwrap().len();
    assert!(size > 8 * 1024 && size < max_body, "{size}");
    assert_overloaded(
        &gateway,
        &batch,
        "inflight_bytes",
        budget as u64,
        "gateway.max_inflight_bytes",
    )
    .await;

    // gRPC shares the budget: its body is counted as it arrives.
    let mut client = IngestServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let request = grpc_request(150, Some(ACME_KEY));
    assert!(prost::Message::encoded_len(request.get_ref()) > 8 * 1024);
    assert_grpc_overloaded(&mut client, request, "gateway.max_inflight_bytes").await;
    gateway.assert_nothing_published().await;

    // The holders' clients go away: their bytes come back.
    drop(first);
    drop(second);
    post_until_accepted(&gateway, &batch).await;
    let published = gateway.published_event_list().await.len();
    assert_eq!(published, 60);
    let accepted = client.ingest(grpc_request(150, Some(ACME_KEY))).await.unwrap();
    assert_eq!(accepted.into_inner().accepted, 150);
    gateway.stop().await;
}

#[tokio::test]
async fn over_the_request_limit_is_503_and_grpc_resource_exhausted() {
    let gateway = Gateway::start_with(GatewayConfig {
        max_inflight_requests: 1,
        ..GatewayConfig::default()
    })
    .await;
    let held = hold_request(&gateway, 10).await;
    let refused = wait_until_overloaded(&gateway, 10).await;
    assert_eq!(refused["limit_type"], "inflight_requests", "{refused}");

    let batch = batch_of(2);
    assert_overloaded(
        &gateway,
        &batch,
        "inflight_requests",
        1,
        "gateway.max_inflight_requests",
    )
    .await;

    let mut client = IngestServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let request = grpc_request(2, Some(ACME_KEY));
    assert_grpc_overloaded(&mut client, request, "gateway.max_inflight_requests").await;
    // The key is checked first: a caller without one never takes a slot.
    let status = client.ingest(grpc_request(2, None)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    gateway.assert_nothing_published().await;

    drop(held);
    post_until_accepted(&gateway, &batch).await;
    assert_eq!(
        client
            .ingest(grpc_request(2, Some(ACME_KEY)))
            .await
            .unwrap()
            .into_inner()
            .accepted,
        2
    );
    let published = gateway.published_event_list().await.len();
    assert_eq!(published, 4);
    gateway.stop().await;
}

/// A body that stalls is answered 408 at the read deadline, naming the
/// limit, and its slot comes back: with one slot, the next batch goes in.
#[tokio::test]
async fn a_stalled_body_is_408_at_the_deadline_and_frees_its_slot() {
    let gateway = Gateway::start_with(GatewayConfig {
        max_inflight_requests: 1,
        body_read_timeout_ms: 300,
        ..GatewayConfig::default()
    })
    .await;
    let mut held = hold_request(&gateway, 10).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::io::AsyncReadExt::read_to_end(&mut held, &mut answer),
    )
    .await;
    assert!(read.is_ok(), "the stalled request was never answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"body_timeout\""), "{answer}");
    assert!(answer.contains("\"limit\":300"), "{answer}");
    assert!(answer.contains("gateway.body_read_timeout_ms"), "{answer}");
    post_until_accepted(&gateway, &batch_of(2)).await;
}

#[tokio::test]
async fn a_windower_backlog_refuses_events_on_every_route_but_not_alerts() {
    let gateway = Gateway::start().await;
    let limit = GatewayConfig::default().max_window_backlog_records;
    gateway.backlog.set(limit + 1, gateway.backlog.mark());
    let batch = batch_of(1);
    assert_overloaded(
        &gateway,
        &batch,
        "window_backlog",
        limit,
        "gateway.max_window_backlog_records",
    )
    .await;
    // An empty OTLP export would be accepted (0 spans): refused before it is read.
    let otlp = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(otlp.status(), 503);
    let mut client = IngestServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let request = grpc_request(2, Some(ACME_KEY));
    assert_grpc_overloaded(&mut client, request, "gateway.max_window_backlog_records").await;
    gateway.assert_nothing_published().await;

    // The alert that an overload sets off is taken all the same.
    let alert = json!({
        "service": "checkout",
        "fired_at": recent_ns(),
        "title": "checkout 5xx",
        "source": "pagerduty",
    });
    let response = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    gateway.backlog.set(limit, gateway.backlog.mark());
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(gateway.published_events().await.len(), 1);
    // That batch's record counts until the windower reads its lag again:
    // the backlog is now one over the limit.
    assert_eq!(gateway.backlog.records(), limit + 1);
    assert_overloaded(
        &gateway,
        &batch,
        "window_backlog",
        limit,
        "gateway.max_window_backlog_records",
    )
    .await;
}
