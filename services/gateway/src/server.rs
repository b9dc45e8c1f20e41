//! Serving HTTP and gRPC until shutdown.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;

use crate::config::GatewayConfig;
use crate::grpc::grpc_router;
use crate::http::http_router;
use crate::state::{GatewayDeps, GatewayState};

/// How long shutdown waits for the last usage counts to be written.
const LAST_USAGE_FLUSH: Duration = Duration::from_secs(5);

/// Serves the gateway's HTTP routes on `http` and its gRPC services on
/// `grpc` until `shutdown` is cancelled; then gRPC health turns to not
/// serving, both servers stop accepting connections and finish the requests
/// in flight, and `run` returns. A server that fails cancels the other.
pub async fn run(
    config: GatewayConfig,
    deps: GatewayDeps,
    http: TcpListener,
    grpc: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let errors = config.validate();
    if !errors.is_empty() {
        anyhow::bail!("invalid gateway configuration: {}", errors.join("; "));
    }
    serve(
        GatewayState::new(config, deps),
        http,
        grpc,
        axum::Router::new(),
        shutdown,
    )
    .await
}

/// Like [`run`] with a built state, and `extra` routes served on the same
/// HTTP port (standalone adds the assembler's read API and share links).
pub async fn serve(
    state: GatewayState,
    http: TcpListener,
    grpc: TcpListener,
    extra: axum::Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    state.set_serving(true).await;
    let http_addr = http.local_addr().context("http listener address")?;
    let grpc_addr = grpc.local_addr().context("grpc listener address")?;
    tracing::info!(%http_addr, %grpc_addr, "gateway serving");

    // A failing server must not leave the other running alone.
    let stop = shutdown.child_token();
    let draining = {
        let state = state.clone();
        let stop = stop.clone();
        async move {
            stop.cancelled().await;
            state.set_serving(false).await;
        }
    };
    let http_server = {
        let stop = stop.clone();
        let router = http_router(state.clone()).merge(extra);
        async move {
            let served = axum::serve(http, router)
                .with_graceful_shutdown(stop.clone().cancelled_owned())
                .await;
            stop.cancel();
            served.context("http server")
        }
    };
    let grpc_server = {
        let stop = stop.clone();
        let routes = grpc_router(state.clone());
        async move {
            // Without TCP_NODELAY a response's headers, data and trailers
            // wait on the client's delayed ACK: ~40 ms a call, which capped
            // an OTLP/gRPC exporter with 4 calls in flight at ~48k CE/s.
            let incoming = TcpIncoming::from(grpc).with_nodelay(Some(true));
            let served = tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned())
                .await;
            stop.cancel();
            served.context("grpc server")
        }
    };
    let metering = {
        let (state, stop) = (state.clone(), stop.clone());
        async move {
            let interval = Duration::from_millis(state.config().usage_flush_ms);
            if !interval.is_zero() {
                state
                    .usage()
                    .flush_every(state.deps().topology.as_ref(), interval, stop)
                    .await;
            }
        }
    };
    let (http_result, grpc_result, (), ()) = tokio::join!(http_server, grpc_server, draining, metering);
    // Both servers have answered their last request: nothing adds to the
    // counts any more. Bounded, so an unreachable store cannot hold the
    // shutdown past its deadline (what is not written is lost, and logged).
    let last_flush = state.usage().flush(state.deps().topology.as_ref());
    if tokio::time::timeout(LAST_USAGE_FLUSH, last_flush).await.is_err() {
        tracing::warn!(
            timeout_ms = LAST_USAGE_FLUSH.as_millis() as u64,
            "usage counts not written at shutdown; they are lost"
        );
    }
    tracing::info!("gateway stopped");
    http_result.and(grpc_result)
}
