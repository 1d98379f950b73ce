"""Images in user messages: every source kind, Groq's limits, bad input, {fig} in prompts."""

from __future__ import annotations

import base64
import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image_web import serve
from PIL import Image

from groq_magic.chat.conversation import Conversation, Turn
from groq_magic.chat.errors import ChatError, TemplateError
from groq_magic.chat.images import (
    ImageError,
    ImageLimits,
    image_part,
    prepare_image,
    prepare_images,
)
from groq_magic.chat.parts import (
    build_user_content,
    image_stats,
    render_prompt_parts,
)
from groq_magic.chat.template import render_prompt

# ---- helpers ------------------------------------------------------------------------------


def noisy(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photo-like image: a gradient with noise (noise is what makes JPEGs big)."""
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return Image.blend(gradient, noise, 0.5)


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decode(part: dict[str, Any]) -> tuple[bytes, Image.Image]:
    """The bytes and image inside a part's data URL."""
    url = part["image_url"]["url"]
    header, _, payload = url.partition(",")
    assert header.startswith("data:image/")
    assert header.endswith(";base64")
    data = base64.b64decode(payload)
    image = Image.open(io.BytesIO(data))
    assert header == f"data:{Image.MIME[image.format]};base64"
    return data, image


def error_line(excinfo: pytest.ExceptionInfo[ImageError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert isinstance(excinfo.value, ChatError)
    return message


PNG_GRAPHIC = encoded(Image.new("RGB", (120, 80), "navy"), "PNG")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    noisy(640, 480).save(path, quality=90)
    return path


class FakeFigure:
    """Something with savefig, as matplotlib's Figure (and seaborn's grids) have."""

    def __init__(self) -> None:
        self.saved = 0

    def savefig(self, target: io.BytesIO, format: str = "png", **_: Any) -> None:
        self.saved += 1
        target.write(encoded(Image.new("RGB", (300, 200), "white"), format.upper()))

    def __str__(self) -> str:
        return "FakeFigure(300x200)"


class ReprPNG:
    """An object that shows itself as a PNG in a notebook."""

    def __init__(self, data: bytes | None, metadata: bool = False) -> None:
        self.data = data
        self.metadata = metadata

    def _repr_png_(self) -> Any:
        return (self.data, {"width": 10}) if self.metadata else self.data

    def __str__(self) -> str:
        return "ReprPNG"


# ---- a loopback image server --------------------------------------------------------------

ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/cat.png": (200, "image/png", PNG_GRAPHIC),
    "/page.html": (200, "text/html; charset=utf-8", b"<html></html>"),
    "/photo.tiff": (200, "image/tiff", encoded(Image.new("RGB", (50, 40), "red"), "TIFF")),
}


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with serve(ROUTES) as url:
        yield url


# ---- each source kind ---------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [str, Path])
def test_a_file_is_sent_byte_for_byte(photo: Path, as_path: Any) -> None:
    prepared = prepare_image(as_path(photo))
    data, image = decode(prepared.part)
    assert data == photo.read_bytes()
    assert image.size == (640, 480)
    assert prepared.note is None
    assert prepared.part == {"type": "image_url", "image_url": {"url": prepared.url}}


def test_a_loopback_url_is_fetched_and_inlined(web: str) -> None:
    # Groq's servers cannot reach 127.0.0.1, so the image travels in the request.
    data, image = decode(image_part(f"{web}/cat.png"))
    assert data == PNG_GRAPHIC
    assert image.size == (120, 80)


def test_a_url_in_link_mode_is_checked_and_sent_as_is(web: str) -> None:
    assert image_part(f"{web}/cat.png", url_mode="link") == {
        "type": "image_url",
        "image_url": {"url": f"{web}/cat.png"},
    }
    # A server that refuses HEAD is asked with a GET whose body is not read.
    assert image_part(f"{web}/no-head/cat.png", url_mode="link")["image_url"]["url"].endswith(
        "/no-head/cat.png"
    )


def test_a_linked_url_of_a_type_groq_does_not_take_is_converted(web: str) -> None:
    prepared = prepare_image(f"{web}/photo.tiff", url_mode="link")
    assert prepared.inline
    assert decode(prepared.part)[1].format == "PNG"


def test_a_pil_image_is_sent_as_png(tmp_path: Path) -> None:
    for mode, size in [("RGB", (200, 100)), ("RGBA", (30, 60)), ("P", (64, 64))]:
        prepared = prepare_image(Image.new(mode, size))
        _, image = decode(prepared.part)
        assert (image.format, image.size) == ("PNG", size)
        assert prepared.note is None


def test_a_figure_is_saved_as_png() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        figure: Any = Figure(figsize=(3, 2), dpi=100)
        figure.subplots().plot([1, 3, 2])
    except ImportError:
        figure = FakeFigure()
    _, image = decode(image_part(figure))
    assert image.format == "PNG"
    assert 100 < image.size[0] <= 300


def test_raw_bytes_of_each_format() -> None:
    picture = Image.new("RGB", (40, 30), "green")
    for fmt in ("PNG", "JPEG", "GIF", "WEBP"):
        data = encoded(picture, fmt)
        sent, image = decode(image_part(data))
        assert sent == data
        assert (image.format, image.size) == (fmt, (40, 30))
    assert decode(image_part(bytearray(PNG_GRAPHIC)))[0] == PNG_GRAPHIC


def test_objects_with_repr_png() -> None:
    assert decode(image_part(ReprPNG(PNG_GRAPHIC)))[0] == PNG_GRAPHIC
    assert decode(image_part(ReprPNG(PNG_GRAPHIC, metadata=True)))[0] == PNG_GRAPHIC


def test_ipython_display_image(photo: Path) -> None:
    from IPython.display import Image as DisplayImage

    assert decode(image_part(DisplayImage(filename=str(photo))))[0] == photo.read_bytes()
    assert decode(image_part(DisplayImage(data=PNG_GRAPHIC)))[0] == PNG_GRAPHIC


def test_a_variable_name_and_a_data_url(photo: Path) -> None:
    namespace = {"pic": Image.open(photo), "fig": FakeFigure()}
    assert decode(image_part("pic", namespace))[1].size == (640, 480)
    assert decode(image_part("fig", namespace))[1].size == (300, 200)
    url = image_part(PNG_GRAPHIC)["image_url"]["url"]
    assert image_part(url)["image_url"]["url"] == url


def test_a_caller_pil_image_is_not_changed(photo: Path) -> None:
    picture = Image.open(photo)
    prepare_image(picture, limits=ImageLimits(max_request_bytes=20_000))
    assert picture.size == (640, 480)  # no draft() on someone else's image


# ---- limits -------------------------------------------------------------------------------


def test_a_photo_over_the_request_limit_is_downscaled_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    noisy(1600, 1200).save(path, quality=95)
    limits = ImageLimits(max_request_bytes=200_000)
    prepared = prepare_image(path, limits=limits)
    assert len(prepared.url) <= 200_000
    _, image = decode(prepared.part)
    assert image.format == "JPEG"
    assert image.size[0] < 1600
    assert image.size[0] / image.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert prepared.note is not None
    assert prepared.note.startswith(f"{path}: 1600x1200 (1.9 MP, ")
    assert f"sent as {image.size[0]}x{image.size[1]} JPEG (" in prepared.note
    assert prepared.note.endswith("to fit Groq's 200 KB request limit")


def test_a_graphic_over_the_pixel_limit_stays_png() -> None:
    prepared = prepare_image(PNG_GRAPHIC, limits=ImageLimits(max_pixels=2_400))
    _, image = decode(prepared.part)
    assert image.format == "PNG"
    assert image.size[0] * image.size[1] <= 2_400
    assert prepared.note is not None
    assert "120x80 (0.0 MP, " in prepared.note
    assert prepared.note.endswith("to fit Groq's 0.0024-megapixel limit")


def test_a_pil_photo_too_big_for_png_goes_as_jpeg() -> None:
    prepared = prepare_image(noisy(800, 600), limits=ImageLimits(max_request_bytes=300_000))
    assert len(prepared.url) <= 300_000
    assert decode(prepared.part)[1].format == "JPEG"
    assert prepared.note is not None


def test_transparency_is_flattened_for_jpeg() -> None:
    rgba = noisy(400, 300).convert("RGBA")
    rgba.putalpha(128)
    prepared = prepare_image(rgba, limits=ImageLimits(max_request_bytes=60_000))
    _, image = decode(prepared.part)
    assert (image.format, image.mode) == ("JPEG", "RGB")


def test_exif_orientation_is_applied_when_re_encoding(tmp_path: Path) -> None:
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    noisy(800, 600).save(path, quality=95, exif=exif)
    prepared = prepare_image(path, limits=ImageLimits(max_request_bytes=80_000))
    width, height = decode(prepared.part)[1].size
    assert height > width


def test_images_share_the_request_limit(photo: Path) -> None:
    limits = ImageLimits(max_request_bytes=150_000)
    images = prepare_images([photo, PNG_GRAPHIC, noisy(640, 480)], limits=limits)
    assert images[1].note is None  # the small one keeps its size
    assert sum(len(image.url) for image in images) <= 150_000
    assert images[0].note is not None
    assert images[0].note.endswith("request limit (shared by 3 images)")


def test_an_image_that_cannot_fit_is_refused(photo: Path) -> None:
    with pytest.raises(ImageError) as excinfo:
        prepare_image(photo, limits=ImageLimits(max_request_bytes=1_500))
    assert error_line(excinfo) == (
        f"{photo}: 640x480 does not fit Groq's 1.5 KB request limit,"
        " not even at 64x48 as a quality 45 JPEG"
    )


def test_a_small_image_over_its_share_is_recompressed_not_refused() -> None:
    tiny = encoded(noisy(48, 32), "PNG")
    prepared = prepare_image(tiny, limits=ImageLimits(max_request_bytes=len(tiny) + 1_100))
    _, image = decode(prepared.part)
    assert (image.format, image.size) == ("JPEG", (48, 32))
    assert prepared.note is not None
    assert "48x32 (0.0 MP, " in prepared.note


def test_more_images_than_allowed_fail_before_any_is_read(tmp_path: Path) -> None:
    sources = [tmp_path / f"missing{i}.png" for i in range(6)]
    with pytest.raises(ImageError) as excinfo:
        prepare_images(sources)
    assert error_line(excinfo) == (
        f"{sources[5]}: image 6 of 6, but a request takes at most 5 images"
    )


# ---- bad input: one line naming the source ------------------------------------------------


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as excinfo:
        image_part(str(tmp_path / "nope.png"))
    assert error_line(excinfo) == f"{tmp_path / 'nope.png'}: no such file"
    with pytest.raises(ImageError) as excinfo:
        image_part("chart", {"other": 1})
    assert error_line(excinfo) == "chart: no such file or notebook variable"


def test_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(ImageError) as excinfo:
        image_part(path)
    assert error_line(excinfo) == f"{path}: not an image (Pillow cannot identify it)"


def test_an_unreachable_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cat.png"
    with pytest.raises(ImageError) as excinfo:
        image_part(url)
    assert error_line(excinfo).startswith(f"{url}: unreachable (")


def test_a_url_that_never_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # connections queue, nobody answers
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/cat.png"
        with pytest.raises(ImageError) as excinfo:
            image_part(url, timeout=0.2)
    assert error_line(excinfo) == f"{url}: unreachable (no answer within 0.2 s)"


@pytest.mark.parametrize("mode", ["auto", "link"])
def test_a_url_that_is_not_an_image(web: str, mode: Any) -> None:
    with pytest.raises(ImageError) as excinfo:
        image_part(f"{web}/page.html", url_mode=mode)
    assert error_line(excinfo) == f"{web}/page.html: not an image (content type text/html)"
    with pytest.raises(ImageError) as excinfo:
        image_part(f"{web}/gone.png", url_mode=mode)
    assert error_line(excinfo) == f"{web}/gone.png: HTTP 404 Not Found"


def test_a_variable_that_is_not_an_image() -> None:
    with pytest.raises(ImageError) as excinfo:
        image_part("df", {"df": [1, 2]})
    assert error_line(excinfo).startswith("df: a list is not an image (give a path,")
    with pytest.raises(ImageError) as excinfo:
        image_part(b"not an image")
    assert error_line(excinfo).startswith("bytes: not an image (give a path,")
    with pytest.raises(ImageError) as excinfo:
        image_part(ReprPNG(None))
    assert error_line(excinfo).startswith("ReprPNG: not an image (")


# ---- message content and prompts ----------------------------------------------------------


def test_text_only_content_is_the_plain_string() -> None:
    assert build_user_content(["Hello ", "world"]) == "Hello world"
    assert build_user_content([]) == ""


def test_content_with_images_keeps_the_order() -> None:
    first, second = prepare_images([PNG_GRAPHIC, ReprPNG(PNG_GRAPHIC)])
    content = build_user_content(["Compare ", first, " with", " ", second, "\n", first])
    assert content == [
        {"type": "text", "text": "Compare "},
        first.part,
        {"type": "text", "text": " with "},
        second.part,
        first.part,
    ]
    with pytest.raises(ImageError):
        build_user_content([first] * 6)


TEMPLATE = 'Compare {a} with {figs[1]} for {who}: {"json": {x}} {{a}}\n```\n{a}\n```\n'


def test_image_references_become_images_in_place() -> None:
    figure = FakeFigure()
    namespace = {"a": Image.new("RGB", (20, 10)), "figs": [None, figure], "who": "Ann", "x": 1}
    parts = render_prompt_parts(TEMPLATE, namespace)
    content = parts.content
    assert isinstance(content, list)
    assert [part["type"] for part in content] == ["text", "image_url", "text", "image_url", "text"]
    assert content[0]["text"] == "Compare "
    assert decode(content[1])[1].size == (20, 10)
    assert content[2]["text"] == " with "
    assert decode(content[3])[1].size == (300, 200)
    assert content[4]["text"] == ' for Ann: {"json": 1} {a}\n```\n{a}\n```\n'
    assert parts.text == (
        'Compare [image: a] with [image: figs[1]] for Ann: {"json": 1} {a}\n```\n{a}\n```\n'
    )
    assert parts.message == {"role": "user", "content": content}
    assert image_stats(parts.message) == image_stats([{"role": "system"}, parts.message])
    assert image_stats(content).count == 2
    assert image_stats(content).inline_bytes == sum(len(i.url) for i in parts.images)


def test_a_prompt_without_images_renders_as_before() -> None:
    namespace = {"a": 5, "figs": ["p", "q"], "who": "Ann", "x": 1}
    parts = render_prompt_parts(TEMPLATE, namespace)
    assert parts.content == parts.text == render_prompt(TEMPLATE, namespace)
    assert parts.images == []
    assert image_stats(parts.content).count == 0


def test_template_errors_come_before_any_image_is_made() -> None:
    figure = FakeFigure()
    with pytest.raises(TemplateError) as excinfo:
        render_prompt_parts("{fig} and {missing}", {"fig": figure})
    assert str(excinfo.value).startswith("{missing}: name 'missing' is not defined")
    assert figure.saved == 0


def test_image_like_objects_that_give_no_image_stay_text() -> None:
    parts = render_prompt_parts("value: {s}", {"s": ReprPNG(None)})
    assert parts.content == "value: ReprPNG"


def test_a_note_reaches_the_prompt_caller() -> None:
    namespace = {"big": noisy(900, 700)}
    parts = render_prompt_parts("{big}", namespace, limits=ImageLimits(max_request_bytes=90_000))
    assert len(parts.notes) == 1
    assert parts.notes[0].startswith("big: 900x700 (0.6 MP) sent as ")


def test_history_round_trips_images(tmp_path: Path) -> None:
    parts = render_prompt_parts("Describe {pic}", {"pic": Image.new("RGB", (8, 8), "red")})
    conversation = Conversation()
    conversation.record(Turn(prompt=parts.text, user_message=parts.message, answer="Red."))
    loaded = Conversation.load(conversation.save(tmp_path / "chat.json"))
    assert loaded.turns[0].user_message == parts.message
    window = loaded.messages_for("And now?")
    assert window[0] == parts.message
    assert image_stats(window).count == 1
