"""Hand features for the NPR / noise-residual spike. All on luma (Y) only: JPEG 4:2:0 chroma
subsampling is itself a 2x down/up-sampling and would make every JPEG look 'upsampled'."""
from __future__ import annotations

import numpy as np
import cv2

SRM = [
    np.array([[0, 0, 0], [0, -1, 1], [0, 0, 0]], np.float32),  # 1st order
    np.array([[0, 0, 0], [1, -2, 1], [0, 0, 0]], np.float32),  # 2nd order
    np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4.0,  # 3x3 KV-ish
]


def luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _npr(y: np.ndarray):
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    y = y[:h, :w]
    up = np.repeat(np.repeat(y[::2, ::2], 2, 0), 2, 1)
    r = y - up
    return [r[0::2, 1::2], r[1::2, 0::2], r[1::2, 1::2]]


def _kurt(v):
    v = v.ravel()
    s = v.std() + 1e-6
    return float(((v - v.mean()) ** 4).mean() / s**4)


def features(y: np.ndarray) -> dict[str, float]:
    """y: float luma patch. Groups by prefix: npr_r (scale-free ratios), npr_a (absolute),
    srm_, spec_ (spectral peaks of the Laplacian residual, ratios)."""
    f = {}
    eps = 1e-3
    aligned = _npr(y)
    shifted = _npr(y[1:, 1:])
    ma = [np.abs(r).mean() + eps for r in aligned]
    ms = [np.abs(r).mean() + eps for r in shifted]
    for k, name in enumerate(("h", "v", "d")):
        f[f"npr_a_mean_{name}"] = float(np.log(ma[k]))
        f[f"npr_a_std_{name}"] = float(np.log(aligned[k].std() + eps))
        f[f"npr_r_kurt_{name}"] = float(np.log(_kurt(aligned[k])))
        f[f"npr_r_zero_{name}"] = float((np.abs(aligned[k]) < 0.5).mean())
        f[f"npr_r_alignshift_{name}"] = float(np.log(ma[k] / ms[k]))
    f["npr_r_d_over_hv"] = float(np.log(ma[2] / np.sqrt(ma[0] * ma[1])))
    f["npr_r_h_over_v"] = float(np.log(ma[0] / ma[1]))
    # phase variance of |Laplacian| over period-2 and period-4 grids
    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1)[2:-2, 2:-2]
    al = np.abs(lap)
    for p in (2, 4):
        hh, ww = al.shape[0] // p * p, al.shape[1] // p * p
        ph = al[:hh, :ww].reshape(hh // p, p, ww // p, p).mean(axis=(0, 2))
        f[f"npr_r_phase{p}_cv"] = float(np.log(ph.std() / (ph.mean() + eps) + 1e-4))
        rows = ph.mean(1)
        cols = ph.mean(0)
        f[f"npr_r_phase{p}_rowcv"] = float(np.log(rows.std() / (rows.mean() + eps) + 1e-4))
        f[f"npr_r_phase{p}_colcv"] = float(np.log(cols.std() / (cols.mean() + eps) + 1e-4))
    # SRM residual statistics
    for k, kern in enumerate(SRM):
        res = cv2.filter2D(y, cv2.CV_32F, kern)[2:-2, 2:-2]
        q = np.clip(np.round(res), -2, 2)
        hist = np.array([(q == v).mean() for v in (-2, -1, 0, 1, 2)])
        for v, hv in zip((-2, -1, 0, 1, 2), hist):
            f[f"srm{k}_h{v}"] = float(hv)
        f[f"srm{k}_logstd"] = float(np.log(res.std() + eps))
        f[f"srm{k}_kurt"] = float(np.log(_kurt(res)))
    # spectral peaks of the Laplacian residual (square crop, Hann window)
    n = min(lap.shape) // 8 * 8
    if n >= 32:
        sq = lap[:n, :n] - lap[:n, :n].mean()
        win = np.outer(np.hanning(n), np.hanning(n))
        mag = np.abs(np.fft.fft2(sq * win))
        logm = np.log(mag + 1e-3)
        med = np.median(logm)

        def peak(fy, fx):
            iy, ix = int(round(fy * n)) % n, int(round(fx * n)) % n
            nb = logm[np.ix_([(iy + d) % n for d in range(-3, 4)], [(ix + d) % n for d in range(-3, 4)])]
            ring = np.concatenate([nb[0], nb[-1], nb[1:-1, 0], nb[1:-1, -1]])
            return float(logm[iy, ix] - np.median(ring)), float(logm[iy, ix] - med)

        for name, (fy, fx) in {
            "n2_0": (0.5, 0.0), "0_n2": (0.0, 0.5), "n2_n2": (0.5, 0.5),
            "n4_0": (0.25, 0.0), "0_n4": (0.0, 0.25), "n4_n4": (0.25, 0.25),
        }.items():
            local, glob = peak(fy, fx)
            f[f"spec_loc_{name}"] = local
            f[f"spec_glob_{name}"] = glob
    else:
        for name in ("n2_0", "0_n2", "n2_n2", "n4_0", "0_n4", "n4_n4"):
            f[f"spec_loc_{name}"] = np.nan
            f[f"spec_glob_{name}"] = np.nan
    return f
