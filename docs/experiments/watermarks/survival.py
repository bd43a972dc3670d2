"""How often each watermark method reads back (deepfake_scanner.provenance): the factory's
payload embedded by DWT-DCT (the Stable Diffusion scripts' method) and by DWT-DCT-SVD (the
factory's) in every 8th still of the share's real and generated folders (256 px to 1.5 Mpx) and
in every 20th held-out factory fake crop, read back losslessly and after JPEG at quality 95 and
90; and how often an unmarked still reads as marked.

    python docs/experiments/watermarks/survival.py      # a few minutes
"""

from __future__ import annotations

import glob

import cv2

from deepfake_scanner.defaults import SHARE_DIR, WORK_DIR
from deepfake_scanner.provenance import (
    FACTORY_MARK,
    MAX_WATERMARK_PIXELS,
    MIN_WATERMARK_SIDE,
    _bit_errors,
    _imwatermark,
    embed_watermark,
)


def read_back(image, method: str) -> bool:
    decoded = _imwatermark().WatermarkDecoder("bytes", len(FACTORY_MARK) * 8).decode(image, method)
    return _bit_errors(decoded, "bytes", FACTORY_MARK) <= len(FACTORY_MARK) * 8 // 12


def main() -> None:
    groups = {
        "share stills": sorted(glob.glob(str(SHARE_DIR / "real_images" / "*" / "*.jpg")))[:800:8]
        + sorted(glob.glob(str(SHARE_DIR / "fake_images" / "*" / "*.*")))[:400:8],
        "factory fake crops": sorted(glob.glob(str(WORK_DIR / "factory" / "test" / "[!r]*" / "*.jpg")))[::20],
    }
    print("| stills | method | lossless | JPEG 95 | JPEG 90 | unmarked read as marked |")
    print("|---|---|---|---|---|---|")
    for group, files in groups.items():
        images = [cv2.imread(path, cv2.IMREAD_COLOR) for path in files]
        images = [
            i
            for i in images
            if i is not None and min(i.shape[:2]) >= MIN_WATERMARK_SIDE and i.shape[0] * i.shape[1] <= MAX_WATERMARK_PIXELS
        ]
        for method in ("dwtDct", "dwtDctSvd"):
            counts = [0, 0, 0, 0]
            for image in images:
                marked = embed_watermark(image, FACTORY_MARK, method)
                counts[0] += read_back(marked, method)
                for k, quality in enumerate((95, 90), start=1):
                    ok, data = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, quality])
                    counts[k] += read_back(cv2.imdecode(data, cv2.IMREAD_COLOR), method)
                counts[3] += read_back(image, method)
            n = len(images)
            print(f"| {group} ({n}) | {method} | " + " | ".join(f"{c} of {n}" for c in counts) + " |")


if __name__ == "__main__":
    main()
