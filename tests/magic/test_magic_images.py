"""Images in ``%%groq`` cells, end to end: every source kind, ``{fig}``, limits, history.

Each image reaches the scripted server as a content part; the tests decode what was
sent and compare it with what the notebook held. Bad input is one line with nothing
sent and history unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image_web import serve
from magic_helpers import sent
from PIL import Image
from scripted_server import MODEL, error_reply
from turn_replies import answer_stream

IMAGE_MODEL = "meta-llama/llama-4-scout-17b-16e-instruct"


def png(width: int = 120, height: int = 80, colour: str = "navy") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def noisy(width: int, height: int) -> Image.Image:
    """A photo-like image (noise is what makes a JPEG big)."""
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return Image.blend(gradient, noise, 0.5)


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def decoded(part: dict[str, Any]) -> tuple[bytes, Image.Image]:
    """The bytes and the image inside a part's data URL (its header checked)."""
    header, _, payload = part["image_url"]["url"].partition(",")
    data = base64.b64decode(payload)
    image = Image.open(io.BytesIO(data))
    assert header == f"data:{Image.MIME[image.format]};base64"
    return data, image


def status_of(run: Any, model: str = MODEL) -> str:
    [line] = [line for line in run.out.splitlines() if line.startswith(f"{model} · ")]
    return line


def chat_count(groq: Any) -> int:
    return sum(r.path.endswith("/chat/completions") for r in groq.server.requests)


class FakeFigure:
    """Has ``savefig``, as a matplotlib Figure (and seaborn's grids) do."""

    def savefig(self, target: io.BytesIO, format: str = "png", **_: Any) -> None:
        target.write(png(300, 200, "white"))


class ReprPNG:
    """Shows itself as a PNG in a notebook (as IPython.display.Image and many plots do)."""

    def _repr_png_(self) -> bytes:
        return png(40, 30, "green")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    noisy(320, 240).save(path, quality=90)
    return path


# -- a loopback image server ------------------------------------------------------------------

SERVED = {
    "/cat.png": (200, "image/png", png(64, 48, "orange")),
    "/page.html": (200, "text/html; charset=utf-8", b"<html></html>"),
}


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with serve(SERVED) as url:
        yield url


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- each source kind -------------------------------------------------------------------------


def ask(groq: Any, flags: str, prompt: str = "What is in it?") -> Any:
    groq.server.enqueue(answer_stream("A picture.", model=IMAGE_MODEL))
    run = groq.run(f"%%groq -m {IMAGE_MODEL} {flags}\n{prompt}")
    assert run.error is None, run.err
    return run


def only_image(groq: Any) -> dict[str, Any]:
    """The one image part of the last request, after the prompt's text part."""
    content = sent(groq.server)["messages"][-1]["content"]
    assert content[0] == text_part("What is in it?")
    [part] = content[1:]
    return dict(part)


def test_a_file_path_is_sent_byte_for_byte(groq: Any, photo: Path) -> None:
    run = ask(groq, f"--image {photo}")
    data, image = decoded(only_image(groq))
    assert data == photo.read_bytes()
    assert (image.format, image.size) == ("JPEG", (320, 240))
    assert "· 1 image ·" in status_of(run, IMAGE_MODEL)
    assert sent(groq.server)["model"] == IMAGE_MODEL


def test_a_loopback_url_is_fetched_and_sent_inline(groq: Any, web: str) -> None:
    ask(groq, f"--image {web}/cat.png")
    data, image = decoded(only_image(groq))
    assert data == SERVED["/cat.png"][2]
    assert image.size == (64, 48)


@pytest.mark.parametrize(
    "kind", ["pil", "savefig", "bytes", "repr_png", "matplotlib"], ids=lambda kind: kind
)
def test_a_notebook_variable_holding_an_image(groq: Any, kind: str) -> None:
    if kind == "pil":
        value: Any = Image.new("RGB", (50, 40), "red")
        size = (50, 40)
    elif kind == "savefig":
        value, size = FakeFigure(), (300, 200)
    elif kind == "bytes":
        value, size = png(70, 20), (70, 20)
    elif kind == "repr_png":
        value, size = ReprPNG(), (40, 30)
    else:
        pyplot = pytest.importorskip("matplotlib.pyplot")
        value, _ = pyplot.subplots(figsize=(2, 1), dpi=50)
        size = None  # bbox_inches="tight" decides
    groq.ns["picture"] = value
    ask(groq, "--image picture")
    data, image = decoded(only_image(groq))
    assert image.format == "PNG"
    if size is not None:
        assert image.size == size
    if kind == "bytes":
        assert data == value


