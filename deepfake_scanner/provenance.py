"""Provenance: evidence beside the detectors (DESIGN, "Evidence beside the detectors").

- **C2PA content credentials** (`c2pa-python`): the active manifest's claim generator, whether its
  actions declare the media AI-generated (IPTC digital source type ``trainedAlgorithmicMedia``)
  or AI-edited (``compositeWithTrainedAlgorithmicMedia``, ``compositeSynthetic``), and whether
  the signature validates.
- **Invisible watermarks** (`invisible-watermark`): those the Stable Diffusion reference scripts
  embed with DWT-DCT (v1 ``StableDiffusionV1``, v2 ``SDV2``, SDXL's 48 bits), and the one this
  project's fake factory embeds in the fakes it exports (`FACTORY_MARK`, DWT-DCT-SVD).

Both are reported as their own fields next to the judge's verdict (`Verdict.provenance`); they
never change it. A
found credential or watermark is strong evidence (a generator that says so); their absence says
nothing (both are stripped by a screenshot or a re-encode).
"""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path

import numpy as np

from cnn_detector.types import Provenance
from deepfake_scanner.interrupts import native_section

log = logging.getLogger(__name__)

FACTORY_MARK = b"DFScanFactory"  # what cnn_detector's fake factory embeds in the fakes it exports
# The factory's own mark uses the library's DWT-DCT-SVD method. On 64 share stills it read back
# 64 times losslessly and 64 times after JPEG 90, where plain DWT-DCT managed 32 and 0
# (docs/experiments/watermarks/survival.py).
FACTORY_METHOD = "dwtDctSvd"
SDXL_BITS = [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]
# name -> ("bytes" or "bits", payload, method)
WATERMARKS = {
    "deepfake-scanner-factory": ("bytes", FACTORY_MARK, FACTORY_METHOD),
    "stable-diffusion-v1": ("bytes", b"StableDiffusionV1", "dwtDct"),
    "stable-diffusion-v2": ("bytes", b"SDV2", "dwtDct"),
    "stable-diffusion-xl": ("bits", SDXL_BITS, "dwtDct"),
}
MIN_WATERMARK_SIDE = 256  # DWT-DCT marks live in 4x4 blocks of the half-resolution band
# Generators write at most about this many pixels (SDXL: 1024 x 1024 and its aspect variants);
# a larger still is not a generator's own output, and each mark costs ~0.6 s per 3 Mpx to read.
MAX_WATERMARK_PIXELS = 1536 * 1024
AI_GENERATED = ("trainedAlgorithmicMedia",)
# The DWT-DCT marks (Stable Diffusion's) are looked for in lossless stills only: they do not survive
# JPEG (none of 64 after quality 90), and each costs ~0.05 s a still to read. The factory's
# DWT-DCT-SVD mark survives JPEG and is looked for in every still.
LOSSLESS_SUFFIXES = (".png", ".bmp", ".webp", ".tif", ".tiff")
AI_EDITED = ("compositeWithTrainedAlgorithmicMedia", "compositeSynthetic")


def _imwatermark():
    """The invisible-watermark package. It imports torch for its RivaGAN method at import time;
    DWT-DCT needs only OpenCV, PyWavelets and NumPy, so without torch that one module is
    replaced by a placeholder (requirements-nodeps.txt installs the package without torch)."""
    try:
        import imwatermark
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
        placeholder = types.ModuleType("imwatermark.rivaGan")

        class RivaWatermark:  # noqa: D401 - only to satisfy the package's import
            def __init__(self, *args, **kwargs):
                raise RuntimeError("RivaGAN watermarks need torch, which this project does not install")

        placeholder.RivaWatermark = RivaWatermark
        sys.modules["imwatermark.rivaGan"] = placeholder
        for name in ("imwatermark", "imwatermark.watermark"):
            sys.modules.pop(name, None)
        import imwatermark
    return imwatermark


def embed_watermark(image_bgr: np.ndarray, payload: bytes = FACTORY_MARK, method: str = FACTORY_METHOD) -> np.ndarray:
    """``image_bgr`` (uint8) with ``payload`` embedded (the factory's mark by default);
    unchanged when too small."""
    if min(image_bgr.shape[:2]) < MIN_WATERMARK_SIDE:
        return image_bgr
    encoder = _imwatermark().WatermarkEncoder()
    encoder.set_watermark("bytes", payload)
    return encoder.encode(image_bgr, method)


