"""Images in a user message, from wherever a notebook user has them.

A source becomes one Groq content part ``{"type": "image_url", "image_url": {"url": ...}}``:

- a file path (``str`` or ``Path``): sent as a base64 ``data:`` URL;
- an ``http(s)`` URL (see below), or a ``data:image/...`` URL as it is;
- the name of a notebook variable (looked up in ``namespace``), or the object itself:
  a PIL image, a matplotlib figure (anything with ``savefig``: saved as PNG),
  raw PNG/JPEG/GIF/WEBP bytes, or anything with ``_repr_jpeg_``/``_repr_png_``
  (``IPython.display.Image``, many plotting objects). An ``IPython.display.Image``
  made from a URL without ``embed`` is taken as that URL.

**URLs.** Groq fetches an image URL itself (up to 20 MB), so a public URL is sent
as it is: nothing is downloaded and re-uploaded, the 4 MB base64 budget stays
free for local images, and history keeps a short URL instead of megabytes. But a
URL Groq cannot use must fail here, in one line, before anything is sent, so we
first ask the server with a bounded ``HEAD`` (a ``GET`` whose body is never read
when ``HEAD`` is refused), ``URL_TIMEOUT`` seconds at most: it must answer 2xx
with an ``image/*`` content type. We download the image and send it inline
instead when Groq could not fetch it or would refuse it: the host is loopback,
private or local (``127.0.0.1``, ``10.x``, ``localhost``, ``nas.local``, a
dotless name: Groq's servers cannot reach them), the type is not PNG/JPEG/GIF/WEBP
(a BMP or TIFF is converted), or it is over 20 MB (it is downscaled).
``url_mode="link"`` always sends the URL (after the check), ``"inline"`` always
downloads. A linked image's pixels are not known, so the 33-megapixel check is
Groq's.

**Limits** (:class:`ImageLimits`, Groq's documented numbers): about 33 megapixels
per image, 4 MB for a request carrying base64 images (the data URLs' own length,
so base64's 4/3 growth counts), 5 images per request, 20 MB by URL. Several
inline images share the 4 MB: the smaller ones keep their size and the rest is
split evenly. An image within the limits in an accepted format is sent byte for
byte. One that would pass a limit is downscaled and/or re-encoded, and
:attr:`PreparedImage.note` says so in one line:

- not a JPEG, and a PNG of it fits (graphics, plots, screenshots): PNG, lossless,
  only shrunk to the pixel limit;
- otherwise (photos): JPEG at quality 85, 75, 60 then 45, shrinking by the
  measured excess between rounds; the first size guess comes from the source's
  bytes, and JPEG sources are decoded already reduced (``draft``), which is what
  keeps a 12-megapixel photo well under half a second. Transparency is flattened
  onto white, the EXIF orientation is applied (re-encoding drops EXIF), an
  animated GIF keeps its first frame.
- an image that still does not fit at a longer side of ``MIN_SIDE`` pixels is
  refused.

An image whose values are not 0..255 (PIL modes ``F``, ``I``, ``I;16`` in any byte
order, a 16-bit PNG file too) is sent as 8-bit grey with a note: a float image in
0..1 scaled (1.0 is white), any other stretched from its min..max (see ``_levels``).
Pillow's own conversion would clip it: a 0..1 float image all black.

Every bad input is one :class:`ImageError` line naming the source: a path that
does not exist, a file Pillow cannot identify, an unreachable URL, a URL that is
not an image, a variable that is not an image, an image too large to fit, more
images than a request takes. Pillow and httpx are imported on first use only.

A sweep prepares every row (and, past a few dozen rows, each row again when its run
starts): inside :func:`urls_read_once` an image URL is checked or downloaded once for
all of them, not once per row.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from groq_magic._files import FileReadError, read_bounded
from groq_magic.chat.errors import ChatError

if TYPE_CHECKING:
    import httpx
    from PIL.Image import Image as PILImage
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_LIMITS",
    "MIN_SIDE",
    "URL_TIMEOUT",
    "ImageError",
    "ImageLimitError",
    "ImageLimits",
    "ImageOptions",
    "LoadedImage",
    "PreparedImage",
    "UrlMode",
    "as_image",
    "check_count",
    "encode_images",
    "load_image",
    "looks_like_image",
    "prepare_image",
    "prepare_images",
    "urls_read_once",
]

UrlMode = Literal["auto", "link", "inline"]
"""How an http(s) URL is sent: ``auto`` (see the module docstring), ``link``, ``inline``."""

URL_TIMEOUT = 5.0
"""Seconds to wait for an image server (connect, and each read)."""

_URLS_READ: ContextVar[dict[tuple[Any, ...], LoadedImage] | None] = ContextVar(
    "_URLS_READ", default=None
)


@contextmanager
def urls_read_once(read: dict[tuple[Any, ...], LoadedImage]) -> Iterator[None]:
    """Within the block, an image URL already in ``read`` is not fetched again.

    ``read`` is filled as URLs are checked or downloaded; a sweep passes the same
    dict to every row's preparation (in any thread), so its rows share one fetch.
    """
    token = _URLS_READ.set(read)
    try:
        yield
    finally:
        _URLS_READ.reset(token)


MIN_SIDE = 64
"""An image is never shrunk below this longer side: smaller is useless to a model."""

DOWNLOAD_CAP = 64_000_000
"""The most bytes downloaded for one image URL (the largest a user plausibly means)."""

MAX_IMAGE_FILE_BYTES = DOWNLOAD_CAP
"""An image file is read only when it is a regular file of at most this size (as a download)."""

MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}

_JPEG_QUALITIES = (85, 75, 60, 45)
# A size guess is rough, so a result down to this fraction of it is as good, and
# often far cheaper: JPEG decoders and Image.reduce work in whole factors.
_SLACK = 0.85
# The JSON around the data URLs (keys, quotes, the model name, options): kept free.
_REQUEST_FRAMING = 1_000
_ORIENTATION = 0x0112  # the EXIF tag
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True)
class ImageLimits:
    """Groq's documented limits for images; a caller may pass smaller ones."""

    max_pixels: int = 33_177_600  # "about 33 megapixels": 7680x4320
    max_request_bytes: int = 4_000_000
    max_images: int = 5
    max_url_bytes: int = 20_000_000

    def minus(self, images: int, inline_bytes: int) -> ImageLimits:
        """What is left for new images when a request already carries some (history)."""
        return replace(
            self,
            max_request_bytes=self.max_request_bytes - inline_bytes,
            max_images=max(self.max_images - images, 0),
        )


