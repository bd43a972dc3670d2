"""The training share (../shared/data): its MANIFEST.csv, source groups and splits.

Splits are by source group, never by crop: every AT&T subject, every named person of the
web crops, every video is wholly in one of train / val / test, and fakes made from a real
image inherit its split. The split of a group is a hash of its key, so it never changes
when files are added.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from deepfake_scanner.defaults import SHARE_DIR, WEIGHTS_DIR

DEFAULT_SHARE = SHARE_DIR


def imagenet_mobilenet_v2(alpha: float = 0.35) -> Path:
    """ImageNet MobileNetV2 no-top weights of width ALPHA in ../shared/weights (0.35 and 0.5)."""
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha:g}_224_no_top.h5"
    return WEIGHTS_DIR / name


# ImageNet MobileNetV2-0.35 without top: the detectors start from it (FINDINGS.md).
IMAGENET_MOBILENET_V2 = imagenet_mobilenet_v2(0.35)
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")

# Generation method of each fake folder, as the class name detectors use.
FAKE_FOLDER_CLASSES = {
    "fake_images/stylegan_boredhumans": "stylegan",
    "fake_images/stylegan2_tpdne_realorfake": "stylegan2",
    "fake_images/stable_diffusion_2_1_sdfd": "stable_diffusion",
    "fake_images/deepfake_mesonet_df": "face_swap",
    "fake_images/faceswap_simswap": "face_swap",
}


@dataclass(frozen=True, slots=True)
class ShareItem:
    """One media file of the share: label real/fake, its folder, method and source group."""

    path: Path
    relative: str
    label: str
    folder: str
    method: str
    licence: str
    group: str

    @property
    def is_video(self) -> bool:
        return self.path.suffix.lower() in VIDEO_EXTENSIONS

    @property
    def split(self) -> str:
        return split_of(self.group)


def folder_of(relative: str) -> str:
    parts = relative.split("/")
    return "/".join(parts[:2]) if parts[0] != "videos" else "/".join(parts[:-1])


def group_of(relative: str) -> str:
    """The unit a split keeps together: a person where the file name tells, else the file."""
    folder, name = folder_of(relative), Path(relative).stem
    if folder.endswith("att_orl"):
        return f"{folder}/{name.split('_')[0]}"
    person = re.match(r"^\d+_\d+_([a-z]+)_\d+", name)
    if person:
        return f"{folder}/{person.group(1)}"
    return relative


def split_of(group: str, fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> str:
    value = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if value < fractions[0]:
        return SPLITS[0]
    return SPLITS[1] if value < fractions[0] + fractions[1] else SPLITS[2]


def load_share(share: Path = DEFAULT_SHARE) -> list[ShareItem]:
    """Every real or fake media file listed in MANIFEST.csv that exists on disk."""
    import pandas as pd

    manifest = Path(share) / "MANIFEST.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: the training share is missing (expected ../shared/data)")
    table = pd.read_csv(manifest, dtype=str).fillna("")
    items = []
    for row in table.itertuples(index=False):
        if row.label not in ("real", "fake"):
            continue
        path = Path(share) / row.local_path
        if not path.is_file():
            continue
        items.append(
            ShareItem(
                path=path,
                relative=row.local_path,
                label=row.label,
                folder=folder_of(row.local_path),
                method=row.method,
                licence=row.license,
                group=group_of(row.local_path),
            )
        )
    return items
