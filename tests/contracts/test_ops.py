from __future__ import annotations

import json
import logging

import httpx
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from estatewatch.logs import JsonFormatter
from estatewatch.ops import OpsServer
from estatewatch.testing.services import free_port


async def test_health_and_metrics_endpoints() -> None:
    registry = CollectorRegistry()
    messages = Counter("ew_test_messages", "messages seen", registry=registry)
    state = {"status": "ok", "broker": "connected"}
    port = free_port()
    async with OpsServer(registry, lambda: state, port=port), httpx.AsyncClient() as http:
        base = f"http://127.0.0.1:{port}"
        health = await http.get(f"{base}/health")
        assert health.status_code == 200
        assert health.json() == state
        messages.inc(3)
        metrics = await http.get(f"{base}/metrics")
        families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
        assert families["ew_test_messages"].samples[0].value == 3
        state["status"] = "down"
        assert (await http.get(f"{base}/health")).status_code == 503


def test_json_logs_carry_extra_fields() -> None:
    record = logging.LogRecord(
        "gateway", logging.WARNING, "x.py", 1, "device %s offline", ("p1",), None
    )
    record.device = "p1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "device p1 offline"
    assert entry["level"] == "warning"
    assert entry["device"] == "p1"
