#!/usr/bin/env python3
"""Writes the committed seed inputs of every fuzz target from the project's
own fixtures and documented examples. Run from anywhere; rewrites seeds/.

  crates/model/fixtures/         SDK batches, OTLP protobuf and JSON (recorded from the real SDKs)
  services/gateway/tests/fixtures/  the providers' documented webhook payloads
  docs/                          the generic alert examples

CeBatch and the alert protobuf are encoded here by hand (proto3 wire format,
proto/causeway/v1/), from the SDK fixtures' events and the alert examples.
"""
import json
import shutil
import struct
import uuid
from pathlib import Path

fuzz = Path(__file__).resolve().parent.parent
repo = fuzz.parent
seeds = fuzz / "seeds"
model_fixtures = repo / "crates/model/fixtures"
webhooks = repo / "services/gateway/tests/fixtures"
KINDS = ["HTTP_IN", "HTTP_OUT", "QUEUE_PUBLISH", "QUEUE_CONSUME", "JOB_START", "JOB_END",
         "WEBHOOK_IN", "WEBHOOK_OUT", "INTERNAL"]


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number, value):
    return varint(number << 3) + varint(value) if value else b""


def field_fixed64(number, value):
    return varint(number << 3 | 1) + struct.pack("<Q", value)


def text(number, value):
    return field_bytes(number, value.encode()) if value else b""


def ce_event(event, envelope):
    """One SDK event as causeway.v1.CausalEvent (the decoder's mapping)."""
    kind = event["kind"] if event["kind"] in KINDS else "INTERNAL"
    parent = event.get("parent_ce_id") or ""
    detail = event.get("detail") or {}
    operation = " ".join(x for x in [detail.get("method"), detail.get("route_key")] if x)
    peer = ((detail.get("downstream") or {}).get("edge_key")) or ""
    return b"".join([
        text(1, "acme"),
        field_bytes(2, uuid.UUID(event["trace_id"]).bytes),
        field_bytes(3, uuid.UUID(event["ce_id"]).bytes),
        field_bytes(4, uuid.UUID(parent).bytes) if parent else b"",
        text(5, event.get("service_id") or envelope["service_id"]),
        field_varint(6, KINDS.index(kind) + 1),
        field_varint(7, event["status"]),
        field_fixed64(8, event["wall_ts_ns"] - event["duration_ns"]),
        field_varint(9, event["duration_ns"]),
        text(10, operation),
        text(11, peer),
        text(12, envelope.get("environment") or ""),
    ])


def alert_proto(alert_id, service, fired_at_ns, title, source, dedup_key="", trace_id=b"", severity=""):
    return b"".join([
        text(1, alert_id), text(2, "acme"), text(3, service), field_fixed64(4, fired_at_ns),
        text(5, title), text(6, source), text(7, dedup_key),
        field_bytes(8, trace_id) if trace_id else b"", text(9, severity),
    ])


def write(target, name, data):
    path = seeds / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    for target in [p for p in seeds.iterdir() if p.is_dir()]:
        shutil.rmtree(target)
    for path in sorted(model_fixtures.glob("sdk_v1_*.json")):
        write("sdk_batch_json", path.stem, path.read_bytes())
        batch = json.loads(path.read_text())
        events = [ce_event(e, batch) for e in batch["events"]]
        write("ce_batch", path.stem.replace("sdk_v1_", "from_sdk_"), b"".join(field_bytes(1, e) for e in events))
        write("ce_batch", path.stem.replace("sdk_v1_", "one_from_sdk_"), field_bytes(1, events[0]))
    for path in sorted(model_fixtures.glob("otlp_*.pb")):
        write("otlp_protobuf", path.stem, path.read_bytes())
    for path in sorted(model_fixtures.glob("otlp_*.json")):
        write("otlp_json", path.stem, path.read_bytes())

    # alert_record: the first byte picks the encoding (even: JSON, odd: protobuf).
    generic = [
        '{"service":"payments","fired_at":"2026-11-21T03:14:07Z","title":"5xx rate","source":"pagerduty"}',
        '{"service":"checkout","fired_at":"2026-12-04T10:00:00Z","title":"checkout 5xx","source":"nagios","dedup_key":"nagios-4711"}',
        '{"service":"payments","fired_at":1795219200000000000,"trace_id":"d7ad45c3-1493-40f1-9965-51657567c98f","severity":"critical"}',
        # Regression: an empty source (the alert_record target's first find).
        '{"service":"x","fired_at":1795219200000000000,"source":""}',
    ]
    for i, body in enumerate(generic):
        write("alert_record", f"json_{i}", b"\x00" + body.encode())
    write("alert_record", "proto_0", b"\x01" + alert_proto(
        "8f0c5c2e-1f5b-4f3e-9a51-0d0c3c1b2a19", "payments", 1795219200000000000, "5xx rate", "pagerduty",
        "pagerduty:Q1", uuid.UUID("d7ad45c3-1493-40f1-9965-51657567c98f").bytes, "high"))
    write("alert_record", "proto_1", b"\x01" + alert_proto(
        "topic-1", "checkout", 1795219200000000000, "checkout 5xx", "nagios"))

    for provider in ["pagerduty", "opsgenie", "alertmanager", "grafana"]:
        for path in sorted((webhooks / provider).glob("*.json")):
            write(f"webhook_{provider}", path.stem, path.read_bytes())
    # Regression: an incident id with a control character (a webhook target's find).
    triggered = json.loads((webhooks / "pagerduty/incident_triggered.json").read_text())
    triggered["event"]["data"]["id"] = "P\n1"
    write("webhook_pagerduty", "incident_triggered_id_newline", json.dumps(triggered))
    form = (webhooks / "slack/slash_command.txt").read_text().strip()
    form = form.replace("response_url=RESPONSE_URL",
                        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0001%2F1%2Fabc")
    write("webhook_slack", "slash_command", form)
    write("webhook_slack", "usage", form.replace("text=checkout%202", "text="))

    # assembly reads its input through `arbitrary`: any bytes are a graph.
    for i, size in enumerate([64, 512, 4096]):
        write("assembly", f"bytes_{i}", bytes((k * 131 + 17 * i) % 251 for k in range(size)))


if __name__ == "__main__":
    main()
