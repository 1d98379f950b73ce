"""``client.files``: upload, list, read and delete files (the Batch API's input and output).

``files.create(file=..., purpose="batch")`` sends a ``multipart/form-data`` body with a
``file`` part and a ``purpose`` field; the API key still travels only in the
Authorization header. ``file`` may be bytes, a path, a binary file object, or a
``(filename, content)`` / ``(filename, content, content_type)`` tuple. The content is
read into memory before the first attempt, so a retried upload sends the same bytes
again (Groq's batch input files are at most 200 MB).

``files.content(id)`` returns a :class:`FileContent`: the file's bytes (it *is* a
``bytes``), with the SDK's ``read()``, ``text()`` and ``write_to_file()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias, TypeVar

import httpx
from pydantic import Field

from groq_magic._files import FileReadError, read_bounded

from ._exceptions import ArgumentError
from ._models import NullableList, _Lenient
from ._resource import (
    AsyncResource,
    Call,
    Parser,
    SyncResource,
    Timeout,
    id_path,
    object_parser,
)

__all__ = [
    "AsyncFiles",
    "FileContent",
    "FileDeleted",
    "FileInput",
    "FileList",
    "FileObject",
    "Files",
    "Multipart",
]

FILES_API = "Files API (needed by the Batch API)"
# Groq's Batch API takes only .jsonl files, so bytes without a name are sent as one.
DEFAULT_FILENAME = "batch.jsonl"

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""A file uploaded by path is read only up to Groq's limit for a batch file (200 MB)."""

T = TypeVar("T")

FileInput: TypeAlias = (
    bytes
    | bytearray
    | memoryview
    | str
    | os.PathLike[str]
    | IO[bytes]
    | tuple[str, Any]
    | tuple[str, Any, str | None]
)


class FileObject(_Lenient):
    """An uploaded file (``object: file``): id, size in ``bytes``, name, purpose, time."""

    id: str
    object: str | None = None
    bytes: int | None = None
    created_at: int | None = None
    filename: str | None = None
    purpose: str | None = None


class FileList(_Lenient):
    """The answer of ``GET /files``."""

    object: str | None = None
    data: NullableList[FileObject] = Field(default_factory=list)


class FileDeleted(_Lenient):
    """The answer of ``DELETE /files/{id}``."""

    id: str | None = None
    object: str | None = None
    deleted: bool | None = None


class FileContent(bytes):
    """A file's content: ``bytes``, plus the SDK's ``read()`` and ``text()``.

    ``text()`` is a method, as on the SDK's binary response, so code written for the
    SDK runs unchanged.
    """

    def read(self) -> bytes:
        """The content as plain bytes."""
        return bytes(self)

    def text(self) -> str:
        """The content decoded as UTF-8 (undecodable bytes become U+FFFD)."""
        return self.decode("utf-8", "replace")

    def write_to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the content to ``path`` (the SDK's name for it)."""
        Path(path).write_bytes(self)


@dataclass(frozen=True)
class Multipart:
    """A ``multipart/form-data`` body: form ``fields`` and ``files`` parts.

    The client's request builder hands both to httpx, which writes the parts and the
    boundary in the Content-Type header.
    """

    fields: Mapping[str, str]
    files: Mapping[str, tuple[str, bytes, str | None]]


def _content_bytes(content: Any, what: str) -> bytes:
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    if isinstance(content, str):
        return content.encode("utf-8")
    read = getattr(content, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, str):  # a file opened in text mode: send what it holds
            return data.encode("utf-8")
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data)
    raise ArgumentError(
        f"{what} must be bytes, a path, a binary file object or a (filename, content) "
        f"tuple, got {type(content).__name__}"
    )


def _read_path(path: Path) -> bytes:
    if not path.is_file():
        raise ArgumentError(
            f"file {str(path)!r} is not an existing file "
            "(to upload text itself, pass it as bytes: text.encode())"
        )
    try:
        return read_bounded(path, MAX_UPLOAD_BYTES, what="file")
    except FileReadError as exc:
        raise ArgumentError(str(exc)) from None


