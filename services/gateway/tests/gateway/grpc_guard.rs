//! gRPC calls are authenticated before tonic reads their message: a call
//! without a known key is refused `UNAUTHENTICATED` whatever its body,
//! where a decode would have failed (or been attempted) otherwise.

use bytes::{Buf, BufMut};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{ACME_KEY, Gateway};

/// Sends and receives message bytes as they are: a client that can send
/// what no protobuf encoder would.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// One unary call of `path` carrying `message` as the raw message bytes.
async fn raw_call(gateway: &Gateway, path: &'static str, key: Option<&str>, message: Vec<u8>) -> tonic::Status {
    let channel = tonic::transport::Endpoint::from_shared(gateway.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let mut request = tonic::Request::new(message);
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    match client.unary(request, PathAndQuery::from_static(path), RawCodec).await {
        Ok(response) => panic!("garbage accepted: {:?}", response.into_inner().len()),
        Err(status) => status,
    }
}

const INGEST: &str = "/causeway.v1.IngestService/Ingest";
const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test]
async fn unauthenticated_garbage_is_refused_before_it_is_decoded() {
    let gateway = Gateway::start().await;
    // Not protobuf, 3 MiB: under the 4 MiB message limit.
    let garbage = vec![0xff; 3 * 1024 * 1024];
    // Over the message limit: tonic alone would refuse it by its length.
    let huge = vec![0xff; 5 * 1024 * 1024];
    for path in [INGEST, EXPORT] {
        for key in [None, Some("wrong-key")] {
            for message in [&garbage, &huge] {
                let status = raw_call(&gateway, path, key, message.clone()).await;
                assert_eq!(
                    status.code(),
                    Code::Unauthenticated,
                    "{path} {key:?} {} bytes: {status:?}",
                    message.len()
                );
            }
        }
        // With the key the same bytes reach the decoder, which refuses them
        // (the export's own decoder names what is wrong, as over HTTP).
        let status = raw_call(&gateway, path, Some(ACME_KEY), garbage.clone()).await;
        assert!(
            !matches!(status.code(), Code::Unauthenticated | Code::Ok),
            "{path}: {status:?}"
        );
        if path == EXPORT {
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        }
        let status = raw_call(&gateway, path, Some(ACME_KEY), huge.clone()).await;
        assert!(
            !matches!(status.code(), Code::Unauthenticated | Code::Ok),
            "{path}: {status:?}"
        );
    }
    // A method the export service does not have is named, not served.
    let status = raw_call(
        &gateway,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Import",
        Some(ACME_KEY),
        garbage.clone(),
    )
    .await;
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    // Health stays open.
    let channel = tonic::transport::Endpoint::from_shared(gateway.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.status(), ServingStatus::Serving);
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}
