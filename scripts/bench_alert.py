"""Helpers of scripts/bench-alert.sh, against a running standalone.

  bench_alert.py trace URL KEY TRACE_ID N [GHOSTS]  one SDK batch: an N-event chain on
      payments/ledger/inventory failing at its leaf; GHOSTS (comma-separated) are
      dependencies without the SDK that the leaf also calls, unanswered
  bench_alert.py alerts URL KEY TRACE_ID N          N alerts on payments naming the trace, 1.5 s apart
  bench_alert.py show URL KEY                       the newest artifact's ghosts and cuts
"""
import json
import sys
import time
import urllib.request
import uuid


def call(url, key, path, body=None):
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + key, "content-type": "application/json"},
    )
    return json.load(urllib.request.urlopen(request))


def event(trace, parent, service, kind, status, wall_ts_ns, duration_ns, detail=None):
    return {
        "ce_id": str(uuid.uuid4()), "trace_id": trace, "parent_ce_id": parent,
        "service_id": service, "wall_ts_ns": wall_ts_ns, "kind": kind, "status": status,
        "duration_ns": duration_ns, "sdk_version": "0.2.0", "captured_before_alert": None,
        "ring_buffer_seq": None, "event_type": kind.lower(), "event_class": "causal",
        "event_attrs": None, "detail": detail,
    }


def trace(url, key, trace_id, n, ghosts=""):
    now = time.time_ns()
    events, parent = [], None
    for i in range(n):
        status = 503 if i == n - 1 else (500 if i > n - 50 else 200)
        kind = "HTTP_IN" if i % 2 == 0 else "HTTP_OUT"
        service = ["payments", "ledger", "inventory"][i % 3]
        events.append(event(trace_id, parent, service, kind, status, now - (n - i) * 1_000_000, 500_000))
        parent = events[-1]["ce_id"]
    for peer in filter(None, ghosts.split(",")):
        detail = {"downstream": {"service": peer}}
        events.append(event(trace_id, parent, "payments", "HTTP_OUT", 504, now - 500_000, 400_000, detail))
    body = {
        "schema_version": "1", "workspace_id": "ws", "service_id": "payments", "environment": "bench",
        "flushed_at": now, "capture_mode": "FULL", "events": events,
        "sdk_telemetry": {"sdk_version": "0.2.0", "sdk_language": "python", "queue_depth": 0,
                          "dropped_ce_count": 0, "flush_latency_ms": 1},
    }
    print(json.dumps(call(url, key, "/api/v1/ingest/batch", body)))


def alerts(url, key, trace_id, n):
    for i in range(n):
        body = {"service": "payments", "fired_at": time.time_ns(), "title": f"bench {i}", "source": "bench",
                "dedup_key": f"bench-{time.time_ns()}-{i}", "trace_id": trace_id}
        call(url, key, "/api/v1/alerts", body)
        time.sleep(1.5)


def show(url, key):
    rows = call(url, key, "/api/v1/artifacts")["artifacts"]
    art = call(url, key, "/api/v1/artifacts/" + rows[0]["artifact_id"])
    art = art.get("artifact", art)
    print("artifacts", len(rows), "frames", len(art.get("frames", [])),
          "completeness", art.get("completeness", {}).get("label"))
    print("ghosts (peer, calls in trace, calls in scope, errors):",
          [(g["peer"], g["calls_in_trace"], g["window"]["calls"], g["window"]["errors"])
           for g in art.get("ghost_services", [])])
    print("cuts:", [(c["what"], c["kept"]) for c in art.get("cuts", [])])


if __name__ == "__main__":
    command, url, key, *rest = sys.argv[1:]
    if command == "trace":
        trace(url, key, rest[0], int(rest[1]), rest[2] if len(rest) > 2 else "")
    elif command == "alerts":
        alerts(url, key, rest[0], int(rest[1]))
    elif command == "show":
        show(url, key)
    else:
        sys.exit(__doc__)
