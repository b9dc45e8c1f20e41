//! Refused requests: the precise status and body, and nothing published.

use std::io::Write;
use std::sync::atomic::Ordering;

use causeway_gateway::{GatewayConfig, month_of, now_unix_ns};
use causeway_model::limits::{MAX_EVENTS_PER_BATCH, MAX_SERVICE_LEN};
use causeway_model::proto::v1::ingest_service_client::IngestServiceClient;
use causeway_model::proto::v1::{CeBatch, IngestRequest};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{ACME_KEY, Gateway, TINY_KEY, TINY_QUOTA, sdk_batch, sdk_event, uuid};

async fn expect_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn unauthorized_without_or_with_a_wrong_key_on_every_route() {
    let gateway = Gateway::start().await;
    let body = sdk_batch(vec![sdk_event(&uuid(), &uuid(), "checkout")]);
    for path in [
        "/api/v1/ingest/batch",
        "/v1/traces",
        "/api/v1/services/events",
        "/api/v1/alerts",
    ] {
        for key in [None, Some("wrong-key")] {
            let response = gateway.post(path, key).json(&body).send().await.unwrap();
            let error = expect_error(response, 401).await;
            assert_eq!(error["error"], "unauthorized", "{path}");
            assert!(error["message"].as_str().unwrap().len() > 5);
        }
        let response = gateway
            .client
            .post(format!("{}{path}", gateway.http))
            .header("authorization", ACME_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "a key without the Bearer scheme");
    }
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field() {
    let gateway = Gateway::start().await;
    let good = || sdk_event(&uuid(), &uuid(), "checkout");
    let mut bad_uuid = good();
    bad_uuid["ce_id"] = json!("not-a-uuid");
    let mut wrong_type = good();
    wrong_type["status"] = json!("200");
    let mut missing = good();
    missing.as_object_mut().unwrap().remove("trace_id");
    let mut long_service = good();
    long_service["service_id"] = json!("s".repeat(MAX_SERVICE_LEN + 1));
    let cases = [
        (vec![good(), bad_uuid], "events[1].ce_id", None),
        (vec![wrong_type], "events[0].status", None),
        (vec![good(), good(), missing], "events[2].trace_id", None),
        (vec![long_service], "events[0].service_id", Some(MAX_SERVICE_LEN as u64)),
        (
            (0..=MAX_EVENTS_PER_BATCH).map(|_| good()).collect(),
            "events",
            Some(MAX_EVENTS_PER_BATCH as u64),
        ),
    ];
    for (events, field, limit) in cases {
        let response = gateway
            .post("/api/v1/ingest/batch", Some(ACME_KEY))
            .json(&sdk_batch(events))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, 400).await;
        assert_eq!(error["error"], "invalid_field", "{error}");
        assert_eq!(error["field"], field, "{error}");
        assert_eq!(error.get("limit").and_then(Value::as_u64), limit, "{error}");
        assert!(error["message"].as_str().unwrap().len() > 5);
    }
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 400).await["error"], "malformed");
    let response = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 400).await["error"], "malformed");
    let response = gateway
        .post("/api/v1/services/events", Some(ACME_KEY))
        .json(&json!({"service_id": "s".repeat(MAX_SERVICE_LEN + 1), "event": "pre_arm_start"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 400).await["field"], "service_id");
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

#[tokio::test]
async fn over_the_body_limit_is_413() {
    let limit = 4096;
    let gateway = Gateway::start_with(GatewayConfig {
        max_body_bytes: limit,
        ..GatewayConfig::default()
    })
    .await;
    let events = (0..40).map(|_| sdk_event(&uuid(), &uuid(), "checkout")).collect();
    let big = serde_json::to_vec(&sdk_batch(events)).unwrap();
    assert!(big.len() > limit);
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let error = expect_error(response, 413).await;
    assert_eq!(
        (error["error"].as_str(), error["limit"].as_u64()),
        (Some("body_too_large"), Some(limit as u64))
    );

    // Small on the wire, over the limit once inflated.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&big).unwrap();
    let compressed = encoder.finish().unwrap();
    assert!(compressed.len() < limit);
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(response, 413).await["limit"], limit);

    // No Content-Length (chunked): the limit holds on the bytes actually read.
    let address = gateway.http.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/ingest/batch HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ACME_KEY}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        big.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&big).await.unwrap();
    stream.write_all(b"\r\n0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

#[tokio::test]
async fn unknown_content_type_or_encoding_is_415() {
    let gateway = Gateway::start().await;
    let body = serde_json::to_vec(&sdk_batch(vec![sdk_event(&uuid(), &uuid(), "checkout")])).unwrap();
    let cases = [
        ("/api/v1/ingest/batch", "text/plain", None),
        ("/v1/traces", "application/xml", None),
        ("/api/v1/alerts", "application/x-www-form-urlencoded", None),
        ("/api/v1/ingest/batch", "application/json", Some("br")),
    ];
    for (path, content_type, encoding) in cases {
        let mut request = gateway
            .post(path, Some(ACME_KEY))
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let error = expect_error(request.send().await.unwrap(), 415).await;
        assert_eq!(error["error"], "unsupported_media_type", "{path} {content_type}");
    }
    let response = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415, "OTLP/HTTP needs a content type");
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

#[tokio::test]
async fn over_quota_is_429_with_the_sdk_body() {
    let gateway = Gateway::start().await;
    let batch = |n: usize| sdk_batch((0..n).map(|_| sdk_event(&uuid(), &uuid(), "checkout")).collect());
    let response = gateway
        .post("/api/v1/ingest/batch", Some(TINY_KEY))
        .json(&batch(3))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let before = gateway.records(&gateway.topics.ce).await.len();

    let response = gateway
        .post("/api/v1/ingest/batch", Some(TINY_KEY))
        .json(&batch(3))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let expected = causeway_gateway::seconds_until_next_month(now_unix_ns());
    assert!(
        retry_after.abs_diff(expected) <= 5,
        "seconds until next month: {retry_after}, expected {expected}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "ce_limit_reached", "limit_type": "ce", "plan": "free", "limit": TINY_QUOTA})
    );
    assert_eq!(
        gateway.records(&gateway.topics.ce).await.len(),
        before,
        "nothing published over quota"
    );
    let month = month_of(now_unix_ns());
    assert_eq!(gateway.metered_usage("tiny", month, 3).await, 3);

    // Exactly up to the quota is still accepted.
    let response = gateway
        .post("/api/v1/ingest/batch", Some(TINY_KEY))
        .json(&batch(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(gateway.metered_usage("tiny", month, TINY_QUOTA).await, TINY_QUOTA);
    let response = gateway
        .post("/api/v1/ingest/batch", Some(TINY_KEY))
        .json(&batch(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    // Another tenant is not affected.
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&batch(6))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn full_bus_is_503_with_retry_after_and_grpc_unavailable() {
    let gateway = Gateway::start().await;
    gateway.bus.full.store(true, Ordering::SeqCst);
    let body = sdk_batch(vec![sdk_event(&uuid(), &uuid(), "checkout")]);
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2", "1.5 s rounded up");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "unavailable");
    // The bus's own words stay in the log; the client gets the id of the line.
    let error_id = error["error_id"].as_str().unwrap();
    assert_eq!(error_id.len(), 12, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(error_id) && message.contains("retry after 2 s"),
        "{message}"
    );
    assert!(!message.contains("bus"), "{message}");

    let response = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&json!({"service": "checkout", "fired_at": now_unix_ns()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);

    let mut client = IngestServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let mut request = tonic::Request::new(IngestRequest {
        batch: Some(CeBatch::default()),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {ACME_KEY}").parse().unwrap());
    // An empty batch publishes nothing, so it succeeds even on a full bus.
    assert_eq!(client.ingest(request).await.unwrap().into_inner().accepted, 0);
    let event = causeway_model::proto::v1::CausalEvent {
        trace_id: vec![7; 16],
        ce_id: vec![8; 16],
        service: "checkout".into(),
        kind: 1,
        status: 200,
        start_unix_ns: super::harness::recent_ns(),
        ..Default::default()
    };
    let mut request = tonic::Request::new(IngestRequest {
        batch: Some(CeBatch { events: vec![event] }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {ACME_KEY}").parse().unwrap());
    let status = client.ingest(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(status.metadata().get("retry-after").unwrap(), "2");
    assert!(
        status.message().contains("error id") && !status.message().contains("bus"),
        "{status:?}"
    );

    gateway.bus.full.store(false, Ordering::SeqCst);
    gateway.assert_nothing_published().await;
    assert_eq!(
        gateway.metered_usage("acme", month_of(now_unix_ns()), 0).await,
        0,
        "not metered"
    );
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the retry succeeds once the bus has room");
    gateway.stop().await;
}
