"""Stage 2: fit on share train, check on share val, measure on wild (never fit on wild)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = Path(__file__).parent
df = pd.read_csv(OUT / "feats.csv")
df["y"] = (df.label == "fake").astype(int)
rng = np.random.default_rng(0)
WILD_METHODS = ["diffusion_sd15_lora_facechain", "gan_stylegan2", "diffusion_unknown_portrait", "diffusion_sdxl"]


def boot(y, s, n=2000):
    y, s = np.asarray(y), np.asarray(s)
    pos, neg = np.where(y == 1)[0], np.where(y == 0)[0]
    if len(pos) == 0 or len(neg) == 0:
        return np.nan, np.nan, np.nan
    a = roc_auc_score(y, s)
    vals = []
    for _ in range(n):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        vals.append(roc_auc_score(y[idx], s[idx]))
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return a, lo, hi


def fmt(t):
    a, lo, hi = t
    return f"{a:.2f} [{lo:.2f},{hi:.2f}]"


def evaluate(name, cols, transform=None, balance=False, C=1.0):
    tr = df[(df.set == "share") & (df.split == "train")]
    va = df[(df.set == "share") & (df.split == "val")]
    wi = df[df.set == "wild"]

    def X(d):
        x = d[cols].astype(float)
        if transform:
            x = transform(x)
        return x

    med = X(tr).median()
    w = None
    if balance:  # each (label, folder) equal weight within its class
        g = tr.groupby(["label", "method"]).y.transform("size")
        k = tr.groupby("label").method.transform("nunique")
        w = (1.0 / (g * k)).values
        w = w / w.mean()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=5000))
    model.fit(X(tr).fillna(med), tr.y, logisticregression__sample_weight=w)
    sv = model.decision_function(X(va).fillna(med))
    sw = model.decision_function(X(wi).fillna(med))
    row = {"variant": name, "share_val": fmt(boot(va.y, sv, 500)), "wild_all": fmt(boot(wi.y, sw))}
    real = (wi.label == "real").values
    for m in WILD_METHODS:
        sel = real | (wi.method == m).values
        row[m] = fmt(boot(wi.y.values[sel], sw[sel]))
    return row, sw


def main():
    rows = []
    log = lambda x: np.log(x + 1e-3)  # noqa: E731
    for b in ("face_px", "sharp_native", "sharp_resized", "resolution"):
        rows.append(evaluate(f"BASE {b}", [b], log)[0])
    rows.append(evaluate("BASE jpeg_q (png=100)", ["jpeg_q"])[0])
    rows.append(evaluate("BASE all 5 shortcuts", ["face_px", "sharp_native", "sharp_resized", "resolution", "jpeg_q"],
                         lambda x: x.assign(**{c: np.log(x[c] + 1e-3) for c in x.columns if c != "jpeg_q"}))[0])
    groups = {
        "npr_r": lambda c: c.startswith("npr_r"),
        "npr_all": lambda c: c.startswith("npr_"),
        "srm": lambda c: c.startswith("srm"),
        "spec": lambda c: c.startswith("spec"),
        "all": lambda c: True,
    }
    scores = {}
    for variant in ("resized", "native", "native_j90"):
        for gname, pred in groups.items():
            cols = [c for c in df.columns if c.startswith(variant + ":") and pred(c.split(":", 1)[1])]
            for bal in (False, True):
                name = f"{variant} {gname}{' bal' if bal else ''}"
                r, sw = evaluate(name, cols, balance=bal, C=0.1)
                rows.append(r)
                scores[name] = sw
    res = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    res.columns = [c.replace("diffusion_", "").replace("_facechain", "") for c in res.columns]
    print(res.to_string(index=False))
    res.to_csv(OUT / "results.csv", index=False)
    wi = df[df.set == "wild"][["path", "label", "method", "fmt", "jpeg_q"]].copy()
    for k, v in scores.items():
        wi[k] = v
    wi.to_csv(OUT / "wild_scores.csv", index=False)


if __name__ == "__main__":
    main()