DEFAULT_LIMITS = ImageLimits()
"""Groq's limits as documented."""


class ImageOptions(TypedDict, total=False):
    """The keyword options every entry point takes; each has a default."""

    limits: ImageLimits  # DEFAULT_LIMITS
    url_mode: UrlMode  # "auto"
    timeout: float  # URL_TIMEOUT


class ImageError(ChatError, ValueError):
    """An image source cannot be sent: missing, not an image, unreachable, or too large."""


class ImageLimitError(ImageError):
    """Images that cannot fit one request: too many, or one too large even when shrunk."""


@dataclass(frozen=True)
class LoadedImage:
    """A source read into memory but not yet fitted to the limits.

    Exactly one of ``data`` (encoded image bytes), ``image`` (a PIL image) and
    ``link`` (a checked URL to send as it is) is set.
    """

    label: str
    data: bytes | None = None
    image: PILImage | None = None
    link: str | None = None


@dataclass(frozen=True)
class PreparedImage:
    """An image as it will be sent, with the note saying what was changed, if anything."""

    label: str
    url: str
    width: int | None = None  # None for a linked URL: Groq downloads it, we did not
    height: int | None = None
    format: str | None = None
    size: int = 0  # encoded bytes sent inline (0 for a link)
    note: str | None = None

    @property
    def inline(self) -> bool:
        """True when the image travels in the request as a base64 data URL."""
        return self.url.startswith("data:")

    @property
    def part(self) -> dict[str, Any]:
        """The Groq content part."""
        return {"type": "image_url", "image_url": {"url": self.url}}


# ---- public entry points ----------------------------------------------------------------


def prepare_image(
    source: object,
    namespace: Mapping[str, object] | None = None,
    **options: Unpack[ImageOptions],
) -> PreparedImage:
    """Load ``source`` and fit it to the limits as the only image of a request."""
    return prepare_images([source], namespace, **options)[0]


