"""A file to download: the one way the API answers an export, so every file name is safe in a
header whatever a site, device or date was called."""

from __future__ import annotations

import re

from fastapi.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def csv_download(text: str, name: str) -> Response:
    """`text` as `name`.csv; header values are Latin-1, so the name keeps only what is safe
    in any of them."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_UNSAFE.sub("_", name)}.csv"'},
    )
