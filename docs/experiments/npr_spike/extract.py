"""Stage 1: faces, metadata, shortcut baselines and hand features for every share and wild image.

Variants (luma features): resized = face crop margin 0.3 resized to 224 (the scanner's input);
native = 128x128 patch at the face centre at native resolution (even-aligned, no resize);
native_j90 = the native patch re-encoded as JPEG q90 (same re-encoding for both classes).
Writes feats.csv and patches (uint8 arrays) for a possible CNN."""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image, JpegImagePlugin

ROOT = Path("/work/main")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
cv2.setNumThreads(1)

from cnn_detector.crops import crop, expand_box  # noqa: E402
from cnn_detector.faces import FaceFinder  # noqa: E402
from cnn_detector.frozen_graph import resize_to_input  # noqa: E402
from cnn_detector.training.share import load_share  # noqa: E402
from feats import features, luma  # noqa: E402

OUT = Path(__file__).parent
SHARE = Path("/work/shared/data")
STD_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)
PATCH = 128


def jpeg_info(im: Image.Image):
    if im.format != "JPEG":
        return 100.0, "none"
    q = getattr(im, "quantization", None) or {}
    if 0 not in q:
        return np.nan, "?"
    t = np.array(q[0], np.float64)
    # zigzag vs natural order does not matter for the mean ratio
    scale = float(np.mean(t / STD_LUMA) * 100)
    qual = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    try:
        samp = {0: "444", 1: "422", 2: "420"}.get(JpegImagePlugin.get_sampling(im), "?")
    except Exception:
        samp = "?"
    return float(np.clip(qual, 1, 100)), samp


def native_patch(rgb: np.ndarray, box) -> np.ndarray:
    h, w = rgb.shape[:2]
    cy, cx = (box[0] + box[2]) / 2 * h, (box[1] + box[3]) / 2 * w
    ph, pw = min(PATCH, h // 2 * 2), min(PATCH, w // 2 * 2)
    y0 = int(np.clip(cy - ph / 2, 0, h - ph)) // 2 * 2
    x0 = int(np.clip(cx - pw / 2, 0, w - pw)) // 2 * 2
    return rgb[y0:y0 + ph, x0:x0 + pw]


def jpeg90(rgb: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def items():
    rows = []
    for it in load_share():
        if it.is_video:
            continue
        rows.append(dict(set="share", path=str(it.path), label=it.label, split=it.split,
                         method=it.folder, group=it.group))
    wild = pd.read_csv(SHARE / "wild" / "MANIFEST.csv", dtype=str).fillna("")
    for r in wild.itertuples(index=False):
        if r.local_path.startswith("videos") or r.label not in ("real", "fake"):
            continue
        p = SHARE / "wild" / r.local_path
        if p.is_file():
            rows.append(dict(set="wild", path=str(p), label=r.label, split="wild",
                             method=r.method, group=r.repo))
    return rows


def main():
    finder = FaceFinder()
    rows = items()
    print(len(rows), "images", flush=True)
    recs, p_res, p_nat = [], [], []
    t0 = time.time()
    for i, row in enumerate(rows):
        im = Image.open(row["path"])
        fmt = im.format
        mode = im.mode
        q, samp = jpeg_info(im)
        rgb = np.array(im.convert("RGB"))
        h, w = rgb.shape[:2]
        faces = finder.detect(rgb)
        if faces:
            box = faces[0].box
            found = 1
        else:
            box = (0.1, 0.1, 0.9, 0.9)  # tight crops: face fills the frame
            found = 0
        face_px = max((box[2] - box[0]) * h, (box[3] - box[1]) * w)
        region = crop(rgb, expand_box(box, 0.3, (h, w)))
        res = resize_to_input(region, 224, 224)
        nat = native_patch(rgb, box)
        gray_native = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gray_res = cv2.cvtColor(res, cv2.COLOR_RGB2GRAY).astype(np.float32)
        rec = dict(row, fmt=fmt, mode=mode, width=w, height=h, bytes=Path(row["path"]).stat().st_size,
                   jpeg_q=q, subsampling=samp, face_found=found, face_px=face_px,
                   resolution=float(np.sqrt(h * w)),
                   sharp_native=float(cv2.Laplacian(gray_native, cv2.CV_32F).var()),
                   sharp_resized=float(cv2.Laplacian(gray_res, cv2.CV_32F).var()),
                   patch_h=nat.shape[0], patch_w=nat.shape[1])
        for name, img in (("resized", res), ("native", nat), ("native_j90", jpeg90(nat))):
            for k, v in features(luma(img)).items():
                rec[f"{name}:{k}"] = v
        recs.append(rec)
        p_res.append(cv2.resize(res, (160, 160), interpolation=cv2.INTER_AREA))
        pad = np.zeros((PATCH, PATCH, 3), np.uint8)
        pad[:nat.shape[0], :nat.shape[1]] = nat
        p_nat.append(pad)
        if i % 200 == 0:
            print(i, f"{time.time() - t0:.0f}s", flush=True)
    df = pd.DataFrame(recs)
    df.to_csv(OUT / "feats.csv", index=False)
    np.save(OUT / "patch_native128.npy", np.stack(p_nat))
    np.save(OUT / "patch_resized160.npy", np.stack(p_res))
    print("done", f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
