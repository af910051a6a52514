"""Photos of findings and repairs: uploaded by the phone that took them, shown to staff.

`PUT /photos/{ref}` with the image as the body (its own content type); `GET /photos/{ref}`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.deps import CurrentUser, RuntimeDep
from api.domain.errors import Forbidden, InvalidInput
from api.domain.permissions import Principal, Role
from api.photos import MAX_PHOTO_BYTES, PhotoStore, check_ref

router = APIRouter(prefix="/photos", tags=["photos"])

# Who takes photos: the guard of a finding, the technician of a repair, customer service
# logging an owner's report (the owner's photos), the office.
_UPLOADERS = frozenset(
    {
        Role.GUARD,
        Role.TECHNICIAN,
        Role.CUSTOMER_SERVICE,
        Role.DUTY_ENGINEER,
        Role.SUPERVISOR,
        Role.ADMIN,
    }
)

PhotoRef = Annotated[str, Path(pattern=r"^ph_[0-9a-f]{16}$", examples=["ph_3f2a9c0d1e4b5a67"])]


class PhotoOut(BaseModel):
    ref: str
    content_type: str
    size: int
    created: bool


def photo_store(runtime: RuntimeDep) -> PhotoStore:
    return PhotoStore(runtime.settings.photo_dir)


Store = Annotated[PhotoStore, Depends(photo_store)]


def _uploader(user: CurrentUser) -> Principal:
    if user.role not in _UPLOADERS:
        raise Forbidden(f"a {user.role} may not upload photos")
    return user


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
        raise InvalidInput(f"a photo may have {MAX_PHOTO_BYTES} bytes at most", field="body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise InvalidInput(f"a photo may have {MAX_PHOTO_BYTES} bytes at most", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


@router.put(
    "/{ref}",
    responses={201: {"model": PhotoOut}, 409: {"description": "other content under this ref"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in (
                "image/jpeg", "image/png", "image/webp", "image/heic")},
        }
    },
)  # fmt: skip
async def upload(
    ref: PhotoRef,
    request: Request,
    response: Response,
    store: Store,
    _: Annotated[Principal, Depends(_uploader)],
) -> PhotoOut:
    """Store a photo under the reference the phone gave it. Idempotent: the same bytes again
    answer 200; other bytes under a stored reference answer 409."""
    data = await _body(request)
    photo, created = await asyncio.to_thread(store.put, check_ref(ref), data)
    response.status_code = 201 if created else 200
    return PhotoOut(
        ref=photo.ref, content_type=photo.content_type, size=photo.size, created=created
    )


@router.get("/{ref}", response_class=FileResponse)
async def download(ref: PhotoRef, store: Store, _: CurrentUser) -> FileResponse:
    photo = await asyncio.to_thread(store.get, ref)
    return FileResponse(
        photo.path,
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )
