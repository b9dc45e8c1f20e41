//! Shared runtime: config loading, telemetry, admin server, shutdown.
