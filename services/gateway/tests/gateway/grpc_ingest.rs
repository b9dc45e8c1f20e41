//! gRPC: causeway Ingest, OTLP Export and health, with a real tonic client.

use causeway_model::CeId;
use causeway_model::proto::v1::ingest_service_client::IngestServiceClient;
use causeway_model::proto::v1::{CausalEvent as ProtoEvent, CeBatch, IngestRequest};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{ACME_KEY, Gateway, recent_ns};

const OTLP_PB: &[u8] = include_bytes!("../../../../crates/model/fixtures/otlp_checkout.pb");

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    request
}

fn proto_event(trace: u8, ce: u8) -> ProtoEvent {
    ProtoEvent {
        tenant_id: "victim".into(),
        trace_id: vec![trace; 16],
        ce_id: vec![ce; 16],
        parent_ce_id: Vec::new(),
        service: "checkout".into(),
        kind: 1,
        status: 200,
        start_unix_ns: recent_ns(),
        duration_ns: 5_000,
        operation: "GET /".into(),
        peer: String::new(),
        environment: String::new(),
    }
}

#[tokio::test]
async fn grpc_ingest_is_accepted_under_the_key_tenant() {
    let gateway = Gateway::start().await;
    let mut client = IngestServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let batch = CeBatch {
        events: vec![proto_event(1, 1), proto_event(1, 2), proto_event(2, 3)],
    };
    let response = client
        .ingest(with_key(
            IngestRequest {
                batch: Some(batch.clone()),
            },
            ACME_KEY,
        ))
        .await
        .unwrap();
    assert_eq!(response.into_inner().accepted, 3);
    let published = gateway.published_events().await;
    assert_eq!(published.len(), 2);
    for (key, events) in &published {
        assert!(key.starts_with("acme/"), "{key}");
        assert!(
            events.iter().all(|e| e.tenant_id == "acme"),
            "tenant from the key, not the payload"
        );
    }
    let ce_ids: Vec<CeId> = published.iter().flat_map(|(_, e)| e.iter().map(|e| e.ce_id)).collect();
    assert!(ce_ids.contains(&CeId([3; 16])));

    let status = client
        .ingest(tonic::Request::new(IngestRequest {
            batch: Some(batch.clone()),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .ingest(with_key(IngestRequest { batch: Some(batch) }, "wrong"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let mut bad = proto_event(1, 9);
    bad.ce_id = vec![1, 2, 3];
    let status = client
        .ingest(with_key(
            IngestRequest {
                batch: Some(CeBatch {
                    events: vec![proto_event(3, 3), bad],
                }),
            },
            ACME_KEY,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("events[1].ce_id"), "{}", status.message());
    assert_eq!(gateway.published_events().await.len(), 2, "nothing more published");
    gateway.stop().await;
}

/// Everything published is the export's spans as the model maps them for
/// tenant `acme`, each once.
async fn assert_published_as_mapped(gateway: &Gateway, request: ExportTraceServiceRequest) {
    let expected = causeway_model::events_from_otlp(request, "acme", u64::MAX).unwrap();
    let published = gateway.published_event_list().await;
    assert_eq!(published.len(), expected.len());
    assert!(expected.iter().all(|event| published.contains(event)));
}

#[tokio::test]
async fn otlp_export_is_accepted_and_health_serves() {
    let gateway = Gateway::start().await;
    let mut client = TraceServiceClient::connect(gateway.grpc.clone()).await.unwrap();
    let request = ExportTraceServiceRequest::decode(OTLP_PB).unwrap();
    let response = client
        .export(with_key(request.clone(), ACME_KEY))
        .await
        .unwrap()
        .into_inner();
    assert!(response.partial_success.is_none());
    assert_published_as_mapped(&gateway, request).await;

    let channel = tonic::transport::Endpoint::from_shared(gateway.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in [
        "",
        "causeway.v1.IngestService",
        "opentelemetry.proto.collector.trace.v1.TraceService",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    gateway.stop().await;
}

/// The export is read in place from tonic's buffer, inflated when the
/// exporter compressed it; what is wrong with it is named as over HTTP.
#[tokio::test]
async fn otlp_export_reads_gzip_and_names_what_it_refuses() {
    let gateway = Gateway::start().await;
    let mut client = TraceServiceClient::connect(gateway.grpc.clone())
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let request = ExportTraceServiceRequest::decode(OTLP_PB).unwrap();
    client.export(with_key(request.clone(), ACME_KEY)).await.unwrap();
    assert_published_as_mapped(&gateway, request.clone()).await;

    let records = gateway.published_events().await.len();
    let mut nameless = request;
    for spans in &mut nameless.resource_spans {
        if let Some(resource) = &mut spans.resource {
            resource.attributes.retain(|attribute| attribute.key != "service.name");
        }
    }
    let status = client.export(with_key(nameless, ACME_KEY)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("service.name"), "names the field: {status:?}");
    assert_eq!(
        gateway.published_events().await.len(),
        records,
        "nothing of the refused export published"
    );
    gateway.stop().await;
}
