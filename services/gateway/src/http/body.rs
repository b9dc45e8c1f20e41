//! Reading a request body within the size limit, before and after gzip,
//! under the gateway's in-flight limits, and classifying its content type.

use std::io::Read;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use causeway_model::DecodeError;
use flate2::read::GzDecoder;
use http_body_util::BodyExt;

use crate::admission::Ticket;
use crate::error::IngestError;
use crate::state::GatewayState;

/// The media type without parameters, lower-cased (`application/json`).
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// JSON-only routes accept `application/json` or no content type (curl
/// and some SDKs omit it); anything else is 415.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), IngestError> {
    match media_type(headers) {
        None => Ok(()),
        Some(media) if media == "application/json" => Ok(()),
        Some(other) => Err(IngestError::UnsupportedMediaType(other)),
    }
}

/// Most bytes of a refused body read and thrown away so its sender can
/// read the 413; a larger body is cut off with the connection.
const DRAIN_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Longest time spent draining a refused body.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How much gzip output is inflated (and counted against the in-flight
/// budget) at a time.
const INFLATE_CHUNK_BYTES: usize = 64 * 1024;

/// A request body read to its end, and the admission it was read under:
/// keep `ticket` until the request is answered, so its bytes stay counted.
pub(crate) struct AdmittedBody {
    pub bytes: Bytes,
    pub ticket: Ticket,
}

/// The body, decompressed when `Content-Encoding: gzip`, never larger than
/// `max_body_bytes` at any stage: a declared `Content-Length` over the
/// limit is refused before reading, and reading stops at the limit. The
/// request is admitted under the in-flight limits first, and every byte
/// read or inflated is counted against the byte budget as it arrives: over
/// either limit it is refused at once (503), not queued.
pub(crate) async fn read_body(
    state: &GatewayState,
    headers: &HeaderMap,
    body: Body,
) -> Result<AdmittedBody, IngestError> {
    let max_bytes = state.config().max_body_bytes;
    let limit_ms = state.config().body_read_timeout_ms;
    let ticket = state.admit()?;
    // A client trickling its body would otherwise hold its slot and bytes
    // of the in-flight budget for as long as it likes.
    let bytes = tokio::time::timeout(
        Duration::from_millis(limit_ms),
        read_admitted(headers, body, max_bytes, &ticket),
    )
    .await
    .map_err(|_| IngestError::BodyTimeout { limit_ms })??;
    Ok(AdmittedBody { bytes, ticket })
}

async fn read_admitted(
    headers: &HeaderMap,
    mut body: Body,
    max_bytes: usize,
    ticket: &Ticket,
) -> Result<Bytes, IngestError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().map(str::trim)) {
        None => false,
        Some(Ok(enc)) if enc.is_empty() || enc.eq_ignore_ascii_case("identity") => false,
        Some(Ok(enc)) if enc.eq_ignore_ascii_case("gzip") => true,
        Some(Ok(enc)) => return Err(IngestError::UnsupportedEncoding(enc.to_owned())),
        Some(Err(_)) => return Err(IngestError::UnsupportedEncoding("(not text)".to_owned())),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        drain(body, 0).await;
        return Err(IngestError::BodyTooLarge { limit: max_bytes });
    }
    // The frames are kept as they came and joined once at the end: one copy
    // of the body, where growing one buffer frame by frame copies it about
    // twice over (a 500-event request arrives in a dozen frames or more).
    let mut frames: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            IngestError::from(DecodeError::malformed(
                "request body",
                format!("cannot read the body: {err}"),
            ))
        })?;
        let Ok(data) = frame.into_data() else { continue };
        if len + data.len() > max_bytes {
            drain(body, len + data.len()).await;
            return Err(IngestError::BodyTooLarge { limit: max_bytes });
        }
        ticket.reserve(data.len())?;
        len += data.len();
        frames.push(data);
    }
    let raw = join(frames, len);
    if !gzip {
        return Ok(raw);
    }
    // Inflating several megabytes takes milliseconds: off the runtime
    // threads. The task holds the ticket, so the bytes stay counted until it
    // ends even if the client goes away meanwhile.
    let ticket = ticket.clone();
    tokio::task::spawn_blocking(move || {
        let inflated = gunzip(&raw, max_bytes, &ticket);
        // The compressed copy is dropped here: count it out.
        ticket.release(raw.len());
        inflated
    })
    .await
    .map_err(|err| IngestError::internal(format_args!("decompression task failed: {err}")))?
}