def read_watermarks(image_bgr: np.ndarray, lossless: bool = True) -> tuple[str, ...]:
    """Names of the WATERMARKS found in ``image_bgr``; a still that went through a lossy codec
    (``lossless`` False) is searched for the marks that survive one only."""
    if image_bgr is None or image_bgr.ndim != 3 or min(image_bgr.shape[:2]) < MIN_WATERMARK_SIDE:
        return ()
    if image_bgr.shape[0] * image_bgr.shape[1] > MAX_WATERMARK_PIXELS:
        return ()
    decoder_class = _imwatermark().WatermarkDecoder
    found = []
    for name, (kind, payload, method) in WATERMARKS.items():
        if not lossless and method == "dwtDct":
            continue
        length = len(payload) * 8 if kind == "bytes" else len(payload)
        try:
            decoded = decoder_class(kind, length).decode(image_bgr, method)
        except Exception:  # a decoder failure is "not found"
            continue
        if _bit_errors(decoded, kind, payload) <= length // 12:
            found.append(name)
    return tuple(found)


def _bits(value, kind: str) -> np.ndarray:
    if kind == "bytes":
        return np.unpackbits(np.frombuffer(bytes(value), np.uint8))
    return np.asarray([int(b) for b in value], np.uint8)


def _bit_errors(decoded, kind: str, payload) -> int:
    """How many bits of ``decoded`` differ from ``payload``. DWT-DCT flips a few bits on busy
    images; up to one in twelve is accepted: a chance match of a random image is then at most
    about 1e-7 (32 bits, 2 errors) and far less for the longer marks."""
    got, want = _bits(decoded, kind), _bits(payload, kind)
    return int(np.count_nonzero(got != want)) if len(got) == len(want) else len(want)


def read_c2pa(path: Path) -> tuple[str, str, str]:
    """(ai, claim generator, validation) of the file's active C2PA manifest; ("", "", "") when it
    has none."""
    import c2pa

    with native_section():  # the reader calls back into Python to read the file
        try:
            reader = c2pa.Reader(str(path))
        except c2pa.C2paError as err:
            if "ManifestNotFound" in type(err).__name__ or "no JUMBF" in str(err) or "NotFound" in str(err):
                return "", "", ""
            raise
        try:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or ""
        finally:
            reader.close()
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    if not manifest:
        return "", "", ""
    info = manifest.get("claim_generator_info") or []
    generator = manifest.get("claim_generator") or " ".join(
        f"{i.get('name', '')}/{i.get('version', '')}".strip("/") for i in info if isinstance(i, dict)
    )
    sources = [
        str(action.get("digitalSourceType", ""))
        for assertion in manifest.get("assertions", [])
        if str(assertion.get("label", "")).startswith("c2pa.actions")
        for action in (assertion.get("data") or {}).get("actions", [])
        if isinstance(action, dict)
    ]
    kinds = {s.rsplit("/", 1)[-1] for s in sources}
    ai = "generated" if kinds & set(AI_GENERATED) else "edited" if kinds & set(AI_EDITED) else ""
    failures = sorted({s.get("code", "") for s in store.get("validation_status", []) if isinstance(s, dict)})
    validation = state + (f" ({', '.join(failures)})" if failures else "")
    return ai, generator or "unnamed", validation


def _still_bgr(path: Path) -> np.ndarray | None:
    """The still as BGR through the scanner's own safe reader (any file name, a pixel cap
    against decompression bombs); None when it is too large to search or not readable (the scan
    itself reports a file it cannot read)."""
    from cnn_detector.errors import MediaError
    from deepfake_scanner.images import read_image

    try:
        return np.ascontiguousarray(read_image(path, MAX_WATERMARK_PIXELS)[..., ::-1])
    except MediaError:
        return None


def read_provenance(path: Path | str, image_bgr: np.ndarray | None = None) -> Provenance:
    """The provenance of a media file: its C2PA credentials, and for lossless stills
    (``image_bgr``, or the file read here) the known watermarks. A reader that fails is named in
    ``error``; nothing here raises."""
    path = Path(path)
    errors = []
    ai = generator = validation = ""
    try:
        ai, generator, validation = read_c2pa(path)
    except Exception as err:
        errors.append(f"C2PA: {err}")
    watermarks: tuple[str, ...] = ()
    try:
        lossless = path.suffix.lower() in LOSSLESS_SUFFIXES
        if image_bgr is None:
            from deepfake_scanner.video import is_video

            if not is_video(path):
                image_bgr = _still_bgr(path)
        if image_bgr is not None:
            watermarks = read_watermarks(image_bgr, lossless)
    except Exception as err:
        errors.append(f"watermark: {err}")
    return Provenance(watermarks, ai, generator, validation, "; ".join(errors))