def prepare_images(
    sources: Sequence[object],
    namespace: Mapping[str, object] | None = None,
    *,
    text_bytes: int = 0,
    **options: Unpack[ImageOptions],
) -> list[PreparedImage]:
    """Load every source, then fit them to the limits together (they share one request).

    ``text_bytes`` is the size of the text sent with them. Too many sources fail
    before anything is read.
    """
    limits = options.get("limits", DEFAULT_LIMITS)
    check_count([_label_of(s) for s in sources], limits)
    loaded = [load_image(s, namespace, **options) for s in sources]
    return encode_images(loaded, limits=limits, text_bytes=text_bytes)


def check_count(labels: Sequence[str], limits: ImageLimits) -> None:
    """Raise for the first image past ``limits.max_images``."""
    most = max(limits.max_images, 0)
    if len(labels) > most:
        raise ImageLimitError(
            f"{labels[most]}: image {most + 1} of {len(labels)},"
            f" but a request takes at most {most} image{'' if most == 1 else 's'}"
        )


def load_image(
    source: object,
    namespace: Mapping[str, object] | None = None,
    *,
    label: str | None = None,
    **options: Unpack[ImageOptions],
) -> LoadedImage:
    """Read ``source`` (path, URL, variable name or object) without fitting it yet."""
    label = label or _label_of(source)
    if isinstance(source, os.PathLike):
        return _from_path(Path(os.fspath(source)), label)
    if not isinstance(source, str):
        return _required(source, label, options)
    if source.startswith(("http://", "https://")):
        read = _URLS_READ.get()
        if read is None:
            return _from_url(source, label, options)
        key = (source, label, *sorted(options.items(), key=lambda item: item[0]))
        if key not in read:
            read[key] = _from_url(source, label, options)
        return read[key]
    if source.startswith("data:"):
        return LoadedImage(label, data=_from_data_url(source, label))
    if namespace is not None and source.isidentifier() and source in namespace:
        return _required(namespace[source], label, options)
    path = Path(source).expanduser()
    if not path.exists():
        kind = " or notebook variable" if source.isidentifier() else ""
        raise ImageError(f"{label}: no such file{kind}")
    return _from_path(path, label)


def looks_like_image(value: object) -> bool:
    """A cheap guess (nothing is called) that :func:`as_image` will take ``value``."""
    if _is_pil(value) or _sniff(value) is not None:
        return True
    names = ("savefig", "_repr_jpeg_", "_repr_png_")
    return any(callable(getattr(value, name, None)) for name in names)


def as_image(
    value: object,
    label: str,
    **options: Unpack[ImageOptions],
) -> LoadedImage | None:
    """``value`` as an image, or None when it is not one (then it is text to a template).

    ``options`` apply to an image object that only holds a URL
    (``IPython.display.Image(url=...)``).
    """
    if _is_pil(value):
        return LoadedImage(label, image=cast("PILImage", value))
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return LoadedImage(label, data=raw) if _sniff(raw) else None
    if callable(getattr(value, "savefig", None)):
        return LoadedImage(label, data=_savefig(value, label))
    data = _repr_image(value, label)
    if data is not None:
        return LoadedImage(label, data=data)
    url = getattr(value, "url", None)
    if _repr_methods(value) and isinstance(url, str) and url.startswith(("http://", "https://")):
        return _from_url(url, label, options)
    return None


def encode_images(
    loaded: Sequence[LoadedImage], *, limits: ImageLimits = DEFAULT_LIMITS, text_bytes: int = 0
) -> list[PreparedImage]:
    """Fit loaded images to ``limits``, sharing the request's base64 budget between them.

    Smallest first, each gets an even share of what is left and leaves what it
    did not use to the rest: a small chart keeps its size, big photos split the remainder.
    """
    left = limits.max_request_bytes - text_bytes - _REQUEST_FRAMING
    wants = [_wanted_bytes(item) for item in loaded]
    sharing = waiting = sum(1 for want in wants if want)
    prepared: dict[int, PreparedImage] = {}
    for i in sorted(range(len(loaded)), key=wants.__getitem__):
        share = left // waiting if wants[i] else 0
        budget = _Budget(loaded[i].label, share, limits, sharing)
        prepared[i] = image = _encode(loaded[i], budget)
        if image.inline:
            left -= len(image.url)
            waiting -= 1
    return [prepared[i] for i in range(len(loaded))]


# ---- reading sources ----------------------------------------------------------------------


