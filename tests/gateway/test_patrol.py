"""Patrol scans end to end: from handhelds over the site broker and by HTTP sync, to
`PatrolScan`s and `PatrolException`s on the central broker, duplicates collapsed durably."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
)
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto, free_port
from simulators.guard import plan_round
from tests.dates import utc
from tests.gateway.conftest import KEYS, running_gateway
from tests.gateway.helpers import listening

pytestmark = pytest.mark.integration

START = utc(21, 1)  # 09:00 in Shanghai: a towers round


def key(handheld: str) -> bytes:
    return bytes.fromhex(KEYS[f"HANDHELD_{handheld.upper().replace('-', '')}_KEY"])


def patrol_only(site: SiteConfig) -> SiteConfig:
    return site.model_copy(update={"devices": []})


async def test_scans_over_the_site_broker(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = patrol_only(example_site)
    scans = plan_round(
        site, "towers-round", "guard-zhang", "hh-01", START, seed=1, key=key("hh-01"),
        unknown_tag=True, replay=True,
    )  # fmt: skip
    async with (
        listening(mosquitto.url, site.site.id) as central,
        running_gateway(site, mosquitto.url, tmp_path),
        MqttClient(MqttSettings(url=mosquitto.url, client_id="test-handheld-1")) as handheld,
    ):
        topic = topics.handheld_scan(site.site.id, "hh-01")
        for made in scans:
            await handheld.publish(topic, made.to_bytes())
        await handheld.publish(topic, b'{"handheld": "hh-01", "guard": "guard-zhang"}')
        await central.wait_for(lambda: len(central.of(PatrolScan)) == 16, what="16 scans")
        await central.wait_for(lambda: len(central.of(PatrolException)) == 2, what="exceptions")
        accepted = [p for p in central.of(PatrolScan) if isinstance(p, PatrolScan)]
        route = next(r for r in site.routes if r.id == "towers-round")
        assert [p.checkpoint for p in accepted] == route.checkpoints
        assert all(p.source is ScanSource.MQTT and p.verified.value == "hmac" for p in accepted)
        kinds = {p.kind for p in central.of(PatrolException) if isinstance(p, PatrolException)}
        assert kinds == {PatrolExceptionKind.UNKNOWN_TAG, PatrolExceptionKind.MALFORMED}
        assert sorted(central.seqs(PatrolScan)) == list(range(16))


async def test_a_handheld_syncs_over_http(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = patrol_only(example_site)
    kept = plan_round(
        site, "equipment-round", "guard-li", "hh-02", START, seed=2, key=key("hh-02"),
        offline=True,
    )  # fmt: skip
    forged = kept[1].model_copy(update={"signature": "0" * 64, "scanned_at": 1})
    body = [s.model_dump(mode="json") for s in kept]
    body += [body[0], {"handheld": "hh-02", "tag_uid": "not hex"}, forged.model_dump(mode="json")]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    buffer = tmp_path / "gw.db"
    async with (
        listening(mosquitto.url, site.site.id) as central,
        running_gateway(site, mosquitto.url, tmp_path, http_port=port, buffer_path=str(buffer)),
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post("/scans", json=body)
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["result"] for r in results] == ["accepted"] * 7 + ["duplicate"] + [
            "exception"
        ] * 2
        assert results[7]["scan_id"] == kept[0].scan_id
        assert results[8]["kind"] == "malformed"
        assert "tag_uid" in results[8]["reason"]
        assert results[9]["kind"] == "bad_signature"
        assert [r["checkpoint"] for r in results[:7]] == next(
            r.checkpoints for r in site.routes if r.id == "equipment-round"
        )
        refused = await http.post("/scans", content=b"{not json")
        assert refused.status_code == 400
        await central.wait_for(lambda: len(central.of(PatrolScan)) == 7, what="7 scans")
        await central.wait_for(lambda: len(central.of(PatrolException)) == 3, what="exceptions")
        scans = [p for p in central.of(PatrolScan) if isinstance(p, PatrolScan)]
        assert all(p.synced_late and p.source is ScanSource.HTTP for p in scans)
        assert [p.scanned_at for p in scans] == [s.scanned_at for s in kept]  # original times
        health = (await http.get("/health")).json()
        assert health["status"] == "ok"
        assert "ew_gateway_scans" in (await http.get("/metrics")).text
    # The memory of seen scans survives a restart: the same sync again is all duplicates.
    async with (
        running_gateway(site, mosquitto.url, tmp_path, http_port=port, buffer_path=str(buffer)),
        httpx.AsyncClient(base_url=url) as http,
    ):
        again = (await http.post("/scans", json=body[:7])).json()["results"]
        assert {r["result"] for r in again} == {"duplicate"}


def test_the_simulators_sign_as_the_contract_says() -> None:
    """A scan signed by the simulated handheld verifies with the hex key the gateway reads."""
    made = HandheldScan(
        handheld="hh-01", guard="guard-zhang", tag_uid="04A1B20001", scanned_at=1, counter=0
    )
    from simulators.guard import sign, verify

    assert verify(sign(made, key("hh-01")), key("hh-01"))
