"""Image encoding: a 12-megapixel photo to the data URL that is sent, in under 0.5 s.

Run: ``.venv/bin/python bench/image_encode.py [--repeat 7] [--width 4000 --height 3000]``

Makes two 4000x3000 RGB photos with Pillow and saves them as JPEG (quality 90) in
a temporary folder: ``noise`` (every pixel random: the worst case, a ~11 MB JPEG
that takes the longest to decode) and ``photo-like`` (a gradient with 50% noise).
Each is too big for Groq's 4 MB request limit, so ``prepare_image(path)`` must
decode, shrink and re-encode it. We time that call, from the path to the finished
data URL, ``--repeat`` times and print the median (and the fastest and slowest),
the size sent and the one-line note. Informative rows: the same photos given as
an in-memory PIL image (no ``draft`` decode shortcut: the caller's image is
already decoded) and a 4000x3000 flat graphic (PNG path).

Target: the median for each JPEG file under 0.5 s. Exit status 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from groq_magic.chat.images import PreparedImage, prepare_image

TARGET_SECONDS = 0.5


def make_photos(width: int, height: int, folder: Path) -> dict[str, Path]:
    """The JPEG files the target is measured on."""
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    photos = {"noise": noise, "photo-like": Image.blend(gradient, noise, 0.5)}
    paths: dict[str, Path] = {}
    for name, image in photos.items():
        paths[name] = folder / f"{name}.jpg"
        image.save(paths[name], quality=90)
    return paths


def timed(call: Callable[[], PreparedImage], repeat: int) -> tuple[list[float], PreparedImage]:
    """Seconds per call, and the last result."""
    seconds: list[float] = []
    result = call()  # warm-up: imports, first-use allocations
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def report(name: str, seconds: list[float], result: PreparedImage, target: bool) -> bool:
    """Print one row; True when it meets the target (or has none)."""
    median = statistics.median(seconds)
    ok = median < TARGET_SECONDS
    verdict = ("PASS" if ok else "FAIL") if target else "info"
    print(
        f"{verdict:4}  {name:28} median {median:.3f} s"
        f" (min {min(seconds):.3f}, max {max(seconds):.3f})"
        f"  -> {result.width}x{result.height} {result.format}, {len(result.url) / 1e6:.2f} MB"
        " data URL"
    )
    if result.note:
        print(f"      note: {result.note}")
    return ok or not target


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    args = parser.parse_args(argv)
    print(f"{args.width}x{args.height} RGB, {args.repeat} runs each, load {os.getloadavg()}")
    passed = True
    with tempfile.TemporaryDirectory() as folder:
        paths = make_photos(args.width, args.height, Path(folder))
        for name, path in paths.items():
            print(f"      {name}.jpg: {path.stat().st_size / 1e6:.1f} MB")
            seconds, result = timed(lambda path=path: prepare_image(path), args.repeat)
            passed &= report(f"{name}.jpg (path)", seconds, result, target=True)
        for name, path in paths.items():
            with Image.open(path) as opened:
                image = opened.convert("RGB")
            seconds, result = timed(lambda image=image: prepare_image(image), args.repeat)
            report(f"{name} (PIL image)", seconds, result, target=False)
        graphic = Image.new("RGB", (args.width, args.height), "white")
        seconds, result = timed(lambda: prepare_image(graphic), args.repeat)
        report("flat graphic (PIL image)", seconds, result, target=False)
    print("PASS" if passed else "FAIL", f"target: median under {TARGET_SECONDS} s per JPEG file")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