def _label_of(source: object) -> str:
    """How messages name a source: as typed, or by its type when it has no name."""
    if isinstance(source, str):
        return "data URL" if source.startswith("data:") else source
    if isinstance(source, os.PathLike):
        return str(source)
    return "PIL image" if _is_pil(source) else type(source).__name__


def _required(value: object, label: str, options: ImageOptions) -> LoadedImage:
    loaded = as_image(value, label, **options)
    if loaded is None:
        kind = type(value).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        what = "not an image" if label == kind else f"{article} {kind} is not an image"
        raise ImageError(
            f"{label}: {what} (give a path, a URL, a PIL image, a matplotlib figure"
            " or PNG/JPEG/GIF/WEBP bytes)"
        )
    return loaded


def _from_path(path: Path, label: str) -> LoadedImage:
    try:
        data = read_bounded(path, MAX_IMAGE_FILE_BYTES, what="image")
    except FileReadError as exc:
        raise ImageError(f"{label}: {exc}") from None
    return LoadedImage(label, data=data)


def _from_data_url(url: str, label: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise ImageError(f"{label}: not a base64 data:image/... URL")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        raise ImageError(f"{label}: the data URL is not valid base64") from None


def _sniff(value: object) -> str | None:
    """The format of image bytes by their signature (Groq takes these four)."""
    if not isinstance(value, bytes | bytearray | memoryview):
        return None
    head = bytes(value[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _is_pil(value: object) -> bool:
    # Nothing can be a PIL image unless PIL is loaded, so this never imports it.
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(value, module.Image)


def _savefig(figure: object, label: str) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"format": "png"}
    if type(figure).__module__.startswith("matplotlib"):
        options["bbox_inches"] = "tight"  # what the notebook's inline backend shows
    try:
        figure.savefig(buffer, **options)  # type: ignore[attr-defined]
    except Exception as exc:  # a broken figure must be one line, not a traceback
        raise ImageError(f"{label}: savefig failed: {type(exc).__name__}: {exc}") from None
    return buffer.getvalue()


def _repr_methods(value: object) -> list[Callable[[], object]]:
    methods = (getattr(value, name, None) for name in ("_repr_jpeg_", "_repr_png_"))
    return [method for method in methods if callable(method)]


def _repr_image(value: object, label: str) -> bytes | None:
    """What ``_repr_jpeg_``/``_repr_png_`` give, as bytes; None when they give nothing."""
    for method in _repr_methods(value):
        try:
            out = method()
        except Exception as exc:
            raise ImageError(
                f"{label}: {method.__name__}() failed: {type(exc).__name__}: {exc}"
            ) from None
        if isinstance(out, tuple) and out:
            out = out[0]  # IPython's (data, metadata) form
        if isinstance(out, str):
            try:
                out = base64.b64decode(out)  # IPython also accepts base64 text
            except ValueError:
                continue
        if isinstance(out, bytes | bytearray) and out:
            return bytes(out)
    return None


# ---- URLs ---------------------------------------------------------------------------------


def _is_local_host(url: str) -> bool:
    """True for hosts Groq's servers cannot reach: loopback, private, link-local, intranet."""
    import httpx

    host = httpx.URL(url).host.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local


def _from_url(url: str, label: str, options: ImageOptions) -> LoadedImage:
    import httpx

    limits = options.get("limits", DEFAULT_LIMITS)
    url_mode = options.get("url_mode", "auto")
    timeout = options.get("timeout", URL_TIMEOUT)
    try:
        inline = url_mode == "inline" or (url_mode == "auto" and _is_local_host(url))
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            if not inline:
                content_type, length = _probe(client, url, label)
                fits = length is None or length <= limits.max_url_bytes
                if content_type in MIME_TYPES.values() and fits:
                    return LoadedImage(label, link=url)
            return LoadedImage(label, data=_download(client, url, label))
    except httpx.TimeoutException:
        raise ImageError(f"{label}: unreachable (no answer within {timeout:g} s)") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        raise ImageError(f"{label}: unreachable ({reason})") from None


def _probe(client: httpx.Client, url: str, label: str) -> tuple[str, int | None]:
    """Content type and length from a HEAD, or from a GET's headers if HEAD is refused."""
    response = client.head(url)
    if response.status_code >= 400 or not response.headers.get("content-type"):
        with client.stream("GET", url) as streamed:  # headers only: the body is never read
            response = streamed
    content_type = _checked_type(response, label)
    length = response.headers.get("content-length")
    return content_type, int(length) if length and length.isdigit() else None


def _checked_type(response: httpx.Response, label: str) -> str:
    if response.status_code >= 400:
        raise ImageError(f"{label}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
    header: str = response.headers.get("content-type", "")
    content_type = header.split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        raise ImageError(f"{label}: not an image (content type {content_type or 'missing'})")
    return content_type


def _download(client: httpx.Client, url: str, label: str) -> bytes:
    with client.stream("GET", url) as response:
        _checked_type(response, label)
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > DOWNLOAD_CAP:
                raise ImageError(f"{label}: over {_size(DOWNLOAD_CAP)}, too large to fetch")
            chunks.append(chunk)
    return b"".join(chunks)


# ---- fitting to the limits ----------------------------------------------------------------


def _data_url_length(size: int, fmt: str) -> int:
    return len(f"data:{MIME_TYPES[fmt]};base64,") + 4 * math.ceil(size / 3)


@dataclass(frozen=True)
class _Budget:
    """What one image may take, and what to call the limit in a note or refusal."""

    label: str
    share: int  # data URL characters this image may use
    limits: ImageLimits
    sharing: int  # how many inline images split the request

    def capacity(self, fmt: str) -> int:
        """The most encoded bytes whose data URL fits the share."""
        return max(0, (self.share - _data_url_length(0, fmt)) // 4 * 3)

    def reason(self, pixels: int) -> str:
        """The limit an image of ``pixels`` was shrunk for."""
        if pixels > self.limits.max_pixels:
            return f"Groq's {self.limits.max_pixels / 1e6:.3g}-megapixel limit"
        limit = f"Groq's {_size(self.limits.max_request_bytes)} request limit"
        return f"{limit} (shared by {self.sharing} images)" if self.sharing > 1 else limit


def _wanted_bytes(item: LoadedImage) -> int:
    """About the data URL length ``item`` would take as it is (0 for a link)."""
    if item.data is not None:
        return _data_url_length(len(item.data), "JPEG")
    if item.image is not None:
        return _data_url_length(int(_guess_bytes(item.image, "PNG", None)), "PNG")
    return 0


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.3g} MB"
    if n >= 1_000:
        return f"{n / 1e3:.3g} KB"
    return f"{n} bytes"


def _data_url(data: bytes, fmt: str) -> str:
    return f"data:{MIME_TYPES[fmt]};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass
class _Fitted:
    data: bytes
    format: str
    width: int
    height: int


def _encode(item: LoadedImage, budget: _Budget) -> PreparedImage:
    if item.link is not None:
        return PreparedImage(item.label, url=item.link)
    image, source_format, source_size = _open(item)
    width, height = image.size
    try:
        grey = _eight_bit(image, item.label)
        fitted = None if grey else _as_is(item.data, source_format, (width, height), budget)
        note = None
        if fitted is None:
            fitted = _refit(grey.image if grey else image, source_format, source_size, budget)
            note = _note((width, height), source_size, fitted, budget)
    except OSError as exc:  # truncated or corrupt data only shows when decoding
        raise ImageError(f"{item.label}: cannot decode it ({exc})") from None
    if grey is not None:
        note = f"{note}; {grey.note}" if note else f"{item.label}: {grey.note}"
    return PreparedImage(
        item.label,
        url=_data_url(fitted.data, fitted.format),
        width=fitted.width,
        height=fitted.height,
        format=fitted.format,
        size=len(fitted.data),
        note=note,
    )


def _open(item: LoadedImage) -> tuple[PILImage, str | None, int | None]:
    """The PIL image (not decoded yet), its source format, and its source size in bytes."""
    from PIL import Image, UnidentifiedImageError

    if item.image is not None:
        return item.image, None, None
    assert item.data is not None
    try:
        with warnings.catch_warnings():
            # Big photos are what this module is for; the fit below bounds the pixels sent.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(item.data))
    except UnidentifiedImageError:
        raise ImageError(f"{item.label}: not an image (Pillow cannot identify it)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{item.label}: too many pixels to decode safely ({exc})") from None
    # MPO (phone cameras) is a JPEG with extra frames appended: Groq reads it as a JPEG.
    source_format = "JPEG" if image.format == "MPO" else image.format
    return image, source_format, len(item.data)


@dataclass(frozen=True)
class _Grey:
    """A wide-valued image (float, 32- or 16-bit) brought to 8-bit grey, and how."""

    image: PILImage
    note: str


def _is_wide(mode: str) -> bool:
    """Modes whose values do not mean 0..255: float, 32-bit and 16-bit (any byte order)."""
    return mode in {"F", "I"} or mode.startswith("I;16")


def _levels(image: PILImage, label: str) -> tuple[float, float]:
    """The values that become black and white when ``image`` (mode F) goes to 8 bits.

    A float image within 0..1 is the convention of matplotlib, scikit-image and torch
    (1.0 is white), so it is scaled as it is: a dim picture stays dim and a mask stays
    a mask. Anything else has no agreed white: an integer image, 16-bit above all,
    mostly comes from a camera, scanner or microscope whose sensor fills 10, 12 or 14
    bits of the 16, so dividing by 65535 would send a 12-bit picture at 1/16 of its
    brightness, nearly black (the very fault this fixes). Viewers for such data (ImageJ,
    ``matplotlib.imshow``) stretch the actual min..max, so we do too; a full-range 16-bit
    photo loses nothing visible. The note says which values were stretched.
    """
    low, high = cast("tuple[float, float]", image.getextrema())  # one band: (min, max)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ImageError(
            f"{label}: a float image with values that are not finite (NaN or infinity)"
            " cannot be shown; replace them first"
        )
    if low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    if high == low:  # one value all over: nothing to stretch, keep it where 0..255 puts it
        return min(low, 0.0), max(high, 255.0)
    return low, high


def _eight_bit(image: PILImage, label: str) -> _Grey | None:
    """``image`` as 8-bit grey when its mode is wide (see :func:`_levels`), else None.

    Pillow's own conversion clips such values to 0..255, so a float image in 0..1
    would be sent all black and a 16-bit one mostly white.
    """
    if not _is_wide(image.mode):
        return None
    floats = _upright(image).convert("F")
    low, high = _levels(floats, label)
    scale = 255.0 / (high - low)
    # Pillow truncates floats to bytes: +0.5 rounds to the nearest grey instead.
    grey = floats.point(lambda value: value * scale + (0.5 - low * scale)).convert("L")
    if (low, high) == (0.0, 1.0):
        how = "values 0..1 scaled to 0..255"
    else:
        how = f"values {low:,.6g}..{high:,.6g} stretched to 0..255"
    return _Grey(grey, f"mode {image.mode} image sent as 8-bit grey ({how})")


def _as_is(
    data: bytes | None, source_format: str | None, size: tuple[int, int], budget: _Budget
) -> _Fitted | None:
    """The source bytes unchanged, when Groq takes them as they are."""
    width, height = size
    if data is None or source_format not in MIME_TYPES:
        return None
    if width * height > budget.limits.max_pixels:
        return None
    if _data_url_length(len(data), source_format) > budget.share:
        return None
    return _Fitted(data, source_format, width, height)


def _refit(
    image: PILImage, source_format: str | None, source_size: int | None, budget: _Budget
) -> _Fitted:
    """Re-encode ``image`` within the pixel limit and its share: PNG if it fits, else JPEG.

    ``source_format`` and ``source_size`` describe the data ``image`` was opened
    from; both are None for a caller's PIL image, which must not be changed (no
    ``draft`` on it).
    """
    width, height = image.size
    scale = min(1.0, math.sqrt(budget.limits.max_pixels / (width * height)))
    if source_format != "JPEG":
        png_size = source_size if source_format == "PNG" else None
        png = _try_png(image, scale, png_size, budget.capacity("PNG"))
        if png is not None:
            return png
    jpeg_size = source_size if source_format == "JPEG" else None
    return _fit_jpeg(image, scale, jpeg_size, budget)


def _try_png(
    image: PILImage, scale: float, source_size: int | None, capacity: int
) -> _Fitted | None:
    # Guess before encoding: a PNG encode of a big photo is slow and would not fit anyway.
    if _guess_bytes(image, "PNG", source_size) * scale * scale > capacity:
        return None
    upright = _png_ready(_upright(image))
    out = _resized(upright, scale)
    data = _save(out, "PNG")
    return _Fitted(data, "PNG", *out.size) if len(data) <= capacity else None


def _fit_jpeg(image: PILImage, scale: float, source_size: int | None, budget: _Budget) -> _Fitted:
    capacity = budget.capacity("JPEG")
    width, height = image.size
    smallest = min(scale, MIN_SIDE / max(width, height))  # the pixel limit still wins
    guess = _guess_bytes(image, "JPEG", source_size)
    if guess > capacity:
        scale = max(smallest, min(scale, math.sqrt(0.9 * capacity / guess)))
    if source_size is not None and scale < 1.0:
        # Let the decoder skip what we would throw away (it scales by 1/2, 1/4 or 1/8):
        # far faster than a full decode.
        image.draft("RGB", (int(width * scale * _SLACK), int(height * scale * _SLACK)))
    work = _jpeg_ready(_upright(image))
    while True:
        out = _resized(work, scale * max(width, height) / max(work.size))
        for quality in _JPEG_QUALITIES:
            data = _save(out, "JPEG", quality=quality)
            if len(data) <= capacity:
                return _Fitted(data, "JPEG", *out.size)
        if scale <= smallest:
            raise ImageLimitError(
                f"{budget.label}: {width}x{height} does not fit {budget.reason(0)},"
                f" not even at {out.size[0]}x{out.size[1]} as a quality {quality} JPEG"
            )
        scale = max(smallest, scale * min(0.9, max(0.5, math.sqrt(capacity / len(data)))))


def _guess_bytes(image: PILImage, fmt: str, source_size: int | None) -> float:
    """Encoded size at full resolution: the source's size, or a 256x256 sample's, scaled."""
    if source_size is not None:
        return float(source_size)
    width, height = image.size
    side = 256
    left, top = max(0, (width - side) // 2), max(0, (height - side) // 2)
    sample = image.crop((left, top, min(width, left + side), min(height, top + side)))
    ready = _png_ready(sample) if fmt == "PNG" else _jpeg_ready(sample)
    data = _save(ready, fmt, quality=_JPEG_QUALITIES[0])
    return len(data) * (width * height) / (sample.size[0] * sample.size[1])


def _upright(image: PILImage) -> PILImage:
    """``image`` turned as its EXIF says (re-encoding drops EXIF, so the turn must be real)."""
    from PIL import ImageOps

    if image.getexif().get(_ORIENTATION, 1) == 1:
        return image  # exif_transpose would copy every pixel to change nothing
    return ImageOps.exif_transpose(image)


def _has_alpha(image: PILImage) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        image.mode == "P" and "transparency" in image.info
    )


def _png_ready(image: PILImage) -> PILImage:
    """``image`` in a mode PNG stores and that resizes well (palettes resize badly)."""
    if image.mode in {"L", "LA", "RGB", "RGBA"}:
        return image
    return image.convert("RGBA" if _has_alpha(image) else "RGB")


def _jpeg_ready(image: PILImage) -> PILImage:
    """``image`` as RGB or L, transparency flattened onto white."""
    from PIL import Image

    if image.mode in {"RGB", "L"}:
        return image
    if not _has_alpha(image):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _resized(image: PILImage, scale: float) -> PILImage:
    from PIL import Image

    if scale >= 1.0:
        return image
    factor = math.ceil(1 / scale)
    if factor * scale * _SLACK <= 1:
        return image.reduce(factor)  # a box average: a few times faster than Lanczos
    width, height = image.size
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap: a fast box reduction first, then Lanczos over the last factor of 2.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _save(image: PILImage, fmt: str, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def _note(
    source: tuple[int, int], source_size: int | None, fitted: _Fitted, budget: _Budget
) -> str | None:
    """One line on what re-encoding changed; None when it lost nothing (same size, PNG)."""
    width, height = source
    resized = (fitted.width, fitted.height) not in {(width, height), (height, width)}
    if not resized and fitted.format == "PNG":
        return None
    was = f"{width * height / 1e6:.1f} MP"
    if source_size is not None:
        was += f", {_size(source_size)}"
    return (
        f"{budget.label}: {width}x{height} ({was}) sent as {fitted.width}x{fitted.height}"
        f" {fitted.format} ({_size(len(fitted.data))}) to fit {budget.reason(width * height)}"
    )