def upload_part(file: FileInput) -> tuple[str, bytes, str | None]:
    """``(filename, content, content_type)`` for the ``file`` argument of ``files.create``."""
    if isinstance(file, tuple):
        if len(file) not in (2, 3) or not isinstance(file[0], str) or not file[0]:
            raise ArgumentError(
                "a file tuple must be (filename, content) or (filename, content, content_type)"
            )
        content_type = file[2] if len(file) == 3 else None
        if content_type is not None and not isinstance(content_type, str):
            raise ArgumentError(f"content_type must be a string, got {content_type!r}")
        return file[0], _content_bytes(file[1], "the file tuple's content"), content_type
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        return path.name, _read_path(path), None
    if isinstance(file, bytes | bytearray | memoryview):
        return DEFAULT_FILENAME, bytes(file), None
    name = getattr(file, "name", None)
    filename = os.path.basename(name) if isinstance(name, str) and name else DEFAULT_FILENAME
    return filename, _content_bytes(file, "file"), None


def _check_purpose(purpose: Any) -> str:
    if not isinstance(purpose, str) or not purpose.strip():
        raise ArgumentError(f"purpose must be a non-empty string such as 'batch', got {purpose!r}")
    return purpose


_parse_file = object_parser(FileObject, "the file upload or lookup")
_parse_file_list = object_parser(FileList, "the file list")
_parse_deleted = object_parser(FileDeleted, "the file deletion")


def _parse_content(response: httpx.Response, raw: bytes) -> FileContent:
    return FileContent(raw)


def _create_call(
    file: FileInput,
    purpose: str,
    extra_headers: Mapping[str, str] | None,
    timeout: Timeout,
) -> Call[FileObject]:
    body = Multipart(fields={"purpose": _check_purpose(purpose)}, files={"file": upload_part(file)})
    return Call("POST", "/files", _parse_file, FILES_API, False, body, extra_headers, timeout)


def _call(
    method: str,
    path: str,
    parse: Parser[T],
    extra_headers: Mapping[str, str] | None,
    timeout: Timeout,
    *,
    names_id: bool = True,
) -> Call[T]:
    return Call(method, path, parse, FILES_API, names_id, None, extra_headers, timeout)


def _content_headers(extra_headers: Mapping[str, str] | None) -> dict[str, str]:
    # As the SDK asks: the content is the file's own bytes, not a JSON document.
    return {"Accept": "application/octet-stream", **(extra_headers or {})}


def _file_path(file_id: Any) -> str:
    return id_path("/files", file_id, "file_id")


class Files(SyncResource):
    """``client.files``: ``create``, ``content``, ``info``, ``list`` and ``delete``."""

    def create(
        self,
        *,
        file: FileInput,
        purpose: str = "batch",
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileObject:
        """Upload a file (``POST /files``, multipart); Groq's batch input is JSONL."""
        return self._run(_create_call(file, purpose, extra_headers, timeout))

    def content(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileContent:
        """A file's bytes (``GET /files/{id}/content``)."""
        path = _file_path(file_id) + "/content"
        return self._run(
            _call("GET", path, _parse_content, _content_headers(extra_headers), timeout)
        )

    def info(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileObject:
        """A file's details (``GET /files/{id}``)."""
        return self._run(_call("GET", _file_path(file_id), _parse_file, extra_headers, timeout))

    def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileList:
        """The files uploaded so far (``GET /files``)."""
        return self._run(
            _call("GET", "/files", _parse_file_list, extra_headers, timeout, names_id=False)
        )

    def delete(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileDeleted:
        """Delete a file (``DELETE /files/{id}``)."""
        call = _call("DELETE", _file_path(file_id), _parse_deleted, extra_headers, timeout)
        return self._run(call)


class AsyncFiles(AsyncResource):
    """``async_client.files``: the same methods as :class:`Files`, awaited."""

    async def create(
        self,
        *,
        file: FileInput,
        purpose: str = "batch",
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileObject:
        """Upload a file (``POST /files``, multipart); Groq's batch input is JSONL."""
        return await self._run(_create_call(file, purpose, extra_headers, timeout))

    async def content(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileContent:
        """A file's bytes (``GET /files/{id}/content``)."""
        path = _file_path(file_id) + "/content"
        call = _call("GET", path, _parse_content, _content_headers(extra_headers), timeout)
        return await self._run(call)

    async def info(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileObject:
        """A file's details (``GET /files/{id}``)."""
        return await self._run(
            _call("GET", _file_path(file_id), _parse_file, extra_headers, timeout)
        )

    async def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileList:
        """The files uploaded so far (``GET /files``)."""
        return await self._run(
            _call("GET", "/files", _parse_file_list, extra_headers, timeout, names_id=False)
        )

    async def delete(
        self,
        file_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> FileDeleted:
        """Delete a file (``DELETE /files/{id}``)."""
        call = _call("DELETE", _file_path(file_id), _parse_deleted, extra_headers, timeout)
        return await self._run(call)
