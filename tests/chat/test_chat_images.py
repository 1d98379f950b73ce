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
from PIL import Image, ImageChops
from scripted_server import ScriptedServer
from turn_replies import answer_stream

from groq_magic.chat import ChatOptions
from groq_magic.chat.conversation import Conversation, Turn
from groq_magic.chat.engine import run_turn
from groq_magic.chat.errors import ChatError, TemplateError
from groq_magic.chat.images import (
    ImageError,
    ImageLimits,
    prepare_image,
    prepare_images,
)
from groq_magic.chat.parts import (
    build_user_content,
    image_stats,
    render_prompt_parts,
)
from groq_magic.chat.prepare import prepare_turn
from groq_magic.chat.sink import NullSink
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


def part_of(source: Any, namespace: dict[str, Any] | None = None, **options: Any) -> Any:
    """The content part for ``source``, as a request carries it."""
    return prepare_image(source, namespace, **options).part


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
    data, image = decode(part_of(f"{web}/cat.png"))
    assert data == PNG_GRAPHIC
    assert image.size == (120, 80)


def test_a_url_in_link_mode_is_checked_and_sent_as_is(web: str) -> None:
    assert part_of(f"{web}/cat.png", url_mode="link") == {
        "type": "image_url",
        "image_url": {"url": f"{web}/cat.png"},
    }
    # A server that refuses HEAD is asked with a GET whose body is not read.
    assert part_of(f"{web}/no-head/cat.png", url_mode="link")["image_url"]["url"].endswith(
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
    _, image = decode(part_of(figure))
    assert image.format == "PNG"
    assert 100 < image.size[0] <= 300


def test_raw_bytes_of_each_format() -> None:
    picture = Image.new("RGB", (40, 30), "green")
    for fmt in ("PNG", "JPEG", "GIF", "WEBP"):
        data = encoded(picture, fmt)
        sent, image = decode(part_of(data))
        assert sent == data
        assert (image.format, image.size) == (fmt, (40, 30))
    assert decode(part_of(bytearray(PNG_GRAPHIC)))[0] == PNG_GRAPHIC


def test_objects_with_repr_png() -> None:
    assert decode(part_of(ReprPNG(PNG_GRAPHIC)))[0] == PNG_GRAPHIC
    assert decode(part_of(ReprPNG(PNG_GRAPHIC, metadata=True)))[0] == PNG_GRAPHIC


def test_ipython_display_image(photo: Path) -> None:
    from IPython.display import Image as DisplayImage

    assert decode(part_of(DisplayImage(filename=str(photo))))[0] == photo.read_bytes()
    assert decode(part_of(DisplayImage(data=PNG_GRAPHIC)))[0] == PNG_GRAPHIC


def test_a_variable_name_and_a_data_url(photo: Path) -> None:
    namespace = {"pic": Image.open(photo), "fig": FakeFigure()}
    assert decode(part_of("pic", namespace))[1].size == (640, 480)
    assert decode(part_of("fig", namespace))[1].size == (300, 200)
    url = part_of(PNG_GRAPHIC)["image_url"]["url"]
    assert part_of(url)["image_url"]["url"] == url


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
        part_of(str(tmp_path / "nope.png"))
    assert error_line(excinfo) == f"{tmp_path / 'nope.png'}: no such file"
    with pytest.raises(ImageError) as excinfo:
        part_of("chart", {"other": 1})
    assert error_line(excinfo) == "chart: no such file or notebook variable"


def test_a_file_that_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(ImageError) as excinfo:
        part_of(path)
    assert error_line(excinfo) == f"{path}: not an image (Pillow cannot identify it)"


def test_an_unreachable_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cat.png"
    with pytest.raises(ImageError) as excinfo:
        part_of(url)
    assert error_line(excinfo).startswith(f"{url}: unreachable (")


def test_a_url_that_never_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # connections queue, nobody answers
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/cat.png"
        with pytest.raises(ImageError) as excinfo:
            part_of(url, timeout=0.2)
    assert error_line(excinfo) == f"{url}: unreachable (no answer within 0.2 s)"


@pytest.mark.parametrize("mode", ["auto", "link"])
def test_a_url_that_is_not_an_image(web: str, mode: Any) -> None:
    with pytest.raises(ImageError) as excinfo:
        part_of(f"{web}/page.html", url_mode=mode)
    assert error_line(excinfo) == f"{web}/page.html: not an image (content type text/html)"
    with pytest.raises(ImageError) as excinfo:
        part_of(f"{web}/gone.png", url_mode=mode)
    assert error_line(excinfo) == f"{web}/gone.png: HTTP 404 Not Found"


def test_a_variable_that_is_not_an_image() -> None:
    with pytest.raises(ImageError) as excinfo:
        part_of("df", {"df": [1, 2]})
    assert error_line(excinfo).startswith("df: a list is not an image (give a path,")
    with pytest.raises(ImageError) as excinfo:
        part_of(b"not an image")
    assert error_line(excinfo).startswith("bytes: not an image (give a path,")
    with pytest.raises(ImageError) as excinfo:
        part_of(ReprPNG(None))
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
    window = loaded.window()
    assert window[0] == parts.message
    assert image_stats(window).count == 1


# ---- wide-valued images (float, 32-bit, 16-bit): 0..255 as a person would see them --------

IMAGE_MODEL = "meta-llama/llama-4-scout-17b-16e-instruct"
GRADIENT = Image.linear_gradient("L")  # 256x256: row g is all grey g, 0 to 255


def wide(mode: str, scale: float, offset: float) -> Image.Image:
    """``GRADIENT`` as ``mode``, each grey ``g`` held as the value ``g * scale + offset``."""
    floats = GRADIENT.convert("F").point(lambda value: value * scale + offset)
    if mode == "F":
        return floats
    integers = floats.convert("I")
    if mode == "I":
        return integers
    # Pillow cannot convert to the other 16-bit byte orders: build them from their bytes.
    sixteen = integers.convert("I;16")
    return Image.frombytes(mode, sixteen.size, sixteen.tobytes("raw", mode))


def sent_image(server: ScriptedServer, make_client: Any, picture: Image.Image) -> Any:
    """Ask about ``picture`` through a real request; the image part as the server got it."""
    server.enqueue(answer_stream("A gradient.", model=IMAGE_MODEL))
    options = ChatOptions(model=IMAGE_MODEL, images=["picture"])
    prep = prepare_turn(options, "What is it?", {"picture": picture}, Conversation())
    run_turn(prep, make_client(), NullSink(), record=False)
    _, part = server.requests[-1].json()["messages"][-1]["content"]
    return prep, decode(part)[1]


def greys_off(image: Image.Image) -> int:
    """How far, at most, ``image``'s greys are from ``GRADIENT``'s."""
    difference = ImageChops.difference(image, GRADIENT)
    return int(difference.getextrema()[1])


@pytest.mark.parametrize(
    ("mode", "scale", "offset", "how"),
    [
        ("F", 1 / 255, 0.0, "values 0..1 scaled to 0..255"),  # the float convention
        ("F", 0.5, 3.0, "values 3..130.5 stretched to 0..255"),  # a depth map, say
        ("I", 100.0, -5000.0, "values -5,000..20,500 stretched to 0..255"),
        ("I;16", 16.0, 32.0, "values 32..4,112 stretched to 0..255"),  # a 12-bit sensor
        ("I;16", 257.0, 0.0, "values 0..65,535 stretched to 0..255"),  # full 16-bit range
        ("I;16B", 16.0, 32.0, "values 32..4,112 stretched to 0..255"),
    ],
    ids=["F-0..1", "F-wide", "I", "I;16-12bit", "I;16-full", "I;16B"],
)
def test_a_wide_valued_image_is_sent_as_the_greys_it_holds(
    server: ScriptedServer, make_client: Any, mode: str, scale: float, offset: float, how: str
) -> None:
    picture = wide(mode, scale, offset)
    assert picture.mode == mode
    prep, image = sent_image(server, make_client, picture)
    assert (image.format, image.mode, image.size) == ("PNG", "L", GRADIENT.size)
    assert image.getextrema() == (0, 255)
    assert greys_off(image) <= 1  # float rounding, at most one grey
    assert prep.notes == (f"picture: mode {mode} image sent as 8-bit grey ({how})",)
    assert picture.mode == mode  # the caller's image is not changed


def test_a_dim_float_image_stays_dim() -> None:
    """0..1 is the float convention: 0.25..0.5 is a dark grey, not stretched to black..white."""
    dim = GRADIENT.convert("F").point(lambda value: 0.25 + value / 1020)
    _, image = decode(prepare_image(dim).part)
    assert image.getextrema() == (64, 128)


def test_a_16_bit_png_file_is_not_sent_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    wide("I;16", 16.0, 32.0).save(path)
    prepared = prepare_image(path)
    data, image = decode(prepared.part)
    assert data != path.read_bytes()
    assert image.mode == "L"
    assert greys_off(image) <= 1
    assert prepared.note is not None
    assert "stretched to 0..255" in prepared.note


def test_a_one_value_image_keeps_its_grey() -> None:
    for value, grey in [(0, 0), (100, 100), (4000, 255)]:
        flat = Image.new("I", (8, 8), value)
        _, image = decode(prepare_image(flat).part)
        assert image.getextrema() == (grey, grey)


def test_a_float_image_with_infinity_is_refused_in_one_line() -> None:
    picture = Image.new("F", (8, 8), 0.5)
    picture.putpixel((3, 3), float("inf"))
    with pytest.raises(ImageError) as excinfo:
        prepare_image(picture)
    assert error_line(excinfo).startswith("PIL image: a float image with values that are not")
