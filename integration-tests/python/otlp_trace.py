"""One trace across three services, exported by the real OpenTelemetry
Python SDK over OTLP to a causeway gateway.

    otlp_trace.py http GATEWAY_HTTP_URL API_KEY     (OTLP/HTTP protobuf, /v1/traces)
    otlp_trace.py grpc GATEWAY_GRPC_HOST:PORT API_KEY (OTLP gRPC, insecure)

Each service has its own TracerProvider (its own `service.name`) with a
BatchSpanProcessor and the SDK's OTLPSpanExporter, authenticated with
`authorization: Bearer <key>`. Span times are set explicitly (offsets in
ms from a base two seconds ago) so the order of completion is known:

    role           span                                       ms       status
    root           frontend SERVER GET /checkout/{id}         0..100   http 502, ERROR
    orders_call      frontend CLIENT GET -> orders            5..95    http 502, ERROR
    orders_in          orders SERVER GET /orders/{id}         10..90   http 502
    ledger_call          orders CLIENT POST -> ledger.internal 20..50  http 504, ERROR
                         (nobody answers: ledger never reports)
    render               orders INTERNAL render-receipt       55..60   ERROR, no attributes
    payments_call        orders CLIENT POST -> payments       62..80   UNSET, no status attribute
    payments_in            payments SERVER POST /pay/{id}     64..78   UNSET

Prints one JSON object on the last line of stdout: the trace id and every
span (its role in the diagram above, ids in hex, service, name,
start/end ns). Exits non-zero when an
export did not succeed.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Sequence

from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

MS = 1_000_000


class RecordingExporter(SpanExporter):
    """Delegates to the real OTLP exporter and keeps every export's result:
    the batch processor only logs failures."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[tuple[int, SpanExportResult]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append((len(spans), result))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def exporter(protocol: str, endpoint: str, key: str) -> SpanExporter:
    headers = {"authorization": f"Bearer {key}"}
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http
        return Http(endpoint=f"{endpoint}/v1/traces", headers=headers, timeout=20)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
        return Grpc(endpoint=endpoint, insecure=True, headers=headers, timeout=20)
    sys.exit(f"unknown protocol {protocol!r}: use http or grpc")


def main() -> None:
    protocol, endpoint, key = sys.argv[1], sys.argv[2], sys.argv[3]
    providers: dict[str, TracerProvider] = {}
    recorders: dict[str, RecordingExporter] = {}
    for service in ("frontend", "orders", "payments"):
        resource = Resource.create({"service.name": service, "deployment.environment.name": "test"})
        provider = TracerProvider(resource=resource)
        recorders[service] = RecordingExporter(exporter(protocol, endpoint, key))
        provider.add_span_processor(BatchSpanProcessor(recorders[service]))
        providers[service] = provider
    tracer = {name: provider.get_tracer("causeway-integration-tests") for name, provider in providers.items()}

    base = time.time_ns() - 2_000 * MS
    spans: list[dict] = []

    def start(service, name, kind, begin_ms, parent=None, context=None, attributes=None):
        ctx = context if context is not None else (trace.set_span_in_context(parent) if parent else None)
        span = tracer[service].start_span(name, context=ctx, kind=kind, attributes=attributes or {},
                                          start_time=base + begin_ms * MS)
        return span

    def end(span, role, service, end_ms):
        span.end(end_time=base + end_ms * MS)
        context = span.get_span_context()
        parent = span.parent
        spans.append({
            "role": role,
            "service": service,
            "name": span.name,
            "span_id": format(context.span_id, "016x"),
            "parent_span_id": format(parent.span_id, "016x") if parent else None,
            "start_unix_ns": span.start_time,
            "end_unix_ns": span.end_time,
        })

    root = start("frontend", "GET /checkout/{id}", SpanKind.SERVER, 0, attributes={
        "http.request.method": "GET", "http.route": "/checkout/{id}", "http.response.status_code": 502})
    call_orders = start("frontend", "GET", SpanKind.CLIENT, 5, parent=root, attributes={
        "http.request.method": "GET", "peer.service": "orders", "server.address": "orders.internal",
        "http.response.status_code": 502})
    carrier: dict[str, str] = {}
    inject(carrier, context=trace.set_span_in_context(call_orders))
    orders_in = start("orders", "GET /orders/{id}", SpanKind.SERVER, 10, context=extract(carrier), attributes={
        "http.request.method": "GET", "http.route": "/orders/{id}", "http.response.status_code": 502})
    ledger = start("orders", "POST", SpanKind.CLIENT, 20, parent=orders_in, attributes={
        "http.request.method": "POST", "server.address": "ledger.internal", "server.port": 8080,
        "http.response.status_code": 504})
    ledger.set_status(Status(StatusCode.ERROR, "gateway timeout"))
    end(ledger, "ledger_call", "orders", 50)
    render = start("orders", "render-receipt", SpanKind.INTERNAL, 55, parent=orders_in)
    render.set_status(Status(StatusCode.ERROR, "template missing"))
    end(render, "render", "orders", 60)
    call_payments = start("orders", "POST", SpanKind.CLIENT, 62, parent=orders_in, attributes={
        "http.request.method": "POST", "peer.service": "payments"})
    carrier = {}
    inject(carrier, context=trace.set_span_in_context(call_payments))
    payments_in = start("payments", "POST /pay/{id}", SpanKind.SERVER, 64, context=extract(carrier), attributes={
        "http.request.method": "POST", "http.route": "/pay/{id}"})
    end(payments_in, "payments_in", "payments", 78)
    end(call_payments, "payments_call", "orders", 80)
    end(orders_in, "orders_in", "orders", 90)
    call_orders.set_status(Status(StatusCode.ERROR))
    end(call_orders, "orders_call", "frontend", 95)
    root.set_status(Status(StatusCode.ERROR))
    end(root, "root", "frontend", 100)

    for service, provider in providers.items():
        if not provider.force_flush(30_000):
            sys.exit(f"{service}: force_flush timed out")
    exported = 0
    for service, recorder in recorders.items():
        for count, result in recorder.results:
            if result != SpanExportResult.SUCCESS:
                sys.exit(f"{service}: export of {count} spans failed: {result}")
            exported += count
    if exported != len(spans):
        sys.exit(f"exported {exported} spans, recorded {len(spans)}")
    for provider in providers.values():
        provider.shutdown()

    trace_id = format(root.get_span_context().trace_id, "032x")
    print(json.dumps({"protocol": protocol, "trace_id": trace_id, "spans": spans}))


if __name__ == "__main__":
    main()