def test_fig_in_the_prompt_puts_the_image_there(groq: Any) -> None:
    groq.ns["fig"] = FakeFigure()
    groq.ns["chart"] = png(30, 30)
    run = ask(groq, "", prompt="Before {fig} and after, then {chart}.")
    content = sent(groq.server)["messages"][-1]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "text", "image_url", "text"]
    assert content[0] == text_part("Before ")
    assert content[2] == text_part(" and after, then ")
    assert content[4] == text_part(".")
    assert decoded(content[1])[1].size == (300, 200)
    assert decoded(content[3])[0] == groq.ns["chart"]
    assert "· 2 images ·" in status_of(run, IMAGE_MODEL)
    [turn] = groq.turns()
    assert turn.prompt == "Before [image: fig] and after, then [image: chart]."
    assert turn.user_message["content"] == content


def test_fig_and_image_flags_together_keep_their_order(groq: Any, photo: Path) -> None:
    groq.ns["fig"] = FakeFigure()
    run = ask(groq, f"--image {photo}", prompt="Compare {fig} with the photo.")
    content = sent(groq.server)["messages"][-1]["content"]
    assert [part.get("text") for part in content] == [
        "Compare ",
        None,
        " with the photo.",
        None,
    ]
    assert decoded(content[3])[0] == photo.read_bytes()
    assert "· 2 images ·" in status_of(run, IMAGE_MODEL)
    assert groq.turns()[0].prompt == f"Compare [image: fig] with the photo.\n[image: {photo}]"


# -- limits -----------------------------------------------------------------------------------


