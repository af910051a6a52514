"""`estatewatch gateway` refuses a bad site file with a clear message per problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from estatewatch.cli import main

ROOT = Path(__file__).resolve().parents[2]


def site_with(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "estate.yaml").read_text())
    edit(data)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def overlap(data: dict[str, Any]) -> None:
    points = data["register_maps"]["power-monitor"]["points"]
    points.append({"name": "extra", "table": "input", "address": 3, "type": "uint16"})


def overrun(data: dict[str, Any]) -> None:
    points = data["register_maps"]["elevator-controller"]["points"]
    points.append({"name": "last", "table": "holding", "address": 65535, "type": "float32"})


def same_unit(data: dict[str, Any]) -> None:
    devices = data["devices"]
    devices[4]["connection"]["unit_id"] = 1  # elevator-2 as unit 1, like elevator-1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (overlap, "points 'voltage_l2' and 'extra' overlap in input registers at address 3"),
        (overrun, "overruns the register space"),
        (same_unit, "elevator-2 and elevator-1 are both unit 1 at tcp://127.0.0.1:15031"),
    ],
)
def test_a_bad_site_is_refused_with_its_reason(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    path = site_with(tmp_path, edit)
    status = main(["gateway", "--config", str(path), "--http-port", "0",
                   "--buffer", str(tmp_path / "q.db")])  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err.splitlines()[0]
    assert not (tmp_path / "q.db").exists()  # refused before anything started