/// The body's frames as one buffer: the frame itself when there is one.
fn join(mut frames: Vec<Bytes>, len: usize) -> Bytes {
    if frames.len() == 1 {
        return frames.pop().unwrap_or_default();
    }
    let mut joined = BytesMut::with_capacity(len);
    for frame in frames {
        joined.extend_from_slice(&frame);
    }
    joined.freeze()
}

/// Reads and throws away what is left of a refused body (bounded in bytes
/// and time): a client still sending it would otherwise see the connection
/// reset instead of the 413 that says what the limit is.
async fn drain(mut body: Body, already_read: usize) {
    let mut seen = already_read;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while seen <= DRAIN_MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |data| data.len()),
                Some(Err(_)) | None => break,
            }
        }
    })
    .await;
}

/// Inflates at most `max_bytes`; more is a 413 (a gzip bomb stops there).
/// The output is counted against the in-flight budget as it grows.
fn gunzip(compressed: &[u8], max_bytes: usize, ticket: &Ticket) -> Result<Bytes, IngestError> {
    let mut out = Vec::new();
    let mut decoder = GzDecoder::new(compressed).take(max_bytes as u64 + 1);
    loop {
        let before = out.len();
        let read = (&mut decoder)
            .take(INFLATE_CHUNK_BYTES as u64)
            .read_to_end(&mut out)
            .map_err(|err| DecodeError::malformed("gzip body", err))?;
        if read == 0 {
            break;
        }
        if out.len() > max_bytes {
            return Err(IngestError::BodyTooLarge { limit: max_bytes });
        }
        ticket.reserve(out.len() - before)?;
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).expect("write");
        encoder.finish().expect("finish")
    }

    fn ticket(max_inflight_bytes: usize) -> Ticket {
        let config = crate::config::GatewayConfig {
            max_inflight_bytes,
            ..crate::config::GatewayConfig::default()
        };
        crate::admission::Admission::new(&config, None)
            .admit()
            .expect("admitted")
    }

    #[test]
    fn gunzip_enforces_the_decompressed_limit() {
        let data = vec![b'a'; 1000];
        let held = ticket(1_000_000);
        assert_eq!(gunzip(&gzip(&data), 1000, &held).expect("fits").len(), 1000);
        assert_eq!(held.held_bytes(), 1000, "the inflated size is counted");
        assert!(matches!(
            gunzip(&gzip(&data), 999, &ticket(1_000_000)),
            Err(IngestError::BodyTooLarge { limit: 999 })
        ));
        assert!(matches!(
            gunzip(b"not gzip", 1000, &ticket(1_000_000)),
            Err(IngestError::Decode(_))
        ));
    }

    #[test]
    fn gunzip_stops_at_the_in_flight_budget() {
        let data = vec![b'a'; 3 * INFLATE_CHUNK_BYTES];
        let held = ticket(INFLATE_CHUNK_BYTES + 10);
        assert!(matches!(
            gunzip(&gzip(&data), data.len(), &held),
            Err(IngestError::Overloaded { .. })
        ));
        assert!(held.held_bytes() <= INFLATE_CHUNK_BYTES + 10);
    }

    #[test]
    fn media_type_drops_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().expect("value"),
        );
        assert_eq!(media_type(&headers).as_deref(), Some("application/json"));
        assert!(require_json(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().expect("value"));
        assert!(matches!(
            require_json(&headers),
            Err(IngestError::UnsupportedMediaType(_))
        ));
    }
}
