"""The provisioned Grafana dashboards query points that the register maps really have."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from estatewatch.config import SiteConfig

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
MAP_OF_KIND = {
    "water_pump_set": "pump-controller",
    "elevator": "elevator-controller",
    "power_room": "power-monitor",
}


def test_dashboards_query_existing_points(example_site: SiteConfig) -> None:
    files = sorted(DASHBOARDS.glob("*.json"))
    assert {f.stem for f in files} == {"pumps", "elevators", "power-rooms"}
    for path in files:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                match = re.search(r'SELECT mean\("(\w+)"\).* FROM "(\w+)"', target["query"])
                assert match, target["query"]
                field, measurement = match.groups()
                points = example_site.register_maps[MAP_OF_KIND[measurement]].points
                assert field in {p.name for p in points}, f"{path.name}: {field}"


def test_datasource_is_provisioned_for_the_dashboards() -> None:
    provisioning = DASHBOARDS.parent / "provisioning" / "datasources" / "influxdb.yaml"
    source = yaml.safe_load(provisioning.read_text())["datasources"][0]
    for path in DASHBOARDS.glob("*.json"):
        assert source["uid"] in path.read_text()
