"""A three-service call chain instrumented with the real `incidentary` SDK,
flushing to a causeway gateway.

    sdk_chain.py GATEWAY_URL API_KEY

Three Flask apps run in this process on loopback, each with its own SDK
client, and call each other over real HTTP:

    frontend  GET /checkout/<order>   (Flask auto-instrumented by its client;
       |                               calls orders with httpx, patched by
       |                               the SDK: the callee's HTTP_IN is a
       v                               child of frontend's HTTP_IN)
    orders    GET /orders/<order>     (explicit IncidentaryWSGIMiddleware;
       |                               calls payments with the SDK helper
       v                               `instrumented_urlopen`: the callee's
    payments  POST /pay/<order>        HTTP_IN is a child of the HTTP_OUT)

Two requests go through the chain: order `ok` (every step 200) and order
`declined` (payments answers 503, orders 502, frontend 502). Each client
then flushes with `flush_to_backend()` (the 0.2.0 SDK has no timer flush).

Prints one JSON object on the last line of stdout: the trace id of each
request and every event the SDK sent, as sent. Exits non-zero when a
request or an upload fails.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request

import flask
from werkzeug.serving import make_server

from incidentary import IncidentaryClient, IncidentaryWSGIMiddleware
from incidentary.integrations.flask import FlaskIntegration
from incidentary.integrations.httpx_integration import HttpxIntegration
from incidentary.middleware import instrumented_urlopen

UPLOAD_DEADLINE_S = 60


class UploadWatch:
    """Observes one client's uploads: the exact bodies it sent and whether
    the gateway answered 2xx. The SDK uploads on a daemon thread and never
    reports success, so its transport is observed from the inside."""

    def __init__(self, client: IncidentaryClient, errors: list[Exception]) -> None:
        self.bodies: list[bytes] = []
        self.outcomes: list[str] = []
        # What the SDK passed to its `on_error` callback.
        self.errors = errors
        self._lock = threading.Lock()
        self._current = threading.local()
        transport = client._transport  # noqa: SLF001 - observed, not changed
        original_upload = transport._do_upload  # noqa: SLF001
        original_success = transport._on_success  # noqa: SLF001

        def on_success() -> None:
            self._current.ok = True
            original_success()

        def do_upload(body: bytes, incident_id: str | None) -> None:
            self._current.ok = False
            original_upload(body, incident_id)
            with self._lock:
                self.bodies.append(body)
                self.outcomes.append("ok" if self._current.ok else "failed")

        transport._on_success = on_success  # noqa: SLF001
        transport._do_upload = do_upload  # noqa: SLF001

    def wait(self, uploads: int) -> None:
        deadline = time.time() + UPLOAD_DEADLINE_S
        while time.time() < deadline:
            with self._lock:
                if len(self.outcomes) >= uploads:
                    break
            time.sleep(0.02)
        with self._lock:
            if len(self.outcomes) < uploads or any(o != "ok" for o in self.outcomes):
                sys.exit(f"upload failed: outcomes {self.outcomes}, errors {self.errors}")


def serve(app: flask.Flask) -> str:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def new_client(name: str, gateway: str, key: str, watches: dict, **kwargs) -> IncidentaryClient:
    errors: list[Exception] = []
    client = IncidentaryClient(
        api_key=key, service_name=name, base_url=gateway, environment="test",
        workspace_id="ws_it", on_error=errors.append, **kwargs,
    )
    watches[name] = UploadWatch(client, errors)
    return client


def main() -> None:
    gateway, key = sys.argv[1], sys.argv[2]
    watches: dict[str, UploadWatch] = {}

    # payments and orders: explicit middleware, no auto-instrumentation.
    payments_client = new_client("payments", gateway, key, watches, auto_instrument=False)
    payments = flask.Flask("payments")

    @payments.route("/pay/<order>", methods=["POST"])
    def pay(order: str):
        if order == "declined":
            return {"error": "card declined"}, 503
        return {"paid": order}

    payments.wsgi_app = IncidentaryWSGIMiddleware(payments.wsgi_app, payments_client)
    payments_url = serve(payments)

    orders_client = new_client("orders", gateway, key, watches, auto_instrument=False)
    orders = flask.Flask("orders")

    @orders.route("/orders/<order>")
    def order(order: str):
        ctx = {"trace_id": flask.request.environ["incidentary.trace_id"],
               "ce_id": flask.request.environ["incidentary.ce_id"]}
        try:
            instrumented_urlopen(orders_client, ctx, f"{payments_url}/pay/{order}",
                                 method="POST", data=b"{}", timeout=10).read()
        except urllib.error.HTTPError as err:
            return {"error": f"payments answered {err.code}"}, 502
        return {"order": order}

    orders.wsgi_app = IncidentaryWSGIMiddleware(orders.wsgi_app, orders_client)
    orders_url = serve(orders)

    # frontend: the SDK's Flask and httpx integrations, created after the
    # other apps so the Flask patch wraps only frontend's app.
    frontend_client = new_client("frontend", gateway, key, watches,
                                 integrations=[FlaskIntegration(), HttpxIntegration()])
    import httpx

    frontend = flask.Flask("frontend")

    @frontend.route("/checkout/<order>")
    def checkout(order: str):
        with httpx.Client(timeout=10) as client:
            answer = client.get(f"{orders_url}/orders/{order}")
        return {"order": order, "orders_status": answer.status_code}, answer.status_code
    frontend_url = serve(frontend)

    traces: dict[str, str] = {}
    statuses: dict[str, int] = {}
    for name in ("ok", "declined"):
        try:
            response = urllib.request.urlopen(f"{frontend_url}/checkout/{name}", timeout=20)
            statuses[name] = response.status
        except urllib.error.HTTPError as err:
            statuses[name] = err.code
    if statuses != {"ok": 200, "declined": 502}:
        sys.exit(f"unexpected chain answers: {statuses}")

    for name, client in (("frontend", frontend_client), ("orders", orders_client),
                         ("payments", payments_client)):
        client.flush_to_backend()
        watches[name].wait(1)

    events = []
    for name in ("frontend", "orders", "payments"):
        for body in watches[name].bodies:
            events.extend(json.loads(body)["events"])
    roots = [e for e in events if e["service_id"] == "frontend" and e["kind"] == "HTTP_IN"]
    for root in roots:
        traces["ok" if root["status"] == 200 else "declined"] = root["trace_id"]
    if len(roots) != 2 or set(traces) != {"ok", "declined"}:
        sys.exit(f"expected one frontend HTTP_IN per request, got {roots}")

    print(json.dumps({"traces": traces, "statuses": statuses, "events": events}))


if __name__ == "__main__":
    main()
