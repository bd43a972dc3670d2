"""How often the factory's DWT-DCT mark reads back (deepfake_scanner.provenance): embedded in
every 8th still of the share's real and generated folders (256 px to 1.5 Mpx), read back
losslessly and after JPEG at quality 95 and 90.

    python docs/experiments/watermarks/survival.py      # about a minute
"""

from __future__ import annotations

import glob

import cv2

from deepfake_scanner.defaults import SHARE_DIR
from deepfake_scanner.provenance import MAX_WATERMARK_PIXELS, MIN_WATERMARK_SIDE, embed_watermark, read_watermarks


def main() -> None:
    files = sorted(glob.glob(str(SHARE_DIR / "real_images" / "*" / "*.jpg")))[:800:8]
    files += sorted(glob.glob(str(SHARE_DIR / "fake_images" / "*" / "*.*")))[:400:8]
    counts = {"lossless": 0, "jpeg 95": 0, "jpeg 90": 0, "unmarked, read as marked": 0}
    stills = 0
    for path in files:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None or min(image.shape[:2]) < MIN_WATERMARK_SIDE:
            continue
        if image.shape[0] * image.shape[1] > MAX_WATERMARK_PIXELS:
            continue
        stills += 1
        marked = embed_watermark(image)
        counts["lossless"] += bool(read_watermarks(marked))
        counts["unmarked, read as marked"] += bool(read_watermarks(image))
        for quality in (95, 90):
            ok, data = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, quality])
            counts[f"jpeg {quality}"] += bool(read_watermarks(cv2.imdecode(data, cv2.IMREAD_COLOR)))
    print(f"{stills} stills")
    for name, count in counts.items():
        print(f"| {name} | {count} of {stills} |")


if __name__ == "__main__":
    main()
