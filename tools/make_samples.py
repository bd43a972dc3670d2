#!/usr/bin/env python3
"""Write samples/: a few held-out (test split) MIT / Apache-2.0 photos from ../shared/data and
fakes this project makes from them, with labels.csv and NOTICE.md. Nothing else from the
share may enter the repository."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from cnn_detector.atomic_file import atomic_write_bytes, atomic_write_text
from cnn_detector.training.data import fakes
from cnn_detector.training.data.factory import FakeFactory, item_rng
from deepfake_scanner.cli.common import EXIT_OK, ScannerArgumentParser, setup_logging
from deepfake_scanner.defaults import SAMPLES_DIR
from deepfake_scanner.images import read_image
from deepfake_scanner.share import DEFAULT_SHARE, load_share

SHIPPABLE = ("MIT", "Apache-2.0")
REALS = (
    "real_images/deepface/img16.jpg",
    "real_images/deepface/img28.jpg",
    "real_images/face_recognition/knn_examples_test_johnsnow_test1.jpg",
    "real_images/deepface/img41.jpg",
)
MAX_SIDE = 640


def encode(image: np.ndarray) -> bytes:
    scale = min(1.0, MAX_SIDE / max(image.shape[:2]))
    if scale < 1:
        image = cv2.resize(
            image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes()


VIDEO = "videos/real/face_recognition_short_hamilton_clip.mp4"
VIDEO_SECONDS = 6.0


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> None:
    tmp = path.with_name(f".{path.name}")
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    tmp.replace(path)


def write_sample_videos(items, factory, donor, out: Path, rows: list) -> None:
    """The first seconds of a held-out MIT clip, and a face swap of it made frame by frame
    (fresh random blend parameters per frame: the flicker of frame-wise fakes)."""
    item = items[VIDEO]
    if not item.licence.startswith(SHIPPABLE) or item.split != "test":
        raise SystemExit(f"{VIDEO}: not a shippable held-out file")
    capture = cv2.VideoCapture(str(item.path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while len(frames) < int(fps * VIDEO_SECONDS):
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    rng = item_rng(0, "sample video")
    swapped = []
    for frame in frames:
        face = factory.find_face(frame)
        if face is None:
            swapped.append(frame)
            continue
        image, _ = fakes.face_swap(frame, face.landmarks, donor.image, donor.landmarks, rng)
        swapped.append(image)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    write_video(out / "videos" / "real_hamilton.mp4", frames, fps)
    write_video(out / "videos" / "fake_face_swap_hamilton.mp4", swapped, fps)
    rows.append(
        {
            "path": "videos/real_hamilton.mp4",
            "label": "real",
            "method": "real",
            "source": item.relative,
            "licence": item.licence,
        }
    )
    rows.append(
        {
            "path": "videos/fake_face_swap_hamilton.mp4",
            "label": "fake",
            "method": "face_swap",
            "source": f"{item.relative} + {REALS[2]}",
            "licence": item.licence,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="make_samples.py", description=__doc__)
    parser.add_argument("--share", type=Path, default=DEFAULT_SHARE)
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args(argv)
    setup_logging()
    items = {i.relative: i for i in load_share(args.share)}
    chosen = [items[r] for r in REALS]
    for item in chosen:
        if not item.licence.startswith(SHIPPABLE) or item.split != "test":
            raise SystemExit(f"{item.relative}: not a shippable held-out file ({item.licence}, {item.split})")
    factory = FakeFactory(args.out)
    faces = [factory.find_face(read_image(i.path)) for i in chosen]
    rows = []

    def write(name: str, image: np.ndarray, label: str, method: str, sources: list) -> None:
        atomic_write_bytes(args.out / name, encode(image))
        rows.append(
            {
                "path": name,
                "label": label,
                "method": method,
                "source": " + ".join(s.relative for s in sources),
                "licence": " + ".join(sorted({s.licence for s in sources})),
            }
        )

    for item, face in zip(chosen, faces):
        write(f"real_{Path(item.relative).stem}.jpg", face.image, "real", "real", [item])
    rng = item_rng(0, "samples")
    image, _ = fakes.self_blend(faces[0].image, faces[0].landmarks, rng)
    write("fake_self_blend_img16.jpg", image, "fake", "self_blend", [chosen[0]])
    image, _ = fakes.face_swap(faces[1].image, faces[1].landmarks, faces[2].image, faces[2].landmarks, rng)
    write("fake_face_swap_img28_johnsnow.jpg", image, "fake", "face_swap", [chosen[1], chosen[2]])
    image, _ = fakes.upsampling_trace(faces[3].image, faces[3].landmarks, rng)
    write("fake_upsampling_img41.jpg", image, "fake", "upsampling", [chosen[3]])

    write_sample_videos(items, factory, faces[2], args.out, rows)
    with open(args.out / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["path", "label", "method", "source", "licence"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    notice = [
        "# Sample images",
        "",
        "Held-out (test split) photos from MIT-licensed repositories, and fakes this project made from them",
        "with `python tools/make_samples.py` (see tools/make_fakes.py for the manipulations).",
        "",
        "| file | label | made from | licence of the source |",
        "|---|---|---|---|",
    ]
    for row in rows:
        notice.append(f"| {row['path']} | {row['label']} ({row['method']}) | {row['source']} | {row['licence']} |")
    notice += [
        "",
        "Sources: serengil/deepface (MIT, tests/unit/dataset), ageitgey/face_recognition (MIT, examples).",
        "Provenance (repository, commit, sha256) of each source is in ../shared/data/MANIFEST.csv.",
    ]
    atomic_write_text(args.out / "NOTICE.md", "\n".join(notice) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
