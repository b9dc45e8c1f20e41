//! What runs on a gRPC ingest call before tonic reads and decodes its
//! message: the API key in the `authorization` metadata is checked (a call
//! without a known key is refused `UNAUTHENTICATED` without reading its
//! body), the call is admitted under the in-flight limits, and its body is
//! counted against the byte budget frame by frame as it arrives. The
//! tenant and the admission ticket reach the handler in the request's
//! extensions.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::{Request, Response};
use bytes::Bytes;
use causeway_runtime::tenants::Tenant;
use http_body::{Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;

use crate::admission::Ticket;
use crate::auth;
use crate::error::IngestError;
use crate::metrics;
use crate::state::GatewayState;

/// The tenant whose key authenticated a gRPC call.
#[derive(Clone)]
pub(crate) struct Authenticated(pub Arc<Tenant>);

/// A gRPC service behind the key check and the in-flight limits.
#[derive(Clone)]
pub(crate) struct Guarded<S> {
    inner: S,
    state: GatewayState,
    /// The `route` label of the calls it counts.
    route: &'static str,
}

impl<S> Guarded<S> {
    pub(crate) fn new(inner: S, state: GatewayState, route: &'static str) -> Self {
        Self { inner, state, route }
    }

    /// The tenant and a ticket, or why the call is refused before its
    /// body is read: authentication first, so a caller without a key
    /// never takes a slot.
    fn admit(&self, request: &Request<Body>) -> Result<(Arc<Tenant>, Ticket), IngestError> {
        let authorization = request.headers().get("authorization").map(|v| v.as_bytes());
        let tenant = auth::authenticate(&self.state.deps().tenants, authorization)?;
        // Every guarded service takes events.
        self.state.window_has_room()?;
        let ticket = self.state.admit()?;
        Ok((tenant, ticket))
    }
}

impl<S: NamedService> NamedService for Guarded<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<Request<Body>> for Guarded<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let (tenant, ticket) = match self.admit(&request) {
            Ok(admitted) => admitted,
            Err(err) => {
                tracing::debug!(route = self.route, error = %err, "grpc call refused before its body");
                let status = err.grpc_status();
                metrics::record_request(self.route, format!("{:?}", status.code()));
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        };
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(Authenticated(tenant));
        parts.extensions.insert(ticket.clone());
        let body = Body::new(CountedBody {
            inner: body,
            ticket: ticket.clone(),
        });
        // The service that was polled ready serves this call; a clone
        // takes its place for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let route = self.route;
        Box::pin(async move {
            let response = inner.call(Request::from_parts(parts, body)).await;
            // Tonic answered a body refused at the byte budget without
            // calling the handler, which counts every other call.
            if ticket.refused() {
                metrics::record_request(route, format!("{:?}", tonic::Code::ResourceExhausted));
            }
            // Dropping the ticket here (or with this future, when the
            // client goes away) gives back what the call held.
            drop(ticket);
            response
        })
    }
}

/// A request body whose data frames are counted against the byte budget as
/// they arrive; over it, the body fails with `RESOURCE_EXHAUSTED`, which
/// tonic answers as is.
struct CountedBody {
    inner: Body,
    ticket: Ticket,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
            && let Err(err) = self.ticket.reserve(data.len())
        {
            return Poll::Ready(Some(Err(err.grpc_status())));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
