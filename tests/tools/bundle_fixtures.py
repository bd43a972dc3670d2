"""Helpers shared by the bundle tests: a contributor's detector made the documented way, and
copies of a bundle changed as an attacker would."""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import red_square_image
from tests.graphs import build_tf1_colour_graph
from tools import new_detector, refresh_samples


def snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def make_contributed(tmp_path: Path) -> Path:
    """A contributor's detector made the documented way: scaffold with a TF1-style graph,
    add a sample, write expected.csv."""
    from PIL import Image

    graph = tmp_path / "export" / "frozen_inference_graph.pb"
    graph.parent.mkdir()
    graph.write_bytes(build_tf1_colour_graph(colours=((255, 0, 0),)))
    home = tmp_path / "contributor"
    assert (
        new_detector.main(
            [
                "red_sticker",
                "--classes",
                "red_sticker",
                "--input",
                "full_frame",
                "--input-size",
                "128",
                "--graph",
                str(graph),
                "--into",
                str(home),
            ]
        )
        == 0
    )
    directory = home / "red_sticker"
    Image.fromarray(red_square_image()).save(directory / "samples" / "red.png")
    assert refresh_samples.main([str(directory)]) == 0
    assert (directory / "samples" / "expected.csv").read_text().count("red_sticker") >= 1
    return directory


Change = Callable[[str, bytes], bytes | None]


def rewrite(bundle: Path, out: Path | io.BytesIO, change: Change) -> Path | io.BytesIO:
    """Copy a bundle, letting ``change(name, data)`` return new data (or None to drop)."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info, data)
    return out


def reseal(bundle: Path, out: Path, change: Change) -> Path:
    """Like rewrite, but the checksum manifest is recomputed, as an attacker would."""
    rewritten = io.BytesIO()
    rewrite(bundle, rewritten, change)
    with zipfile.ZipFile(rewritten) as src, zipfile.ZipFile(out, "w") as dst:
        listing = json.loads(src.read("BUNDLE.json"))
        name = listing["name"]
        for info in src.infolist():
            if info.filename == "BUNDLE.json":
                continue
            data = src.read(info.filename)
            dst.writestr(info, data)
            member = info.filename[len(name) + 1 :]
            listing["files"][member] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        dst.writestr("BUNDLE.json", json.dumps(listing))
    return out
