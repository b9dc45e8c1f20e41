//! Explicit input limits. Every one is named in the error that enforces it
//! and listed in docs/wire-formats.md.

/// Largest request body any ingest path accepts (after decompression).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most events in one batch (SDK batch, OTLP export, gRPC `CeBatch`).
pub const MAX_EVENTS_PER_BATCH: usize = 10_000;
/// Longest service name, in bytes.
pub const MAX_SERVICE_LEN: usize = 128;
/// Longest operation (e.g. `GET /orders/{id}`), in bytes.
pub const MAX_OPERATION_LEN: usize = 512;
/// Longest peer (host or service name), in bytes.
pub const MAX_PEER_LEN: usize = 256;
/// Longest environment name, in bytes.
pub const MAX_ENVIRONMENT_LEN: usize = 64;
/// Longest tenant id, in bytes.
pub const MAX_TENANT_LEN: usize = 64;
/// Largest status value (HTTP-equivalent statuses are 0..=999).
pub const MAX_STATUS: u16 = 999;
/// Longest single operation: one day. Longer durations are clock errors.
pub const MAX_DURATION_NS: u64 = 24 * 3600 * 1_000_000_000;
/// How far in the future (relative to the receiver's clock) a timestamp may be.
pub const MAX_FUTURE_SKEW_NS: u64 = 10 * 60 * 1_000_000_000;
/// Earliest accepted timestamp: 2020-01-01T00:00:00Z. Earlier means a unit error
/// (seconds or milliseconds sent as nanoseconds) or a zero clock.
pub const MIN_TIMESTAMP_UNIX_NS: u64 = 1_577_836_800 * 1_000_000_000;
/// Longest alert title, in bytes.
pub const MAX_ALERT_TITLE_LEN: usize = 1024;
/// Longest alert source, dedup key or severity, in bytes.
pub const MAX_ALERT_FIELD_LEN: usize = 256;
/// Longest free-text envelope field of an SDK batch (`workspace_id`,
/// `capture_mode`, `sdk_telemetry.sdk_version`, …), in bytes.
pub const MAX_ENVELOPE_FIELD_LEN: usize = 256;
