//! `POST /api/v1/services/events`: SDK service notices (`pre_arm_start`,
//! `pre_arm_end`), kept for the artifact. They travel on the CE topic so the
//! windower stores them beside the events they explain.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_bus::{Record, headers as record_headers};
use causeway_model::limits::MAX_SERVICE_LEN;
use causeway_model::validate::check_text;
use causeway_model::{DecodeError, FieldError};
use causeway_store::ServiceNotice;
use serde::Deserialize;
use serde_json::json;

use super::body::{read_body, require_json};
use super::{ROUTE_SERVICE_EVENTS, answer, tenant_of};
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::publish;
use crate::state::GatewayState;

/// Longest notice event name (`pre_arm_start`), in bytes.
pub const MAX_NOTICE_EVENT_LEN: usize = 64;

/// What the SDK sends. Unknown top-level fields are ignored so a newer SDK
/// is not refused for adding one.
#[derive(Debug, Deserialize)]
struct NoticeBody {
    service_id: String,
    event: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

pub(super) async fn service_notice(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_SERVICE_EVENTS, service_notice_inner(&state, &headers, body).await)
}

async fn service_notice_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let tenant = tenant_of(state, headers)?;
    require_json(headers)?;
    let body = read_body(state, headers, body).await?;
    let notice = decode_notice(&body.bytes, &tenant.id, now_unix_ns())?;
    let value =
        serde_json::to_vec(&notice).map_err(|err| IngestError::internal(format_args!("notice encoding: {err}")))?;
    let record = Record::new(format!("{}/notice/{}", tenant.id, notice.service), value)
        .with_header(record_headers::RECORD_TYPE, record_headers::TYPE_NOTICE)
        .with_header(record_headers::SCHEMA_VERSION, record_headers::SCHEMA_V1);
    publish(state, &state.deps().topics.ce, vec![record]).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": 1}))).into_response())
}

fn decode_notice(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<ServiceNotice, DecodeError> {
    let raw: NoticeBody =
        serde_json::from_slice(body).map_err(|err| DecodeError::malformed("service notice JSON", err))?;
    check_text("service_id", &raw.service_id, MAX_SERVICE_LEN, true)?;
    check_text("event", &raw.event, MAX_NOTICE_EVENT_LEN, true)?;
    let metadata_json = match raw.metadata {
        None | Some(serde_json::Value::Null) => "{}".to_owned(),
        Some(object @ serde_json::Value::Object(_)) => object.to_string(),
        Some(_) => return Err(FieldError::new("metadata", "must be a JSON object").into()),
    };
    Ok(ServiceNotice {
        tenant_id: tenant_id.to_owned(),
        service: raw.service_id,
        event: raw.event,
        received_at_unix_ns: now_unix_ns,
        metadata_json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_sdk_notice() {
        let body = br#"{"service_id":"checkout","event":"pre_arm_start","metadata":{"window_id":"w1","reasons":[]}}"#;
        let notice = decode_notice(body, "acme", 7).expect("valid");
        assert_eq!(
            (
                notice.tenant_id.as_str(),
                notice.service.as_str(),
                notice.event.as_str()
            ),
            ("acme", "checkout", "pre_arm_start")
        );
        assert_eq!(notice.received_at_unix_ns, 7);
        let metadata: serde_json::Value = serde_json::from_str(&notice.metadata_json).expect("json");
        assert_eq!(metadata["window_id"], "w1");
    }

    #[test]
    fn names_bad_fields() {
        let long = "s".repeat(MAX_SERVICE_LEN + 1);
        let body = format!(r#"{{"service_id":"{long}","event":"pre_arm_start"}}"#);
        let err = decode_notice(body.as_bytes(), "t", 1).expect_err("long");
        assert_eq!(
            (err.field(), err.limit()),
            (Some("service_id"), Some(MAX_SERVICE_LEN as u64))
        );
        let err = decode_notice(br#"{"service_id":"a","event":""}"#, "t", 1).expect_err("empty event");
        assert_eq!(err.field(), Some("event"));
        let err = decode_notice(br#"{"service_id":"a","event":"x","metadata":[1]}"#, "t", 1).expect_err("array");
        assert_eq!(err.field(), Some("metadata"));
        let err = decode_notice(br#"{"event":"x"}"#, "t", 1).expect_err("missing");
        assert!(matches!(err, DecodeError::Malformed { .. }));
    }
}
