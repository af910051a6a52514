"""Line protocol read back (`ingest.lineparse`): what ingest writes parses to what it meant,
and anything else is refused with the line at fault."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import Scalar, TelemetryBatch
from estatewatch.contracts.topics import parse, telemetry
from ingest.decode import decode_telemetry
from ingest.lineparse import LineProtocolError, parse_lines
from ingest.lineproto import encode_line
from ingest.points import reading_line


@pytest.mark.parametrize(
    ("line", "measurement", "tags", "fields", "ts"),
    [
        ("m x=1.5 5", "m", {}, {"x": 1.5}, 5),
        ("m x=3 5", "m", {}, {"x": 3.0}, 5),  # JSON's 3 from the fast path: a float
        (
            "m x=-7.0,y=1e16,z=.5,w=2.5E-3 0",
            "m",
            {},
            {"x": -7.0, "y": 1e16, "z": 0.5, "w": 0.0025},
            0,
        ),
        ("m on=true,off=false 1", "m", {}, {"on": True, "off": False}, 1),
        ('m s="",t="a \\"b\\" \\\\ c" 1', "m", {}, {"s": "", "t": 'a "b" \\ c'}, 1),
        ('m s="two\nlines, x=1 2" 1', "m", {}, {"s": "two\nlines, x=1 2"}, 1),
        ('m s="a\\nb" 1', "m", {}, {"s": "a\\nb"}, 1),  # other escapes stay as written
        ("my\\ m\\,x,a\\ b=c\\,d\\=e x=1 1", "my m,x", {"a b": "c,d=e"}, {"x": 1.0}, 1),
        ("a\\b,t=c\\d k\\\\x=1 1", "a\\b", {"t": "c\\d"}, {"k\\\\x": 1.0}, 1),
        ('m,t="q" x.quality="stale" 1', "m", {"t": '"q"'}, {"x.quality": "stale"}, 1),
        (
            "水泵,楼=一 压力=0.45 1793664000000",
            "水泵",
            {"楼": "一"},
            {"压力": 0.45},
            1_793_664_000_000,
        ),
    ],
)
def test_lines(
    line: str, measurement: str, tags: dict[str, str], fields: dict[str, Scalar], ts: int
) -> None:
    (point,) = parse_lines(line.encode())
    assert (point.measurement, dict(point.tags), dict(point.fields), point.ts) == (
        measurement, tags, fields, ts,
    )  # fmt: skip
    assert [type(v) for v in point.fields.values()] == [type(v) for v in fields.values()]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("m x=1i 5", "'1i' is not a float"),
        ("m x=1u 5", "not a float"),
        ("m x=True 5", "'True' is not a float"),
        ("m x=t 5", "'t' is not a float"),
        ("m x=nan 5", "'nan'"),
        ("m x=inf 5", "'inf'"),
        ("m x=1e999 5", "not a finite number"),
        ("m x=1_000 5", "not a float"),
        ("m x=0x10 5", "not a float"),
        ("m x=1,x=2 5", "field 'x' is given twice"),
        ("m,a=1,a=2 x=1 5", "tag 'a' is given twice"),
        ("m x=1", "not line protocol"),  # no timestamp
        ("m x=1 1.5", "not line protocol"),
        ("m 5", "not line protocol"),  # no field
        ("m x= 5", "not line protocol"),
        ("m,t x=1 5", "not line protocol"),
        ("m  x=1 5", "not line protocol"),
        ("m x=1 5 ", "not line protocol"),
        ("m x=1 5\r", "not line protocol"),
        ('m x="open 5', "not line protocol"),
        ("# a comment", "not line protocol"),
    ],
)
def test_what_ingest_never_writes_is_refused(text: str, why: str) -> None:
    with pytest.raises(LineProtocolError, match=why):
        parse_lines(text.encode())


def test_errors_name_the_line() -> None:
    with pytest.raises(LineProtocolError, match=r"^line 5: "):  # counted as a text editor does
        parse_lines(b'm x=1 1\n\nm s="a\nb" 2\nm x=1i 3\nm x=1 4')
    with pytest.raises(LineProtocolError, match="not UTF-8"):
        parse_lines(b"m x=1 \xff")
    assert parse_lines(b"\n\nm x=1 1\n\n") == parse_lines(b"m x=1 1")


names = st.text(
    st.characters(exclude_characters="\r\n", codec="utf-8"), min_size=1, max_size=12
).filter(lambda s: not s.endswith("\\"))  # what the encoder refuses: see test_lineproto
values = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.text(st.characters(codec="utf-8"), max_size=20),
)


@given(
    measurement=names,
    tags=st.dictionaries(names, names, max_size=4),
    fields=st.dictionaries(names, values, min_size=1, max_size=6),
    ts=st.integers(min_value=0, max_value=32_503_680_000_000),
)
def test_whatever_the_encoder_writes_reads_back(
    measurement: str, tags: dict[str, str], fields: dict[str, Scalar], ts: int
) -> None:
    line = encode_line(measurement, tags, fields.items(), ts)
    (point,) = parse_lines(line.encode())
    assert point.measurement == measurement
    assert point.tags == tags
    assert point.ts == ts
    assert point.fields == {k: float(v) if type(v) is int else v for k, v in fields.items()}


def test_the_fast_path_and_the_model_encoder_read_back_as_the_batch_said() -> None:
    batch = EXAMPLES["telemetry"]
    assert isinstance(batch, TelemetryBatch)
    topic = telemetry(batch.site, batch.gateway)
    parts = parse(topic)
    assert parts is not None
    fast = parse_lines(decode_telemetry(topic, parts, batch.to_bytes()).lines)
    model = parse_lines(
        "\n".join(
            line
            for i, r in enumerate(batch.readings)
            if (line := reading_line(batch.site, r, i, []))
        )
    )
    assert fast == model
    for point, r in zip(fast, batch.readings, strict=True):
        assert point.measurement == r.kind
        assert point.tags == {"building": r.building, "device": r.device, "room": r.room,
                              "site": batch.site}  # fmt: skip
        assert point.ts == r.ts
        marks = {f"{p}.quality": q.value for p, q in r.quality.items() if q != "good"}
        assert point.fields == {**r.values, **marks}
