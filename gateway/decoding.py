"""Registers of one read to engineering values, point by point. Pure.

Every value is decoded by the shared register codec (`estatewatch.codec.decoder`, proven
equal to `decode`, the function the simulators' encoder is tested against), so the gateway
and a device profile can never disagree about a byte order. A point that does not decode (a
NaN float) gets an error of its own; the other points of the same read are still good.
"""

from __future__ import annotations

from collections.abc import Sequence

from estatewatch.codec import DecodeError, Decoder, Value, decoder
from gateway.plan import ReadRequest


class BlockDecoder:
    """Decodes what one read returns; prepared once per read, used every poll."""

    __slots__ = ("_points", "request")

    def __init__(self, request: ReadRequest) -> None:
        self.request = request
        base = request.address
        self._points: list[tuple[str, int, int, Decoder]] = [
            (p.name, p.address - base, p.address - base + p.count, decoder(p))
            for p in request.points
        ]

    def __call__(self, words: Sequence[int]) -> tuple[dict[str, Value], dict[str, str]]:
        """The values of the read's points from the registers (or bits, as 0/1) it
        returned, and an error text for each point that could not be decoded."""
        values: dict[str, Value] = {}
        errors: dict[str, str] = {}
        request = self.request
        if len(words) < request.count:
            message = f"{request}: the device answered {len(words)} of {request.count} registers"
            return values, {point.name: message for point in request.points}
        for name, start, end, decode in self._points:
            try:
                values[name] = decode(words[start:end])
            except DecodeError as exc:
                errors[name] = str(exc)
        return values, errors


def decode_block(
    request: ReadRequest, words: Sequence[int]
) -> tuple[dict[str, Value], dict[str, str]]:
    """One read's values and per-point errors (the one-off form of `BlockDecoder`)."""
    return BlockDecoder(request)(words)
