//! `POST /api/v1/alerts`: the generic alert (DESIGN §4). The alert's
//! `pending` state is stored before the alert is published, so the
//! assembler's later `assembled` state can never be overwritten by it.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_bus::{Record, headers as record_headers};
use causeway_model::{Alert, proto};
use causeway_store::{AlertPhase, AlertState};
use prost::Message;
use serde_json::json;

use super::body::{read_body, require_json};
use super::{ROUTE_ALERTS, answer, tenant_of};
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::{publish, store_error};
use crate::state::GatewayState;

pub(super) async fn alert_intake(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_ALERTS, alert_intake_inner(&state, &headers, body).await)
}

async fn alert_intake_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let tenant = tenant_of(state, headers)?;
    require_json(headers)?;
    let bytes = read_body(headers, body, state.config().max_body_bytes).await?;
    let alert_id = uuid::Uuid::new_v4().to_string();
    let alert = Alert::from_generic_json(&bytes, &tenant.id, alert_id.clone())?;
    let artifacts = &state.deps().artifacts;
    let mut alert_state = AlertState {
        alert_id: alert_id.clone(),
        tenant_id: tenant.id.clone(),
        state: AlertPhase::Pending,
        artifact_id: None,
        share_token: None,
        error: None,
        updated_at_unix_ns: now_unix_ns(),
    };
    artifacts
        .put_alert_state(&alert_state)
        .await
        .map_err(|err| store_error(state, err))?;
    let record = Record::new(tenant.id.clone(), proto::v1::Alert::from(&alert).encode_to_vec())
        .with_header(record_headers::RECORD_TYPE, record_headers::TYPE_ALERT_PROTO)
        .with_header(record_headers::SCHEMA_VERSION, record_headers::SCHEMA_V1);
    if let Err(err) = publish(state, &state.deps().topics.alerts, vec![record]).await {
        // The sender retries under a new id; this one will never assemble.
        alert_state.state = AlertPhase::Failed;
        alert_state.error = Some(format!("not accepted: {err}; the sender was asked to retry"));
        alert_state.updated_at_unix_ns = now_unix_ns();
        if let Err(store_err) = artifacts.put_alert_state(&alert_state).await {
            tracing::warn!(alert_id, error = %store_err, "could not mark the unpublished alert failed");
        }
        return Err(err);
    }
    tracing::info!(tenant = %tenant.id, alert_id, service = %alert.service, "alert accepted");
    Ok((StatusCode::ACCEPTED, Json(json!({"alert_id": alert_id}))).into_response())
}
