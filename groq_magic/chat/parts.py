"""A user message's content with images in it, and prompts whose ``{references}`` name images.

Groq takes a user message's ``content`` as a string or as a list of parts
(``{"type": "text", "text": ...}`` and ``{"type": "image_url", ...}``) in the order
the model reads them. :func:`build_user_content` makes the list when there are
images and the plain string when there are none, so a text-only request is
byte for byte what it always was.

:func:`render_prompt_parts` is :func:`~groq_magic.chat.template.render_prompt`
with images: a reference whose value is image-like (a PIL image, a matplotlib
figure, image bytes, an ``IPython.display.Image``: see
:mod:`groq_magic.chat.images`) puts the image at that place in the message;
every other reference is filled as text exactly as ``render_prompt`` fills it
(same escapes, fences, and one-line errors). Strings and paths stay text: a
prompt saying ``{path}`` means the path. ``str()`` of an image-like value is
what a template gave before images existed, so a prompt without image-like
references renders exactly as before.

How: the template is rendered once with every reference replaced by a
numbered marker (so the text between references gets ``render_prompt``'s own
treatment of escapes and fences), then split at the markers, and each marker
becomes the reference's text or its image.
"""

from __future__ import annotations

import ast
import itertools
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from groq_magic.chat.images import (
    DEFAULT_LIMITS,
    ImageLimits,
    ImageOptions,
    LoadedImage,
    PreparedImage,
    as_image,
    check_count,
    encode_images,
    looks_like_image,
)
from groq_magic.chat.template import find_references, render_prompt

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "ImageStats",
    "PromptParts",
    "build_user_content",
    "image_stats",
    "render_prompt_parts",
]

_MISSING = object()


@dataclass(frozen=True)
class PromptParts:
    """A rendered prompt: the message content to send, and what is said about it."""

    content: str | list[dict[str, Any]]
    text: str  # the prompt as text, each image as "[image: label]" (history table, key check)
    images: list[PreparedImage] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """One line per image that was shrunk or re-encoded to fit Groq's limits."""
        return [image.note for image in self.images if image.note]

    @property
    def message(self) -> dict[str, Any]:
        """The user message to send (and to keep in history: images included)."""
        return {"role": "user", "content": self.content}


@dataclass(frozen=True)
class ImageStats:
    """How many images a message (or window) carries, and their inline bytes."""

    count: int = 0
    inline_bytes: int = 0  # the data URLs' length: what counts against the request limit


