"""Site configuration: the example loads, and every kind of mistake is named by file, line
and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from estatewatch.cli import main
from estatewatch.config import DeviceKind, RegisterMap, SiteConfig, load_site, parse_site
from estatewatch.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"


def test_example_estate_is_what_the_issue_asks_for(example_site: SiteConfig) -> None:
    kinds = [d.kind for d in example_site.devices]
    pump_sets = [d for d in example_site.devices if d.kind is DeviceKind.WATER_PUMP_SET]
    assert len(pump_sets) == 2
    assert kinds.count(DeviceKind.FIRE_PUMP) == 1
    assert kinds.count(DeviceKind.ELEVATOR) == 8
    assert kinds.count(DeviceKind.POWER_ROOM) == 2
    sensor_types = {d.sensor_type for d in example_site.devices if d.kind is DeviceKind.SENSOR}  # type: ignore[union-attr]
    assert {"leak", "smoke", "temperature"} <= set(sensor_types)
    assert 28 <= len(example_site.checkpoints) <= 32
    assert len(example_site.routes) == 3
    assert example_site.sla.urgent_response.total_seconds() == 15 * 60
    assert example_site.checkpoint_by_tag("04a1b20001") is not None


def _mutate(old: str, new: str) -> str:
    text = EXAMPLE.read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def _issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_site(text, file="estate.yaml")
    return [str(i) for i in info.value.issues]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            "port: 15022, unit_id: 1",
            "port: 99999, unit_id: 1",
            "devices.1.connection.port",
            "less than or equal to 65535",
        ),
        (
            "address: 5, type: uint16, scale: 0.01",
            "address: 5, type: unit16, scale: 0.01",
            "register_maps.pump-controller.points.3.type",
            "Input should be",
        ),
        (
            "    setpoint_mpa: 0.6\n",
            "    setpoint_mpa: 0.6\n    colour: red\n",
            "devices.2.colour",
            "unknown field",
        ),
        ("poll_interval: 2s", "poll_interval: soon", "devices.2.poll_interval", "not a duration"),
        ("kind: fire_pump", "kind: fire_hose", "devices.2.kind", "'fire_hose' is not one of"),
        (
            "{id: t1-lobby, tag_uid: 04A1B20001,",
            "{id: t1-lobby, tag_uid: 04A1B2000G,",
            "checkpoints.0.tag_uid",
            "pattern",
        ),
    ],
)
def test_schema_errors_name_file_line_and_field(
    old: str, new: str, path: str, message: str
) -> None:
    text = _mutate(old, new)
    issues = _issues(text)
    assert any(f" {path}:" in i and message in i for i in issues), issues
    line = _line_of(text, new.strip().splitlines()[-1])
    assert any(i.startswith(f"estate.yaml:{line}:") for i in issues if f" {path}:" in i), issues


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            "    room: power-room-2\n    connection: {protocol: modbus_tcp",
            "    room: power-room-9\n    connection: {protocol: modbus_tcp",
            "devices.12.room",
            "has no room 'power-room-9'",
        ),
        (
            "register_map: pump-controller\n    poll_interval: 2s",
            "register_map: pump-ctrl\n    poll_interval: 2s",
            "devices.2.register_map",
            "unknown register map",
        ),
        (
            "checkpoints: [main-gate, north-gate,",
            "checkpoints: [main-gate, nowhere-gate,",
            "routes.2.checkpoints.1",
            "unknown checkpoint",
        ),
    ],
)
def test_reference_errors_name_their_field(old: str, new: str, path: str, message: str) -> None:
    issues = _issues(_mutate(old, new))
    assert any(f" {path}:" in i and message in i for i in issues), issues


def test_an_ntag424_checkpoint_needs_a_seven_byte_uid() -> None:
    old = "name: {zh: 一号楼大堂门, en: Tower 1 lobby door}, building: t1,"
    issues = _issues(_mutate(old, "sun_key_ref: SUN_KEY, " + old))
    assert any(" checkpoints.0:" in i and "14 hex digits" in i for i in issues), issues


def test_a_checkpoint_on_no_route_is_a_blind_spot() -> None:
    issues = _issues(_mutate("playground, bin-station,", "bin-station,"))
    assert any("'playground' is on no route" in i for i in issues), issues


def test_overlapping_and_overrunning_register_maps_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap in input registers at address 1"):
        RegisterMap.model_validate(
            {
                "points": [
                    {"name": "a", "table": "input", "address": 0, "type": "float32"},
                    {"name": "b", "table": "input", "address": 1, "type": "uint16"},
                ]
            }
        )
    with pytest.raises(ValueError, match="overruns the register space"):
        RegisterMap.model_validate(
            {"points": [{"name": "a", "table": "holding", "address": 65534, "type": "float64"}]}
        )
    # Bits of one status register may share its address.
    RegisterMap.model_validate(
        {
            "points": [
                {"name": "a", "table": "input", "address": 3, "type": "bool", "bit": 0},
                {"name": "b", "table": "input", "address": 3, "type": "bool", "bit": 1},
            ]
        }
    )


def test_invalid_yaml_is_located() -> None:
    issues = _issues("site:\n  id: [unclosed\n")
    assert issues[0].startswith("estate.yaml:")
    assert "not valid YAML" in issues[0]


def test_config_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLE)]) == 0
    assert "27 devices, 30 checkpoints, 3 routes" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(_mutate("port: 15022, unit_id: 1", "port: 0, unit_id: 1"))
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert "devices.1.connection.port" in err


def test_load_site_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_site(tmp_path / "absent.yaml")


def _map(**over: object) -> dict[str, object]:
    point = {"name": "flow", "table": "holding", "address": 40101, "type": "float32", **over}
    return {"points": [point]}


def test_modicon_addresses_are_understood_or_refused_with_the_address_to_write() -> None:

    with pytest.raises(ValueError, match=r"write address: 100 .*addressing: modicon"):
        RegisterMap.model_validate(_map())
    modicon = RegisterMap.model_validate({**_map(), "addressing": "modicon"})
    assert modicon.points[0].address == 100
    six = RegisterMap.model_validate({**_map(address=300001, table="input"),
                                      "addressing": "modicon"})  # fmt: skip
    assert six.points[0].address == 0
    with pytest.raises(ValueError, match="Modicon holding reference but table says input"):
        RegisterMap.model_validate({**_map(table="input"), "addressing": "modicon"})
    untabled = {"name": "on", "address": 10003, "type": "bool"}
    coil = RegisterMap.model_validate({"points": [untabled], "addressing": "modicon"}).points[0]
    assert (coil.table.value, coil.address) == ("discrete_input", 2)
    one = RegisterMap.model_validate({**_map(address=101), "addressing": "one_based"})
    assert one.points[0].address == 100
    wire = RegisterMap.model_validate({**_map(), "addressing": "wire"})  # the device's own
    assert wire.points[0].address == 40101


@pytest.mark.parametrize(
    ("written", "byte_order", "word_order"),
    [
        ("ABCD", "big", "big"),
        ("CDAB", "big", "little"),
        ("badc", "little", "big"),
        ("DCBA", "little", "little"),
    ],
)
def test_byte_layout_names_are_orders(written: str, byte_order: str, word_order: str) -> None:

    both = RegisterMap.model_validate(
        _map(address=100, byte_order=written, word_order=written)
    ).points[0]
    assert (both.byte_order.value, both.word_order.value) == (byte_order, word_order)


def test_order_errors_name_the_point_and_hint_the_layouts() -> None:
    text = (EXAMPLE.read_text()
            .replace("address: 5, type: uint16, scale: 0.01",
                     "address: 5, type: uint16, word_order: little, scale: 0.01"))  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_site(text, file="estate.yaml")
    issue = str(info.value.issues[0])
    assert "points.3" in issue
    assert "point 'vfd_frequency'" in issue
    assert "word_order applies to values of two or more registers" in issue
    bad = EXAMPLE.read_text().replace("word_order: little}", "word_order: swapped}", 1)
    with pytest.raises(ConfigError) as info:
        parse_site(bad, file="estate.yaml")
    assert "CDAB is the common word-swapped float" in str(info.value)
