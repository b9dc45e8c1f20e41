//! Event and input builders shared by the integration tests.
#![allow(dead_code)]

use causeway_assembly::{AssemblyInput, PreArmSignal};
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};

/// 2026-11-21T00:00:00Z.
pub const T0: u64 = 1_795_219_200_000_000_000;
pub const MS: u64 = 1_000_000;
pub const US: u64 = 1_000;
pub const SECOND: u64 = 1_000_000_000;
pub const TENANT: &str = "acme";

/// A readable, non-zero id: `000000nn-...`.
pub fn ce(n: u32) -> CeId {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes[15] = 1;
    CeId(bytes)
}

pub fn trace(n: u8) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[0] = n;
    bytes[15] = 0xaa;
    TraceId(bytes)
}

/// An event starting `start_us` after `T0 + 10 s`.
#[allow(clippy::too_many_arguments)] // one argument per event field keeps test tables readable
pub fn ev(
    trace_id: TraceId,
    id: u32,
    parent: Option<u32>,
    service: &str,
    kind: Kind,
    status: u16,
    start_us: u64,
    duration_us: u64,
) -> CausalEvent {
    CausalEvent {
        tenant_id: TENANT.into(),
        trace_id,
        ce_id: ce(id),
        parent_ce_id: parent.map(ce),
        service: service.into(),
        kind,
        status,
        start_unix_ns: T0 + 10 * SECOND + start_us * US,
        duration_ns: duration_us * US,
        operation: None,
        peer: None,
        environment: None,
    }
}

pub fn with_op(mut event: CausalEvent, operation: &str) -> CausalEvent {
    event.operation = Some(operation.into());
    event
}

pub fn with_peer(mut event: CausalEvent, peer: &str) -> CausalEvent {
    event.peer = Some(peer.into());
    event
}

pub fn alert(service: &str, fired_at_unix_ns: u64, trace_id: Option<TraceId>) -> Alert {
    Alert {
        alert_id: "al-0001".into(),
        tenant_id: TENANT.into(),
        service: service.into(),
        fired_at_unix_ns,
        title: format!("error rate > 1% on {service}"),
        source: AlertSource::Pagerduty,
        source_label: None,
        dedup_key: Some("checkout-5xx".into()),
        trace_id,
        severity: Some("critical".into()),
    }
}

/// Fired one minute after T0; window = candidates.
pub fn input(alert: Alert, candidates: Vec<CausalEvent>) -> AssemblyInput {
    AssemblyInput {
        alert,
        pre_arm_ns: 300 * SECOND,
        settle_ns: 5 * SECOND,
        window_events: candidates.clone(),
        candidates,
        pre_arm_signals: Vec::new(),
        assembled_at_unix_ns: T0 + 66 * SECOND,
        preselection: None,
        activity: None,
        window: Default::default(),
        cuts: Vec::new(),
        peer_calls: Default::default(),
    }
}

pub fn fired_at() -> u64 {
    T0 + 60 * SECOND
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// The callee's inbound event is the child of the caller's outbound step.
    Otlp,
    /// The callee's inbound event is the child of the caller's inbound step.
    Sdk,
}

impl Linkage {
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Otlp => "otlp",
            Linkage::Sdk => "sdk",
        }
    }

    /// The parent a callee's inbound event names.
    pub fn callee_parent(self, caller_inbound: u32, caller_outbound: u32) -> u32 {
        match self {
            Linkage::Otlp => caller_outbound,
            Linkage::Sdk => caller_inbound,
        }
    }
}

pub const EXAMPLE_TRACE: u8 = 0x3f;

/// The seed's example: api-gateway -> order-service -> (inventory-service,
/// pricing-service 500), api-gateway -> auth-service. Ids: 1 gateway in,
/// 2 gateway -> order, 3 order in, 4 order -> inventory, 5 inventory in,
/// 6 order -> pricing, 7 pricing in (500), 8 gateway -> auth, 9 auth in.
pub fn example_trace(linkage: Linkage) -> Vec<CausalEvent> {
    let t = trace(EXAMPLE_TRACE);
    let out = |id, parent, service, op, peer, status, start, dur| {
        with_peer(
            with_op(ev(t, id, Some(parent), service, Kind::HttpOut, status, start, dur), op),
            peer,
        )
    };
    let inbound = |id, parent: Option<u32>, service, op, status, start, dur| {
        with_op(ev(t, id, parent, service, Kind::HttpIn, status, start, dur), op)
    };
    vec![
        inbound(1, None, "api-gateway", "GET /orders/123", 200, 0, 12_000),
        out(
            2,
            1,
            "api-gateway",
            "GET /orders/123",
            "order-service",
            200,
            500,
            10_500,
        ),
        inbound(
            3,
            Some(linkage.callee_parent(1, 2)),
            "order-service",
            "GET /orders/123",
            200,
            800,
            10_000,
        ),
        out(
            4,
            3,
            "order-service",
            "GET /stock/item-42",
            "inventory-service",
            200,
            1_000,
            3_000,
        ),
        inbound(
            5,
            Some(linkage.callee_parent(3, 4)),
            "inventory-service",
            "GET /stock/item-42",
            200,
            1_200,
            2_500,
        ),
        out(
            6,
            3,
            "order-service",
            "GET /price/item-42",
            "pricing-service",
            500,
            1_500,
            8_000,
        ),
        inbound(
            7,
            Some(linkage.callee_parent(3, 6)),
            "pricing-service",
            "GET /price/item-42",
            500,
            1_700,
            7_600,
        ),
        out(
            8,
            1,
            "api-gateway",
            "POST /validate-token",
            "auth-service",
            200,
            10_900,
            1_000,
        ),
        inbound(
            9,
            Some(linkage.callee_parent(1, 8)),
            "auth-service",
            "POST /validate-token",
            200,
            11_000,
            800,
        ),
    ]
}

pub fn pre_arm(service: &str, at: u64) -> PreArmSignal {
    PreArmSignal {
        service: service.into(),
        received_at_unix_ns: at,
        metadata_json: r#"{"window_id":"w-1","reasons":[{"trigger_type":"error_rate","severity":"high","summary":"5xx rate 12% over 30s"}]}"#.into(),
    }
}
