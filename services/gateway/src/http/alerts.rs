//! `POST /api/v1/alerts`: the generic alert (DESIGN §4). A `fired_at`
//! outside the tenant's window is refused; a repeated `dedup_key` within
//! the dedup window answers the first alert (200) instead of a new one (202).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_model::Alert;

use super::body::{read_body, require_json};
use super::{ROUTE_ALERTS, answer, tenant_of};
use crate::alert_intake::{Accepted, accept, check_window, new_alert_id};
use crate::error::IngestError;
use crate::state::GatewayState;

pub(super) async fn alert_intake(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_ALERTS, alert_intake_inner(&state, &headers, body).await)
}

async fn alert_intake_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let tenant = tenant_of(state, headers)?;
    require_json(headers)?;
    let body = read_body(state, headers, body).await?;
    let alert = Alert::from_generic_json(&body.bytes, &tenant.id, new_alert_id())?;
    check_window(state, &alert)?;
    let accepted = accept(state, &alert).await?;
    let status = match accepted {
        Accepted::New { .. } => StatusCode::ACCEPTED,
        Accepted::Duplicate { .. } => StatusCode::OK,
    };
    Ok((status, Json(accepted.body(state))).into_response())
}
