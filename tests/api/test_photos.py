"""Photos: uploaded under the phone's reference, idempotent, typed by content, kept whole."""

from __future__ import annotations

import hashlib

import pytest

from api.domain.errors import Conflict, InvalidInput
from api.photos import MAX_PHOTO_BYTES, PhotoStore, ref_for, sniff
from tests.api.helpers import Api

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _put(api: Api, ref: str, data: bytes, user: str | None = "tom") -> object:
    return api.client.put(
        f"/photos/{ref}",
        content=data,
        headers={**api.headers(user), "Content-Type": "image/jpeg"},
    )


def test_the_reference_is_the_sha256_prefix_the_phone_computes() -> None:
    assert ref_for(JPEG) == "ph_" + hashlib.sha256(JPEG).hexdigest()[:16]


def test_a_technician_uploads_and_staff_see_it(api: Api) -> None:
    ref = ref_for(JPEG)
    first = _put(api, ref, JPEG)
    assert first.status_code == 201, first.text  # type: ignore[attr-defined]
    assert first.json() == {  # type: ignore[attr-defined]
        "ref": ref, "content_type": "image/jpeg", "size": len(JPEG), "created": True
    }  # fmt: skip
    again = _put(api, ref, JPEG)
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert again.json()["created"] is False  # type: ignore[attr-defined]

    shown = api.get(f"/photos/{ref}", user="dina")
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg"
    assert shown.content == JPEG


def test_other_bytes_under_a_stored_reference_are_refused(api: Api) -> None:
    ref = ref_for(JPEG)
    assert _put(api, ref, JPEG).status_code == 201  # type: ignore[attr-defined]
    clash = _put(api, ref, PNG)
    assert clash.status_code == 409  # type: ignore[attr-defined]
    assert clash.json()["field"] == "ref"  # type: ignore[attr-defined]
    assert api.get(f"/photos/{ref}", user="dina").content == JPEG


def test_what_is_not_an_image_is_refused_with_its_field(api: Api) -> None:
    response = _put(api, "ph_0123456789abcdef", b"<script>alert(1)</script>")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json()["field"] == "body"  # type: ignore[attr-defined]
    assert api.get("/photos/ph_0123456789abcdef", user="dina").status_code == 404


def test_a_bad_reference_is_refused(api: Api) -> None:
    assert _put(api, "../../etc/passwd", JPEG).status_code in (404, 422)  # type: ignore[attr-defined]
    assert _put(api, "ph_XYZ", JPEG).status_code == 422  # type: ignore[attr-defined]


def test_who_may_upload_and_see(api: Api) -> None:
    ref = ref_for(JPEG)
    assert _put(api, ref, JPEG, user=None).status_code == 401  # type: ignore[attr-defined]
    # Customer service uploads an owner's photos (issue #25); the same bytes again answer 200.
    assert _put(api, ref, JPEG, user="cara").status_code == 201  # type: ignore[attr-defined]
    assert _put(api, ref, JPEG, user="gary").status_code == 200  # type: ignore[attr-defined]
    assert api.get(f"/photos/{ref}", user=None).status_code == 401


def test_store_limits_and_types(tmp_path: object) -> None:
    from pathlib import Path

    store = PhotoStore(Path(str(tmp_path)))
    with pytest.raises(InvalidInput):
        store.put("ph_0123456789abcdef", b"\xff\xd8\xff" + b"\x00" * MAX_PHOTO_BYTES)
    with pytest.raises(InvalidInput):
        store.put("ph_0123456789abcdef", b"")
    photo, created = store.put("ph_0123456789abcdef", PNG)
    assert created
    assert photo.content_type == "image/png"
    assert photo.path.read_bytes() == PNG
    with pytest.raises(Conflict):
        store.put("ph_0123456789abcdef", JPEG)
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00") == "image/heic"
    assert not any(p.name.startswith(".upload-") for p in Path(str(tmp_path)).rglob("*"))
