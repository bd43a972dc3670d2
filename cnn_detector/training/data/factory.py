"""The fake factory: face crops of real media, fakes made from them, and the share's
generated faces, each a JPEG plus labelImg / Pascal VOC XML, with an index.csv.

Every output, real or fake, goes through the same steps: face found by BlazeFace + mesh,
square crop around the face with the detectors' margin, longest side capped, then a random
re-encoding (resize, JPEG quality 30-95). So no detector can tell real from fake by the
encoder, the crop or the size alone.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cnn_detector.atomic_file import atomic_writer
from cnn_detector.errors import MediaError
from cnn_detector.training.data import fakes
from cnn_detector.training.data.voc import VocAnnotation, VocObject, write_voc
from deepfake_scanner.crops import expand_box
from deepfake_scanner.faces import FaceFinder, FaceMesh
from deepfake_scanner.frames import sample_video
from deepfake_scanner.images import read_image
from deepfake_scanner.share import FAKE_FOLDER_CLASSES, ShareItem, load_share

log = logging.getLogger(__name__)

REAL = "real"
MADE_METHODS = ("self_blend", "face_swap", "upsampling")
INDEX_COLUMNS = ("image", "split", "method", "label", "source", "source_folder", "group", "boxes", "face_px")


@dataclass(frozen=True)
class FactoryOptions:
    """margin: face margin of the crops (the detectors' face_margin); max_side: longest side
    of a stored crop; per_real: manipulated copies of each real face per method. export_dir:
    where each fake is also written as made (before the shared re-encoding), as PNG carrying the
    factory's invisible watermark (`deepfake_scanner.provenance`), for sharing. The training
    crops stay unmarked: a mark on fakes only would be a class shortcut."""

    seed: int = 0
    margin: float = 0.3
    max_side: int = 320
    per_real: int = 1
    frames_per_video: int = 8
    limit_per_folder: int = 0
    methods: tuple[str, ...] = MADE_METHODS
    reencode_min_scale: float = 0.4
    jpeg_min: int = 30
    export_dir: Path | None = None  # also write each fake as PNG with the factory's watermark


@dataclass
class Face:
    image: np.ndarray
    box: tuple[float, float, float, float]
    landmarks: np.ndarray


def item_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)])


def source_stem(relative: str) -> str:
    """A file-name stem unique to one share file: folders reuse names (two folders both have a
    106.jpg), so the name's stem gets a digest of the whole relative path."""
    return f"{Path(relative).stem}_{hashlib.sha256(relative.encode()).hexdigest()[:8]}"


def face_size_px(face_box, size: tuple[int, int]) -> int:
    """The longer side of a normalized face box, in pixels of an image of ``size``."""
    return int(max((face_box[2] - face_box[0]) * size[0], (face_box[3] - face_box[1]) * size[1]))


class FakeFactory:
    def __init__(self, out_dir: Path, options: FactoryOptions = FactoryOptions(), record_draws: bool = False):
        """record_draws: keep each written example's random draws (self-blend settings and
        re-encoding) in self.draws, keyed like index.csv's image column."""
        self.out_dir = Path(out_dir)
        self.options = options
        self.draws: dict[str, dict] = {}
        self._trace: dict | None = {} if record_draws else None
        self.finder = FaceFinder(verify=False)
        self.mesh = FaceMesh()
        self.donors: dict[str, list[Face]] = {}
        self.rows: list[dict[str, str]] = []
        self.skipped: list[str] = []
        self.exported = self.unmarked = 0  # fakes exported with the watermark, and those too small for it

    def find_face(self, image: np.ndarray) -> Face | None:
        """The largest face the mesh confirms, with its 468 landmarks."""
        faces = sorted(self.finder.detect(image), key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        for face in faces:
            landmarks, presence = self.mesh.landmarks(image, face.box)
            if presence >= 0.5:
                return Face(image, face.box, landmarks)
        return None

    def _crop(self, image: np.ndarray, face_box, rng) -> tuple[np.ndarray, tuple[int, int, int, int], float]:
        """Square face crop (margin), capped at max_side; returns crop, its pixel window, scale."""
        height, width = image.shape[:2]
        y0, x0, y1, x1 = expand_box(face_box, self.options.margin, (height, width))
        window = (
            int(x0 * width),
            int(y0 * height),
            max(int(x0 * width) + 1, int(round(x1 * width))),
            max(int(y0 * height) + 1, int(round(y1 * height))),
        )
        crop = image[window[1] : window[3], window[0] : window[2]]
        scale = min(1.0, self.options.max_side / max(crop.shape[:2]))
        if scale < 1.0:
            crop = cv2.resize(
                crop,
                (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                interpolation=cv2.INTER_AREA,
            )
        return crop, window, scale

    def _emit(
        self, item: ShareItem, tag: str, method: str, image: np.ndarray, face_box, region, rng, face_px: int = 0
    ) -> None:
        """Crop, re-encode and write one example; ``region`` is a pixel (xmin, ymin, xmax, ymax)
        box in ``image`` (None for a real face); face_px: the face's size in the source."""
        crop, window, scale = self._crop(image, face_box, rng)
        before = crop.shape[:2]
        encoded, crop = fakes.reencode(
            crop, rng, self.options.reencode_min_scale, self.options.jpeg_min, trace=self._trace
        )
        ry, rx = crop.shape[0] / before[0], crop.shape[1] / before[1]
        objects = []
        if region is not None:
            xmin = max(0, int((region[0] - window[0]) * scale * rx))
            ymin = max(0, int((region[1] - window[1]) * scale * ry))
            xmax = min(crop.shape[1], int(np.ceil((region[2] - window[0]) * scale * rx)))
            ymax = min(crop.shape[0], int(np.ceil((region[3] - window[1]) * scale * ry)))
            if xmax - xmin < 4 or ymax - ymin < 4:
                self.skipped.append(f"{item.relative}: {method} region falls outside the crop")
                self._forget_draws()
                return
            objects.append(VocObject(method, xmin, ymin, xmax, ymax))
        stem = f"{source_stem(item.relative)}_{tag}_{method}"
        if region is not None and self.options.export_dir is not None:
            self._export(image, Path(self.options.export_dir) / item.split / method / f"{stem}.png")
        folder = self.out_dir / item.split / method
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_writer(folder / f"{stem}.jpg", "wb") as handle:
            handle.write(encoded)
        write_voc(
            VocAnnotation(f"{stem}.jpg", crop.shape[1], crop.shape[0], 3, tuple(objects), method),
            folder / f"{stem}.xml",
        )
        self.rows.append(
            {
                "image": str((folder / f"{stem}.jpg").relative_to(self.out_dir)),
                "split": item.split,
                "method": method,
                "label": "real" if method == REAL else "fake",
                "source": item.relative,
                "source_folder": item.folder,
                "group": item.group,
                "boxes": ";".join(f"{o.xmin},{o.ymin},{o.xmax},{o.ymax}" for o in objects),
                # Face size in the source's pixels: the "face size only" baseline every result is compared with.
                "face_px": str(face_px or face_size_px(face_box, image.shape[:2])),
            }
        )
        if self._trace is not None:
            self.draws[self.rows[-1]["image"]] = dict(self._trace)
        self._forget_draws()

    def _export(self, image: np.ndarray, path: Path) -> None:
        """A fake as made, as PNG with the factory's watermark, written only when the mark reads
        back (it cannot go on stills under 256 px); counted either way. No random draw is taken,
        so the training crops are the same with or without export."""
        from deepfake_scanner.provenance import FACTORY_MARK, embed_watermark, read_watermarks

        marked = embed_watermark(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), FACTORY_MARK)
        if "deepfake-scanner-factory" not in read_watermarks(marked):
            self.unmarked += 1
            return
        ok, data = cv2.imencode(".png", marked)
        if not ok:
            raise ValueError(f"{path}: PNG encoding failed")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path, "wb", encoding=None) as handle:
            handle.write(data.tobytes())
        self.exported += 1

    def _forget_draws(self) -> None:
        if self._trace is not None:
            self._trace.clear()

    def crop_with_landmarks(self, face: Face, rng) -> tuple[np.ndarray, np.ndarray, tuple]:
        """The face's stored crop (before re-encoding), its landmarks in the crop's pixels and
        the face box normalized to the crop."""
        crop, window, scale = self._crop(face.image, face.box, rng)
        landmarks = face.landmarks.copy()
        landmarks[:, 0] = (landmarks[:, 0] - window[0]) * scale
        landmarks[:, 1] = (landmarks[:, 1] - window[1]) * scale
        landmarks[:, 2] *= scale
        height, width = face.image.shape[:2]
        ch, cw = crop.shape[:2]
        y0, x0, y1, x1 = face.box
        crop_box = (
            (y0 * height - window[1]) * scale / ch,
            (x0 * width - window[0]) * scale / cw,
            (y1 * height - window[1]) * scale / ch,
            (x1 * width - window[0]) * scale / cw,
        )
        return crop, landmarks, tuple(min(1.0, max(0.0, v)) for v in crop_box)

    def _manipulate(self, item: ShareItem, tag: str, face: Face, rng) -> None:
        self._emit(item, tag, REAL, face.image, face.box, None, rng)
        # Manipulate the stored crop, at the resolution the detector will see: a 2x up-sampling
        # trace made at the source's resolution would not survive the crop's down-scaling.
        crop, landmarks, crop_box = self.crop_with_landmarks(face, rng)
        face_px = face_size_px(face.box, face.image.shape[:2])
        for method in self.options.methods:
            for copy in range(self.options.per_real):
                self._forget_draws()
                try:
                    if method == "self_blend":
                        image, mask = fakes.self_blend(crop, landmarks, rng, trace=self._trace)
                    elif method == "upsampling":
                        image, mask = fakes.upsampling_trace(crop, landmarks, rng)
                    else:
                        donors = [d for d in self.donors.get(item.split, []) if d.image is not face.image]
                        if not donors:
                            continue
                        donor = donors[int(rng.integers(len(donors)))]
                        image, mask = fakes.face_swap(crop, landmarks, donor.image, donor.landmarks, rng)
                except (ValueError, cv2.error) as err:
                    self.skipped.append(f"{item.relative}: {method} failed ({err})")
                    continue
                region = fakes.mask_box(mask)
                if region is not None:
                    self._emit(item, f"{tag}c{copy}", method, image, crop_box, region, rng, face_px)
        pool = self.donors.setdefault(item.split, [])
        if len(pool) < 64:
            pool.append(face)
        else:
            pool[int(rng.integers(len(pool)))] = face

    def process(self, item: ShareItem) -> None:
        rng = item_rng(self.options.seed, item.relative)
        if item.is_video:
            count = self.options.frames_per_video
            frames = [(f.index, f.image) for f in sample_video(item.path, count)] if count > 0 else []
        else:
            frames = [(0, read_image(item.path))]
        for index, image in frames:
            tag = f"f{index}" if item.is_video else "i"
            face = self.find_face(image)
            if face is None:
                self.skipped.append(f"{item.relative}{'#' + str(index) if item.is_video else ''}: no face found")
                continue
            if item.label == "real":
                self._manipulate(item, tag, face, rng)
            else:
                height, width = image.shape[:2]
                y0, x0, y1, x1 = face.box
                region = (x0 * width, y0 * height, x1 * width, y1 * height)
                self._emit(item, tag, FAKE_FOLDER_CLASSES.get(item.folder, "fake"), image, face.box, region, rng)

    def write_index(self) -> Path:
        path = self.out_dir / "index.csv"
        with atomic_writer(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=INDEX_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(sorted(self.rows, key=lambda r: r["image"]))
        return path


def select_items(items: list[ShareItem], limit_per_folder: int) -> list[ShareItem]:
    chosen, seen = [], {}
    for item in sorted(items, key=lambda i: i.relative):
        seen[item.folder] = seen.get(item.folder, 0) + 1
        if not limit_per_folder or seen[item.folder] <= limit_per_folder:
            chosen.append(item)
    return chosen


def run_factory(
    share: Path,
    out_dir: Path,
    options: FactoryOptions,
    progress=None,
    factory_class: type = FakeFactory,
    record_draws: bool = False,
    splits: tuple[str, ...] = (),
) -> FakeFactory:
    """Run the factory over the share (only media of SPLITS when given)."""
    factory = factory_class(out_dir, options, record_draws=record_draws)
    items = select_items(load_share(share), options.limit_per_folder)
    if splits:
        items = [item for item in items if item.split in splits]
    # Reals first, so that face swaps of each split have donors from the start.
    items.sort(key=lambda i: (i.label != "real", i.relative))
    for item in progress(items) if progress else items:
        try:
            factory.process(item)
        except MediaError as err:
            factory.skipped.append(str(err))
    factory.write_index()
    return factory
