//! Sends one pre-encoded request and classifies the answer. gRPC requests
//! go through a codec that writes the already-encoded protobuf bytes, so
//! nothing is encoded while the clock runs.

use std::time::Duration;

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes};
use reqwest::StatusCode;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use super::args::Protocol;
use crate::demo::flushes::{OTLP_TRACES_PATH, SDK_BATCH_PATH};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const OTLP_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const CAUSEWAY_INGEST: &str = "/causeway.v1.IngestService/Ingest";

/// What the gateway answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Acked,
    /// `reason` is the gateway's error code (`unavailable`, `invalid_field`,
    /// …), the gRPC code, or `transport`; `retry_after` when it may be retried.
    Refused {
        reason: String,
        retry_after: Option<Duration>,
    },
}

#[derive(Clone)]
pub enum Sender {
    Http {
        client: reqwest::Client,
        url: String,
        content_type: &'static str,
        authorization: String,
    },
    Grpc {
        channel: Channel,
        path: PathAndQuery,
        authorization: MetadataValue<tonic::metadata::Ascii>,
    },
}

impl Sender {
    pub async fn connect(protocol: Protocol, target: &str, key: &str) -> anyhow::Result<Self> {
        let authorization = format!("Bearer {key}");
        let (path, content_type) = match protocol {
            Protocol::SdkJson => (SDK_BATCH_PATH, "application/json"),
            Protocol::OtlpHttp => (OTLP_TRACES_PATH, "application/x-protobuf"),
            Protocol::OtlpGrpc => (OTLP_EXPORT, "application/grpc"),
            Protocol::Grpc => (CAUSEWAY_INGEST, "application/grpc"),
        };
        if !protocol.is_grpc() {
            let client = reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .context("building the http client")?;
            return Ok(Sender::Http {
                client,
                url: format!("{target}{path}"),
                content_type,
                authorization,
            });
        }
        let channel = Endpoint::from_shared(target.to_owned())
            .with_context(|| format!("--target {target:?} is not a valid grpc address"))?
            .timeout(REQUEST_TIMEOUT)
            .connect()
            .await
            .with_context(|| format!("could not connect to {target}: is the gateway's grpc port there?"))?;
        Ok(Sender::Grpc {
            channel,
            path: PathAndQuery::from_static(path),
            authorization: authorization
                .parse()
                .context("the api key is not valid grpc metadata")?,
        })
    }

    pub async fn send(&self, body: Bytes) -> Answer {
        match self {
            Sender::Http {
                client,
                url,
                content_type,
                authorization,
            } => {
                let sent = client
                    .post(url)
                    .header(reqwest::header::AUTHORIZATION, authorization)
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(response) => http_answer(response).await,
                    Err(_) => refused("transport", None),
                }
            }
            Sender::Grpc {
                channel,
                path,
                authorization,
            } => {
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                if grpc.ready().await.is_err() {
                    return refused("transport", None);
                }
                let mut request = tonic::Request::new(body);
                request.metadata_mut().insert("authorization", authorization.clone());
                match grpc.unary(request, path.clone(), PreEncoded).await {
                    Ok(_) => Answer::Acked,
                    Err(status) => {
                        let retry_after = status
                            .metadata()
                            .get("retry-after")
                            .and_then(|value| value.to_str().ok())
                            .and_then(|text| text.parse::<u64>().ok())
                            .map(Duration::from_secs);
                        let retryable = status.code() == tonic::Code::Unavailable;
                        refused(
                            &format!("{:?}", status.code()).to_lowercase(),
                            retryable.then(|| retry_after.unwrap_or(Duration::from_secs(1))),
                        )
                    }
                }
            }
        }
    }
}

fn refused(reason: &str, retry_after: Option<Duration>) -> Answer {
    Answer::Refused {
        reason: reason.to_owned(),
        retry_after,
    }
}

async fn http_answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    if status.is_success() {
        // Read the (small) body so the connection goes back to the pool.
        let _ = response.bytes().await;
        return Answer::Acked;
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let reason = body
        .get("error")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| format!("http_{}", status.as_u16()), str::to_owned);
    // Only 503 is worth repeating as is; a 429 is a quota and stays refused.
    let retryable = status == StatusCode::SERVICE_UNAVAILABLE;
    refused(
        &reason,
        retryable.then(|| retry_after.unwrap_or(Duration::from_secs(1))),
    )
}

/// Writes bytes that already are an encoded protobuf message; reads and
/// drops the answer (an empty or tiny message).
#[derive(Debug, Clone, Copy, Default)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = PreEncoded;
    type Decoder = PreEncoded;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncoded
    }

    fn decoder(&mut self) -> Self::Decoder {
        PreEncoded
    }
}

impl Encoder for PreEncoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Self::Error> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}
