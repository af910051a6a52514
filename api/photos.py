"""Photos of findings and repairs, kept as files under `settings.photo_dir`.

A phone names a photo before it has signal: `ph_` and the first 16 hex digits of the
SHA-256 of its bytes (the reference that travels in `photo_refs`). Uploading is therefore
idempotent: the same bytes under the same reference are accepted again; different bytes
under a reference already held are refused, so a photo never changes once stored. A phone
without WebCrypto (plain http on a LAN) names photos at random; those are kept by first
upload.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from api.domain.errors import Conflict, InvalidInput, NotFound

REF = re.compile(r"^ph_[0-9a-f]{16}$")
MAX_PHOTO_BYTES = 10 * 1024 * 1024

# What phones send: JPEG, PNG, WebP and the HEIC of iPhones, told by their first bytes so
# a client cannot store something else under an image type.
_TYPES: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("image/heic", lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"heic", b"heix", b"mif1")),
)
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}


@dataclass(frozen=True)
class Photo:
    ref: str
    content_type: str
    path: Path
    size: int


def sniff(data: bytes) -> str:
    """The image type of `data`, or InvalidInput."""
    for content_type, matches in _TYPES:
        if matches(data):
            return content_type
    raise InvalidInput("not a JPEG, PNG, WebP or HEIC image", field="body")


def check_ref(ref: str) -> str:
    if not REF.fullmatch(ref):
        raise InvalidInput("a photo reference is ph_ and 16 lower-case hex digits", field="ref")
    return ref


def ref_for(data: bytes) -> str:
    return "ph_" + hashlib.sha256(data).hexdigest()[:16]


class PhotoStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, ref: str) -> Path:
        return self.root / ref[3:5]  # 256 folders: no directory grows past what ls can show

    def find(self, ref: str) -> Photo | None:
        folder = self._dir(check_ref(ref))
        for content_type, suffix in _SUFFIX.items():
            path = folder / (ref + suffix)
            if path.exists():
                return Photo(ref, content_type, path, path.stat().st_size)
        return None

    def get(self, ref: str) -> Photo:
        photo = self.find(ref)
        if photo is None:
            raise NotFound(f"no photo {ref}", field="ref")
        return photo

    def put(self, ref: str, data: bytes) -> tuple[Photo, bool]:
        """Store `data` under `ref`; True when it is new. Same bytes again: (photo, False)."""
        check_ref(ref)
        if not data:
            raise InvalidInput("the photo is empty", field="body")
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidInput(f"a photo may have {MAX_PHOTO_BYTES} bytes at most", field="body")
        content_type = sniff(data)
        existing = self.find(ref)
        if existing is not None:
            if existing.path.read_bytes() != data:
                raise Conflict(f"photo {ref} is stored with other content", field="ref")
            return existing, False
        folder = self._dir(ref)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (ref + _SUFFIX[content_type])
        # Written whole, then renamed: a reader never sees half a photo, a crash leaves none.
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return Photo(ref, content_type, path, len(data)), True