def test_a_large_photo_is_downscaled_with_a_one_line_note(groq: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    noisy(2400, 1800).save(path, quality=98)
    assert path.stat().st_size > 4_000_000  # over Groq's 4 MB for base64 images
    run = ask(groq, f"--image {path}")
    part = only_image(groq)
    assert len(part["image_url"]["url"]) < 4_000_000
    _, image = decoded(part)
    assert image.format == "JPEG"
    assert image.size[0] < 2400
    notes = [line for line in run.out.splitlines() if line.startswith(f"{path}: ")]
    assert notes == [
        f"{path}: 2400x1800 (4.3 MP, {path.stat().st_size / 1e6:.3g} MB) sent as"
        f" {image.size[0]}x{image.size[1]} JPEG ({len(decoded(part)[0]) / 1e3:.3g} KB)"
        " to fit Groq's 4 MB request limit"
    ]
    assert run.out.index(notes[0]) < run.out.index("A picture.")


def test_the_note_is_shown_above_the_answer_in_a_notebook(
    notebook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groq_magic.chat import images

    monkeypatch.setattr(images, "DEFAULT_LIMITS", images.ImageLimits(max_request_bytes=60_000))
    notebook.ns["photo"] = noisy(400, 300)
    notebook.server.enqueue(answer_stream("A picture."))
    run = notebook.run("%%groq --image photo\nWhat is it?")
    assert run.error is None, run.err
    final = run.displays[-1]["data"]["text/markdown"]
    first, _, rest = final.partition("\n\n")
    assert first.startswith("*photo: 400x300 (0.1 MP) sent as ")
    assert first.endswith("to fit Groq's 60 KB request limit*")
    assert rest.startswith("A picture.")
    assert "· 1 image ·" in final


def test_an_image_that_cannot_fit_is_one_line_and_nothing_is_sent(
    groq: Any, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groq_magic.chat import images

    monkeypatch.setattr(images, "DEFAULT_LIMITS", images.ImageLimits(max_request_bytes=1_500))
    run = groq.run(f"%%groq --image {photo}\nWhat is it?")
    assert run.usage_error == (
        f"{photo}: 320x240 does not fit Groq's 1.5 KB request limit,"
        " not even at 64x48 as a quality 45 JPEG"
    )
    assert chat_count(groq) == 0
    assert groq.turns() == []


def test_more_images_than_a_request_takes_is_one_line(groq: Any) -> None:
    groq.ns["pic"] = png()
    flags = " ".join(["--image pic"] * 6)
    run = groq.run(f"%%groq {flags}\nSix?")
    assert run.usage_error == "pic: image 6 of 6, but a request takes at most 5 images"
    assert chat_count(groq) == 0


def test_images_in_history_count_against_the_next_request(groq: Any) -> None:
    groq.ns["pic"] = png()
    ask(groq, " ".join(["--image pic"] * 4))
    before = groq.history_json()
    run = groq.run("%%groq --image pic --image pic\nTwo more?")
    assert run.usage_error == (
        "pic: image 2 of 2, but a request takes at most 1 image (this chat's earlier turns"
        " carry 4 images, sent again with every request: %groq undo, %groq reset or"
        " --no-history)"
    )
    assert chat_count(groq) == 1
    assert groq.history_json() == before
    # Without history the earlier images are not sent, so they do not count.
    groq.server.enqueue(answer_stream("Two."))
    assert groq.run("%%groq --no-history --image pic --image pic\nTwo?").error is None


# -- a text-only model ------------------------------------------------------------------------

TEXT_ONLY = (
    "'messages.0' : for 'role:user' the following must be satisfied"
    "[('messages.0.content' : value must be a string)]"
)


@pytest.mark.parametrize("message", [TEXT_ONLY, "message[0].content must be a string"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_a_text_only_models_400_is_one_line_with_a_hint(
    groq: Any, message: str, stream: bool
) -> None:
    groq.ns["pic"] = png()
    groq.server.enqueue(error_reply(400, message))
    flag = "" if stream else " --no-stream"
    run = groq.run(f"%%groq -m llama-3.3-70b-versatile --image pic{flag}\nWhat is it?")
    line = run.usage_error
    assert line.startswith(f"400: {message} (")
    assert line.endswith(
        "(this model reads text only: send images to a vision model such as"
        " meta-llama/llama-4-scout-17b-16e-instruct)"
    )
    assert chat_count(groq) == 1
    assert groq.turns() == []


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["missing", "not-an-image", "unreachable", "not-found", "html", "variable"]
)
def test_bad_image_input_is_one_line_and_nothing_is_sent(
    groq: Any, tmp_path: Path, web: str, case: str
) -> None:
    groq.server.enqueue(answer_stream("Hello."))
    assert groq.run("%%groq\nHi.").error is None
    before = groq.history_json()
    if case == "missing":
        source, line = str(tmp_path / "nope.png"), f"{tmp_path / 'nope.png'}: no such file"
    elif case == "not-an-image":
        path = tmp_path / "notes.png"
        path.write_text("just text")
        source, line = str(path), f"{path}: not an image (Pillow cannot identify it)"
    elif case == "unreachable":
        source = f"http://127.0.0.1:{closed_port()}/cat.png"
        line = f"{source}: unreachable ("
    elif case == "not-found":
        source, line = f"{web}/missing.png", f"{web}/missing.png: HTTP 404 Not Found"
    elif case == "html":
        source = f"{web}/page.html"
        line = f"{source}: not an image (content type text/html)"
    else:
        groq.ns["answer"] = 42
        source = "answer"
        line = (
            "answer: an int is not an image (give a path, a URL, a PIL image, a matplotlib"
            " figure or PNG/JPEG/GIF/WEBP bytes)"
        )
    run = groq.run(f"%%groq --image {source}\nWhat is it?")
    assert run.usage_error.startswith(line)
    assert chat_count(groq) == 1
    assert groq.history_json() == before


def test_an_image_name_that_is_neither_file_nor_variable(groq: Any) -> None:
    run = groq.run("%%groq --image chart\nWhat is it?")
    assert run.usage_error == "chart: no such file or notebook variable"
    assert chat_count(groq) == 0


# -- history ----------------------------------------------------------------------------------


def test_history_keeps_the_image_for_the_next_cell_save_load_and_retry(
    groq: Any, photo: Path, tmp_path: Path
) -> None:
    ask(groq, f"--image {photo}")
    message = sent(groq.server)["messages"][-1]
    url = message["content"][1]["image_url"]["url"]
    assert url == data_url(photo.read_bytes(), "image/jpeg")
    # The next cell sends the image again, as part of the window.
    groq.server.enqueue(answer_stream("Yes."))
    assert groq.run("%%groq\nAre you sure?").error is None
    assert sent(groq.server)["messages"][0] == message
    # A saved history keeps the data URL; loading it brings it back exactly.
    path = tmp_path / "chat.json"
    assert groq.run(f"%groq save {path}").error is None
    saved = json.loads(path.read_text())
    assert saved["turns"][0]["user_message"] == message
    assert groq.run("%groq reset").error is None
    assert groq.run(f"%groq load {path}").error is None
    assert groq.turns()[0].user_message == message
    # Retrying the last turn resends its own user message; retrying after an undo
    # resends the image turn as it was, whatever the file on disk holds now.
    assert groq.run("%groq undo").error is None
    photo.write_bytes(png())
    groq.server.enqueue(answer_stream("Again.", model=IMAGE_MODEL))
    run = groq.run("%groq retry")
    assert run.error is None, run.err
    assert sent(groq.server)["messages"] == [message]
    assert "· 1 image ·" in status_of(run, IMAGE_MODEL)
    [turn] = groq.turns()
    assert turn.answer == "Again."
    assert turn.user_message == message