def build_user_content(
    items: Iterable[str | Mapping[str, Any] | PreparedImage],
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> str | list[dict[str, Any]]:
    """A user message's content from text and images in order.

    ``items`` are strings (text), :class:`PreparedImage` objects, or content parts
    as Groq takes them. Without images the text is joined into one string; with
    images, adjacent text is merged and blank text between images dropped. More
    images than ``limits.max_images`` is an ImageError.
    """
    parts: list[dict[str, Any]] = []
    texts: list[str] = []
    labels: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
            continue
        if texts:
            parts.append({"type": "text", "text": "".join(texts)})
            texts = []
        part = item.part if isinstance(item, PreparedImage) else dict(item)
        if part.get("type") == "image_url":
            labels.append(
                item.label if isinstance(item, PreparedImage) else f"image {len(labels) + 1}"
            )
        parts.append(part)
    if texts:
        parts.append({"type": "text", "text": "".join(texts)})
    if not labels:
        return "".join(str(part.get("text", "")) for part in parts)
    check_count(labels, limits)
    return [p for p in parts if p.get("type") != "text" or str(p.get("text", "")).strip()]


def render_prompt_parts(
    template: str,
    namespace: Mapping[str, object],
    **options: Unpack[ImageOptions],
) -> PromptParts:
    """Fill ``template`` from ``namespace``, image-like references becoming images in place.

    Template errors are raised before any image is read or encoded; then too many
    images, and each image's own problems, as one-line ImageErrors.
    """
    expressions = find_references(template)
    values = {expr: _resolve(expr, namespace) for expr in dict.fromkeys(expressions)}
    candidates = {expr for expr, value in values.items() if looks_like_image(value)}
    if not candidates:
        text = render_prompt(template, namespace)
        return PromptParts(content=text, text=text)
    pieces = _pieces(template, expressions, candidates, namespace)
    loaded = {expr: as_image(values[expr], expr, **options) for expr in candidates}
    for i, piece in enumerate(pieces):
        if isinstance(piece, _Slot) and loaded[piece.expr] is None:
            # It had an image's methods but gave no image (sympy's _repr_png_ gives None).
            pieces[i] = render_prompt("{" + piece.expr + "}", namespace)
    images = {expr: image for expr, image in loaded.items() if image is not None}
    return _assemble(pieces, images, options.get("limits", DEFAULT_LIMITS))


def image_stats(content_or_messages: str | Iterable[Any]) -> ImageStats:
    """Count the images in a content value, a message, or a list of messages."""
    count = inline = 0
    for part in _image_parts(content_or_messages):
        url = str(part.get("image_url", {}).get("url", ""))
        count += 1
        inline += len(url) if url.startswith("data:") else 0
    return ImageStats(count=count, inline_bytes=inline)


# ---- rendering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    expr: str


def _pieces(
    template: str,
    expressions: list[str],
    candidates: set[str],
    namespace: Mapping[str, object],
) -> list[str | _Slot]:
    """The rendered template split at references: text, and a slot per image candidate."""
    token = uuid.uuid4().hex
    skeleton = render_prompt(template, _Markers(token))
    split = re.split(f"\x00{token}:(\\d+)\x00", skeleton)
    pieces: list[str | _Slot] = [split[0]]
    for index, after in zip(split[1::2], split[2::2], strict=True):
        expr = expressions[int(index)]
        if expr in candidates:
            pieces.append(_Slot(expr))
        else:
            pieces.append(render_prompt("{" + expr + "}", namespace))
        pieces.append(after)
    return pieces


def _assemble(
    pieces: list[str | _Slot], loaded: Mapping[str, LoadedImage], limits: ImageLimits
) -> PromptParts:
    slots = [p for p in pieces if isinstance(p, _Slot)]
    check_count([slot.expr for slot in slots], limits)
    text_bytes = sum(len(p.encode()) for p in pieces if isinstance(p, str))
    images = encode_images(
        [loaded[slot.expr] for slot in slots], limits=limits, text_bytes=text_bytes
    )
    by_slot = iter(images)
    items: list[str | PreparedImage] = []
    text: list[str] = []
    for piece in pieces:
        if isinstance(piece, _Slot):
            image = next(by_slot)
            items.append(image)
            text.append(f"[image: {image.label}]")
        else:
            items.append(piece)
            text.append(piece)
    content = build_user_content(items, limits=limits)
    return PromptParts(content=content, text="".join(text), images=images)


class _Markers(Mapping[str, object]):
    """A namespace holding every name, whose values render as numbered markers.

    ``render_prompt`` walks ``.attr`` and ``[index]`` on the value and calls
    ``str()`` on the result once per reference, in order: each call returns the
    next marker, so marker n stands for ``find_references(template)[n]``.
    """

    def __init__(self, token: str) -> None:
        counter = itertools.count()

        class Marker:
            # No attributes of its own, so every reference step lands in __getattr__.
            __slots__ = ()

            def __getattr__(self, name: str) -> Marker:
                return self

            def __getitem__(self, key: object) -> Marker:
                return self

            def __str__(self) -> str:
                return f"\x00{token}:{next(counter)}\x00"

        self._marker = Marker()

    def __getitem__(self, name: str) -> object:
        return self._marker

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _resolve(expr: str, namespace: Mapping[str, object]) -> object:
    """The value a reference names, or _MISSING; errors are left to render_prompt's lines."""
    try:
        return _walk(ast.parse(expr, mode="eval").body, namespace)
    except Exception:  # a property that raises: render_prompt will say so
        return _MISSING


def _walk(node: ast.expr, namespace: Mapping[str, object]) -> object:
    # The reference grammar is a subset of Python's: a name, then .attr and [literal].
    if isinstance(node, ast.Name):
        return namespace.get(node.id, _MISSING)
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            return _MISSING
        base = _walk(node.value, namespace)
        return _MISSING if base is _MISSING else getattr(base, node.attr, _MISSING)
    if isinstance(node, ast.Subscript):
        base = _walk(node.value, namespace)
        return _MISSING if base is _MISSING else base[ast.literal_eval(node.slice)]  # type: ignore[index]
    return _MISSING


def _image_parts(value: object) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        if value.get("type") == "image_url":
            yield value
        elif "content" in value:
            yield from _image_parts(value["content"])
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _image_parts(item)
