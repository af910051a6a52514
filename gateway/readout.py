"""From the answers to a device's reads to its values and their quality. Pure.

A read that failed repeats each of its points' last good value as `stale` (or `error` with no
value if there never was one); a point whose registers do not decode is `error`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from estatewatch.codec import DecodeError, decode
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind, Quality, Scalar
from gateway.plan import ReadRequest


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """Why one read brought no registers."""

    kind: DeviceErrorKind
    message: str
    code: int | None = None

    def as_error(self) -> DeviceError:
        return DeviceError(kind=self.kind, code=self.code, message=self.message)


Answer = Sequence[int] | Sequence[bool] | ReadFailure
"""What one read gave: its registers (or bits), or why not."""


@dataclass(slots=True)
class Readout:
    values: dict[str, Scalar] = field(default_factory=dict)
    quality: dict[str, Quality] = field(default_factory=dict)
    errors: list[DeviceError] = field(default_factory=list)
    good_points: int = 0


def read_out(
    requests: Sequence[ReadRequest],
    answers: Sequence[Answer],
    last_good: Mapping[str, Scalar],
) -> Readout:
    """The values of every planned point from its read's answer (one answer per request)."""
    if len(requests) != len(answers):
        raise ValueError(f"{len(requests)} requests but {len(answers)} answers")
    out = Readout()
    for request, answer in zip(requests, answers, strict=True):
        if isinstance(answer, ReadFailure):
            out.errors.append(answer.as_error())
            for point in request.points:
                _stale(out, point.name, last_good)
            continue
        for point in request.points:
            offset = point.address - request.address
            words = [int(w) for w in answer[offset : offset + point.count]]
            try:
                value = decode(words, point)
            except DecodeError as exc:
                out.quality[point.name] = Quality.ERROR
                out.errors.append(DeviceError(kind=DeviceErrorKind.DECODE, message=str(exc)))
                continue
            out.values[point.name] = value
            out.good_points += 1
    return out


def _stale(out: Readout, name: str, last_good: Mapping[str, Scalar]) -> None:
    if name in last_good:
        out.values[name] = last_good[name]
        out.quality[name] = Quality.STALE
    else:
        out.quality[name] = Quality.ERROR
