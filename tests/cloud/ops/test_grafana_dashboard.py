"""The sample Grafana dashboard queries only metrics the store exports."""

from __future__ import annotations

import json
import re

from prometheus_client.parser import text_string_to_metric_families

from cloud.ops.const import METRICS_PATH
from tests.support import processes

DASHBOARD = processes.ROOT / "packaging" / "cloud" / "grafana" / "ethos-store.json"
METRIC_NAME = re.compile(r"\b(ethos_[a-z_]+)\b")
SERIES_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def _exported_series(text: str) -> set[str]:
    """Every series name /metrics can carry, labelled families without samples yet included."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def test_every_metric_the_dashboard_queries_is_exported(client):
    response = await client.get(METRICS_PATH)
    assert response.status == 200
    exported = _exported_series(await response.text())
    queries = _dashboard_queries()
    referenced = {name for expr in queries for name in METRIC_NAME.findall(expr)}
    assert len(referenced) >= 10, referenced
    assert referenced <= exported, referenced - exported
    # Each of the figures has a panel.
    for wanted in (
        "ethos_http_request_duration_seconds_bucket",
        "ethos_checkouts_total",
        "ethos_webhook_deliveries_total",
        "ethos_reconciler_lag_seconds",
        "ethos_mail_queue_depth",
        "ethos_db_pool_connections_in_use",
        "ethos_recommender_model_age_seconds",
    ):
        assert wanted in referenced
